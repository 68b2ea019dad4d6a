"""Server-side apply and managedFields bookkeeping, checked against the real server's behaviour."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from controllerkit.apiserver.apply import (
    check_apply_config,
    manager_from_user_agent,
    parse_apply_body,
    record_update,
    server_side_apply,
)
from controllerkit.apiserver.errors import StatusError
from controllerkit.apiserver.fieldsets import (
    fields_v1,
    owned_paths,
    path_string,
    paths_from_fields_v1,
)
from controllerkit.apiserver.resources import JSONObject

T1, T2, T3 = "2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z", "2024-05-01T12:00:00Z"
API_VERSION = "example.com/v1"


def widget(spec: JSONObject | None = None, status: JSONObject | None = None,
           **metadata: Any) -> JSONObject:
    obj: JSONObject = {"apiVersion": API_VERSION, "kind": "Widget",
                       "metadata": {"name": "web", "namespace": "default", **metadata}}
    if spec is not None:
        obj["spec"] = spec
    if status is not None:
        obj["status"] = status
    return obj


def stored(obj: JSONObject) -> JSONObject:
    """What the store would hold after a create: system fields the caller adds."""
    out = copy.deepcopy(obj)
    out["metadata"].update(uid="u-1", resourceVersion="7", generation=1,
                           creationTimestamp="2024-05-01T09:00:00Z")
    return out


def entry(obj: JSONObject, manager: str) -> JSONObject:
    matches = [e for e in obj["metadata"].get("managedFields", []) if e["manager"] == manager]
    assert len(matches) == 1, obj["metadata"].get("managedFields")
    found: JSONObject = matches[0]
    return found


def managers(obj: JSONObject) -> list[str]:
    return [e["manager"] for e in obj["metadata"].get("managedFields", [])]


def apply(current: JSONObject | None, config: JSONObject, manager: str, *, now: str = T2,
          force: bool = False, **options: Any) -> JSONObject:
    return server_side_apply(current, config, manager=manager, force=force, now=now, **options)


def conflict_of(current: JSONObject, config: JSONObject, manager: str) -> StatusError:
    with pytest.raises(StatusError) as caught:
        apply(current, config, manager)
    return caught.value


KUBECTL_CONFIG = widget({"replicas": 2, "image": "nginx:1.25",
                         "ports": [{"name": "http", "port": 80}]}, labels={"app": "web"})


@pytest.fixture
def applied_by_kubectl() -> JSONObject:
    return stored(apply(None, KUBECTL_CONFIG, "kubectl", now=T1))


# --- creating and re-applying ---------------------------------------------------------------


def test_first_apply_creates_the_object_with_one_apply_entry() -> None:
    created = apply(None, KUBECTL_CONFIG, "kubectl", now=T1)

    assert created["spec"] == KUBECTL_CONFIG["spec"]
    assert created["metadata"]["labels"] == {"app": "web"}
    assert created["metadata"]["managedFields"] == [{
        "manager": "kubectl", "operation": "Apply", "apiVersion": API_VERSION, "time": T1,
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:image": {},
                "f:ports": {'k:{"name":"http"}': {".": {}, "f:name": {}, "f:port": {}}},
                "f:replicas": {},
            },
        },
    }]


def test_identical_reapply_returns_an_object_equal_to_current(
        applied_by_kubectl: JSONObject) -> None:
    again = apply(applied_by_kubectl, KUBECTL_CONFIG, "kubectl", now=T3)

    assert again == applied_by_kubectl


def test_reapply_with_a_new_value_changes_it_and_restamps_the_entry(
        applied_by_kubectl: JSONObject) -> None:
    config = copy.deepcopy(KUBECTL_CONFIG)
    config["spec"]["replicas"] = 3

    updated = apply(applied_by_kubectl, config, "kubectl", now=T3)

    assert updated["spec"]["replicas"] == 3
    assert entry(updated, "kubectl")["time"] == T3
    assert updated["metadata"]["uid"] == "u-1"
    assert updated["metadata"]["resourceVersion"] == "7"


def test_identical_reapply_keeps_managed_fields_in_their_stored_order(
        applied_by_kubectl: JSONObject) -> None:
    edited = copy.deepcopy(applied_by_kubectl)
    edited["spec"]["paused"] = True
    edited = record_update(applied_by_kubectl, edited, manager="kubectl-edit", now=T2,
                           api_version=API_VERSION)
    edited["metadata"]["managedFields"].reverse()

    again = apply(edited, KUBECTL_CONFIG, "kubectl", now=T3)

    assert again == edited


def test_apply_never_mutates_its_inputs(applied_by_kubectl: JSONObject) -> None:
    current_before = copy.deepcopy(applied_by_kubectl)
    config = widget({"replicas": 9}, labels=None)
    config_before = copy.deepcopy(config)

    apply(applied_by_kubectl, config, "other", force=True)

    assert applied_by_kubectl == current_before
    assert config == config_before


# --- conflicts --------------------------------------------------------------------------------


def test_other_manager_changing_an_owned_field_gets_a_conflict(
        applied_by_kubectl: JSONObject) -> None:
    error = conflict_of(applied_by_kubectl, widget({"replicas": 5}), "hpa-controller")

    assert error.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas',
        "reason": "Conflict", "code": 409,
        "details": {"causes": [{"reason": "FieldManagerConflict",
                                "message": 'conflict with "kubectl"',
                                "field": ".spec.replicas"}]},
    }


def test_conflicts_with_several_managers_are_listed_per_manager(
        applied_by_kubectl: JSONObject) -> None:
    edited = copy.deepcopy(applied_by_kubectl)
    edited["spec"]["image"] = "nginx:1.26"
    edited = record_update(applied_by_kubectl, edited, manager="kubectl-edit", now=T2,
                           api_version=API_VERSION)

    error = conflict_of(edited, widget({"replicas": 5, "image": "httpd", "ports": [
        {"name": "http", "port": 8080}]}), "deployer")

    assert error.message == (
        'Apply failed with 3 conflicts: conflicts with "kubectl":\n'
        '- .spec.replicas\n'
        '- .spec.ports[name="http"].port\n'
        'conflicts with "kubectl-edit" using example.com/v1:\n'
        '- .spec.image'
    )
    assert [(c.field, c.message) for c in error.causes] == [
        (".spec.replicas", 'conflict with "kubectl"'),
        ('.spec.ports[name="http"].port', 'conflict with "kubectl"'),
        (".spec.image", 'conflict with "kubectl-edit" using example.com/v1'),
    ]


def test_json_true_and_one_are_different_values() -> None:
    live = stored(apply(None, widget({"enabled": 1}), "kubectl"))

    error = conflict_of(live, widget({"enabled": True}), "other")

    assert error.causes[0].field == ".spec.enabled"


def test_applying_the_same_value_shares_ownership_without_conflict(
        applied_by_kubectl: JSONObject) -> None:
    shared = apply(applied_by_kubectl, widget({"replicas": 2}), "hpa-controller")

    assert entry(shared, "hpa-controller")["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" in entry(shared, "kubectl")["fieldsV1"]["f:spec"]


def test_force_takes_the_conflicting_fields_from_their_owner(
        applied_by_kubectl: JSONObject) -> None:
    forced = apply(applied_by_kubectl, widget({"replicas": 5}), "hpa-controller", force=True)

    assert forced["spec"]["replicas"] == 5
    assert entry(forced, "hpa-controller")["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in entry(forced, "kubectl")["fieldsV1"]["f:spec"]
    assert entry(forced, "kubectl")["time"] == T1


def test_status_subresource_manager_is_named_with_its_subresource(
        applied_by_kubectl: JSONObject) -> None:
    reported = apply(applied_by_kubectl, widget(status={"phase": "Ready"}), "operator",
                     subresource="status")

    error = conflict_of(reported, widget(status={"phase": "Failed"}), "intruder")

    assert error.causes[0].message == 'conflict with "operator" with subresource "status"'


# --- removal by omission ------------------------------------------------------------------------


def test_field_omitted_from_the_next_apply_is_removed(applied_by_kubectl: JSONObject) -> None:
    trimmed = apply(applied_by_kubectl, widget({"image": "nginx:1.25"}), "kubectl")

    assert trimmed["spec"] == {"image": "nginx:1.25"}
    assert "labels" not in trimmed["metadata"]
    assert entry(trimmed, "kubectl")["fieldsV1"] == {"f:spec": {"f:image": {}}}


def test_omitted_field_another_manager_also_owns_is_only_disowned(
        applied_by_kubectl: JSONObject) -> None:
    shared = apply(applied_by_kubectl, widget({"replicas": 2}), "hpa-controller")

    trimmed = apply(shared, widget({"image": "nginx:1.25"}), "kubectl")

    assert trimmed["spec"]["replicas"] == 2
    assert "f:replicas" not in entry(trimmed, "kubectl")["fieldsV1"]["f:spec"]


def test_fields_written_before_the_first_apply_stay_when_omitted() -> None:
    created_by_post = stored(widget({"replicas": 1, "paused": False}))

    applied = apply(created_by_post, widget({"replicas": 4}), "kubectl", force=True)
    trimmed = apply(applied, widget({"image": "nginx"}), "kubectl")

    assert trimmed["spec"] == {"paused": False, "image": "nginx"}


def test_first_apply_to_an_untracked_object_conflicts_with_before_first_apply() -> None:
    untracked = stored(widget({"replicas": 1, "paused": False}))

    error = conflict_of(untracked, widget({"replicas": 4}), "operator")
    shared = apply(untracked, widget({"replicas": 1}), "operator")

    assert error.message == ('Apply failed with 1 conflict: conflict with "before-first-apply" '
                             f"using {API_VERSION}: .spec.replicas")
    assert entry(shared, "before-first-apply")["fieldsV1"] == {
        "f:spec": {"f:paused": {}, "f:replicas": {}}}
    assert entry(shared, "before-first-apply")["operation"] == "Update"


def test_create_records_every_field_for_its_manager() -> None:
    created = record_update({}, widget({"replicas": 1}, labels={"app": "web"}),
                            manager="kubectl-create", now=T1, api_version=API_VERSION)

    assert created["metadata"]["managedFields"] == [{
        "manager": "kubectl-create", "operation": "Update", "apiVersion": API_VERSION,
        "time": T1, "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:replicas": {}}},
    }]


def _client_side_applied(config: JSONObject, live_spec: JSONObject) -> JSONObject:
    """An object `kubectl apply` (client-side) wrote from `config`, then changed to `live_spec`."""
    annotated = copy.deepcopy(config)
    annotated["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(config)}
    live = record_update({}, annotated, manager="kubectl-client-side-apply", now=T1,
                         api_version=API_VERSION)
    live["spec"] = live_spec
    return stored(live)


def test_kubectl_takes_over_the_fields_its_last_applied_annotation_still_describes() -> None:
    live = _client_side_applied(widget({"replicas": 1}), {"replicas": 1})

    upgraded = apply(live, widget({"replicas": 3}), "kubectl")
    error = conflict_of(live, widget({"replicas": 3}), "kubectl-other")

    assert upgraded["spec"]["replicas"] == 3
    assert "f:spec" in entry(upgraded, "kubectl")["fieldsV1"]
    assert error.causes[0].field == ".spec.replicas"


def test_kubectl_conflicts_on_a_field_changed_since_its_last_client_side_apply() -> None:
    live = _client_side_applied(widget({"replicas": 1}), {"replicas": 2})

    error = conflict_of(live, widget({"replicas": 3}), "kubectl")

    assert [cause.field for cause in error.causes] == [".spec.replicas"]


def test_omitted_map_stays_while_another_manager_owns_fields_inside_it() -> None:
    live = stored(apply(None, widget({"selector": {}}), "kubectl"))
    live = apply(live, widget({"selector": {"matchLabels": {"app": "web"}}}), "labeller")

    trimmed = apply(live, widget({"replicas": 1}), "kubectl")

    assert trimmed["spec"]["selector"] == {"matchLabels": {"app": "web"}}


def test_manager_whose_fields_are_all_taken_loses_its_entry(
        applied_by_kubectl: JSONObject) -> None:
    first = apply(applied_by_kubectl, widget({"replicas": 2}), "hpa-controller")

    taken = apply(first, widget({"replicas": 7}), "kubectl-scale", force=True)

    assert "hpa-controller" not in managers(taken)


# --- lists ----------------------------------------------------------------------------------------


def conditions(*items: tuple[str, str]) -> JSONObject:
    return {"conditions": [{"type": kind, "status": value} for kind, value in items]}


def test_conditions_from_two_managers_are_merged_by_type() -> None:
    live = stored(apply(None, widget(status=conditions(("Ready", "True"))), "ready-checker"))

    both = apply(live, widget(status=conditions(("Synced", "False"))), "syncer")

    assert both["status"]["conditions"] == [{"type": "Ready", "status": "True"},
                                            {"type": "Synced", "status": "False"}]
    assert entry(both, "syncer")["fieldsV1"] == {"f:status": {"f:conditions": {
        'k:{"type":"Synced"}': {".": {}, "f:status": {}, "f:type": {}}}}}


def test_omitting_a_condition_removes_only_that_condition() -> None:
    live = stored(apply(None, widget(status=conditions(("Ready", "True"), ("Stalled", "False"))),
                        "operator"))
    live = apply(live, widget(status=conditions(("Synced", "True"))), "syncer")

    pruned = apply(live, widget(status=conditions(("Ready", "True"))), "operator")

    assert pruned["status"]["conditions"] == [{"type": "Ready", "status": "True"},
                                              {"type": "Synced", "status": "True"}]


def test_omitted_condition_stays_while_it_holds_fields_of_another_manager() -> None:
    live = stored(apply(None, widget(status=conditions(("Ready", "True"))), "operator"))
    annotated = copy.deepcopy(live)
    annotated["status"]["conditions"][0]["message"] = "all replicas up"
    annotated = record_update(live, annotated, manager="probe", now=T2, subresource="status",
                              api_version=API_VERSION)

    pruned = apply(annotated, widget(), "operator", now=T3)

    assert pruned["status"]["conditions"] == [{"type": "Ready", "message": "all replicas up"}]
    assert "operator" not in managers(pruned)


def test_omitted_condition_of_a_never_tracked_object_stays_with_before_first_apply() -> None:
    untracked = stored(widget(status={"conditions": [
        {"type": "Ready", "status": "True", "reason": "Started"}]}))
    live = apply(untracked, widget(status=conditions(("Ready", "True"))), "operator")

    pruned = apply(live, widget(), "operator", now=T3)

    assert pruned["status"]["conditions"] == [
        {"type": "Ready", "status": "True", "reason": "Started"}]
    assert managers(pruned) == ["before-first-apply"]


def test_changing_another_managers_condition_conflicts_on_that_item() -> None:
    live = stored(apply(None, widget(status=conditions(("Ready", "True"))), "operator"))

    error = conflict_of(live, widget(status=conditions(("Ready", "False"))), "intruder")

    assert error.causes[0].field == '.status.conditions[type="Ready"].status'


def test_list_of_scalars_is_atomic_and_replaced_whole() -> None:
    live = stored(apply(None, widget({"args": ["--a", "--b"]}), "kubectl"))

    error = conflict_of(live, widget({"args": ["--c"]}), "other")
    replaced = apply(live, widget({"args": ["--c"]}), "kubectl")

    assert error.causes[0].field == ".spec.args"
    assert replaced["spec"]["args"] == ["--c"]


def test_schema_list_map_keys_are_preferred_over_the_name_convention() -> None:
    schema = {"properties": {"spec": {"properties": {"ports": {
        "type": "array", "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["port", "protocol"]}}}}}
    config = widget({"ports": [{"name": "web", "port": 80, "protocol": "TCP"}]})

    created = apply(None, config, "kubectl", schema=schema)

    ports = created["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:ports"]
    assert list(ports) == ['k:{"port":80,"protocol":"TCP"}']


def test_schema_atomic_list_type_overrides_the_name_convention() -> None:
    schema = {"properties": {"spec": {"properties": {"ports": {
        "type": "array", "x-kubernetes-list-type": "atomic"}}}}}
    live = stored(apply(None, widget({"ports": [{"name": "a", "port": 1}]}), "one", schema=schema))

    merged = apply(live, widget({"ports": [{"name": "b", "port": 2}]}), "one", schema=schema)

    assert merged["spec"]["ports"] == [{"name": "b", "port": 2}]


def test_finalizers_from_two_appliers_form_a_set() -> None:
    live = stored(apply(None, widget(finalizers=["a.example.com/cleanup"]), "controller-a"))

    both = apply(live, widget(finalizers=["b.example.com/cleanup"]), "controller-b")
    released = apply(both, widget(), "controller-a")

    assert both["metadata"]["finalizers"] == ["a.example.com/cleanup", "b.example.com/cleanup"]
    assert released["metadata"]["finalizers"] == ["b.example.com/cleanup"]


# --- subresources -------------------------------------------------------------------------------


def test_status_apply_touches_only_status(applied_by_kubectl: JSONObject) -> None:
    reported = apply(applied_by_kubectl, widget({"replicas": 99}, status={"phase": "Ready"}),
                     "operator", subresource="status")

    assert reported["spec"] == applied_by_kubectl["spec"]
    assert reported["status"] == {"phase": "Ready"}
    assert entry(reported, "operator")["subresource"] == "status"
    assert entry(reported, "operator")["fieldsV1"] == {"f:status": {"f:phase": {}}}


def test_main_resource_apply_ignores_status_when_it_has_a_subresource(
        applied_by_kubectl: JSONObject) -> None:
    result = apply(applied_by_kubectl, widget({"replicas": 2}, status={"phase": "Fake"}),
                   "kubectl", has_status_subresource=True)

    assert "status" not in result
    assert "f:status" not in entry(result, "kubectl")["fieldsV1"]


# --- malformed configurations -------------------------------------------------------------------


@pytest.mark.parametrize(("config", "message"), [
    ({"kind": "Widget", "metadata": {"name": "web"}}, "invalid object type: /, Kind=Widget"),
    ({"apiVersion": API_VERSION, "metadata": {"name": "web"}},
     "invalid object type: example.com/v1, Kind="),
    ({"apiVersion": API_VERSION, "kind": "Widget", "metadata": {"name": "web",
                                                               "managedFields": []}},
     "metadata.managedFields must be nil"),
    ({"apiVersion": API_VERSION, "kind": "Widget", "metadata": {}},
     "the name of the object ( based on URL) was undeterminable: name must be provided"),
])
def test_incomplete_configuration_is_a_bad_request(config: JSONObject, message: str) -> None:
    with pytest.raises(StatusError) as caught:
        apply(None, config, "kubectl")

    assert (caught.value.code, caught.value.reason, caught.value.message) == (
        400, "BadRequest", message)


def test_configuration_matching_the_request_url_is_accepted() -> None:
    check_apply_config(widget(), api_version=API_VERSION, kind="Widget", name="web")


@pytest.mark.parametrize(("config", "message"), [
    ({**widget(), "apiVersion": "example.com/v2"},
     "invalid object type: example.com/v2, Kind=Widget"),
    ({**widget(), "kind": "Gadget"}, "invalid object type: example.com/v1, Kind=Gadget"),
    ({**widget(), "metadata": {"name": "db"}},
     "the name of the object (db) does not match the name on the URL (web)"),
    ({**widget(), "metadata": {}},
     "the name of the object (web based on URL) was undeterminable: name must be provided"),
])
def test_configuration_must_match_the_request_url(config: JSONObject, message: str) -> None:
    with pytest.raises(StatusError) as caught:
        check_apply_config(config, api_version=API_VERSION, kind="Widget", name="web")

    assert (caught.value.code, caught.value.message) == (400, message)


# --- ordinary writes ------------------------------------------------------------------------------


def test_update_of_a_never_applied_object_records_nothing() -> None:
    old = stored(widget({"replicas": 1}))
    new = stored(widget({"replicas": 2}))

    assert record_update(old, new, manager="kubectl", now=T2, api_version=API_VERSION) == new


def test_update_moves_changed_fields_to_the_updater(applied_by_kubectl: JSONObject) -> None:
    new = copy.deepcopy(applied_by_kubectl)
    new["spec"]["replicas"] = 4
    new["metadata"]["labels"]["tier"] = "frontend"

    recorded = record_update(applied_by_kubectl, new, manager="kubectl-edit", now=T2,
                             api_version=API_VERSION)

    assert recorded["spec"] == new["spec"]
    assert entry(recorded, "kubectl-edit") == {
        "manager": "kubectl-edit", "operation": "Update", "apiVersion": API_VERSION, "time": T2,
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {"f:tier": {}}}, "f:spec": {"f:replicas": {}}},
    }
    assert "f:replicas" not in entry(recorded, "kubectl")["fieldsV1"]["f:spec"]
    assert entry(recorded, "kubectl")["time"] == T1


def test_update_that_changes_no_owned_field_keeps_managed_fields(
        applied_by_kubectl: JSONObject) -> None:
    new = copy.deepcopy(applied_by_kubectl)
    new["metadata"]["resourceVersion"] = "8"

    recorded = record_update(applied_by_kubectl, new, manager="kubectl-edit", now=T2,
                             api_version=API_VERSION)

    assert recorded["metadata"]["managedFields"] == applied_by_kubectl["metadata"]["managedFields"]


def test_update_deleting_a_field_drops_it_from_its_owner(applied_by_kubectl: JSONObject) -> None:
    new = copy.deepcopy(applied_by_kubectl)
    del new["spec"]["ports"]

    recorded = record_update(applied_by_kubectl, new, manager="kubectl-edit", now=T2,
                             api_version=API_VERSION)

    assert "f:ports" not in entry(recorded, "kubectl")["fieldsV1"]["f:spec"]
    assert "kubectl-edit" not in managers(recorded)


def test_status_update_gets_its_own_entry(applied_by_kubectl: JSONObject) -> None:
    new = {**applied_by_kubectl, "status": {"phase": "Ready"}}

    recorded = record_update(applied_by_kubectl, new, manager="operator", now=T2,
                             subresource="status", api_version=API_VERSION)

    assert entry(recorded, "operator")["subresource"] == "status"
    assert entry(recorded, "operator")["fieldsV1"] == {"f:status": {"f:phase": {}}}


def test_update_ignores_managed_fields_sent_by_the_client(applied_by_kubectl: JSONObject) -> None:
    new = copy.deepcopy(applied_by_kubectl)
    new["metadata"]["managedFields"] = []

    recorded = record_update(applied_by_kubectl, new, manager="kubectl-replace", now=T2,
                             api_version=API_VERSION)

    assert recorded["metadata"]["managedFields"] == applied_by_kubectl["metadata"]["managedFields"]


# --- request bodies and managers ------------------------------------------------------------------


def test_yaml_body_is_parsed_with_timestamps_kept_as_strings() -> None:
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  since: 2024-05-01\n"

    assert parse_apply_body(body) == {"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": "c"}, "data": {"since": "2024-05-01"}}


def test_json_body_is_accepted_as_yaml() -> None:
    assert parse_apply_body(b'{"kind": "ConfigMap", "data": {"a": "1"}}') == {
        "kind": "ConfigMap", "data": {"a": "1"}}


@pytest.mark.parametrize(("body", "message_start"), [
    (b"- a\n- b\n", "error decoding YAML: error unmarshaling JSON: while decoding JSON: json: "
                    "cannot unmarshal array into Go value of type map[string]interface {}"),
    (b"kind: [unclosed\n", "error decoding YAML: "),
    (b"\xff\xfe", "error decoding YAML: "),
])
def test_body_that_is_not_a_mapping_is_a_bad_request(body: bytes, message_start: str) -> None:
    with pytest.raises(StatusError) as caught:
        parse_apply_body(body)

    assert caught.value.code == 400
    assert caught.value.message.startswith(message_start)


def test_empty_body_is_an_empty_configuration() -> None:
    assert parse_apply_body(b"") == {}


@pytest.mark.parametrize(("user_agent", "manager"), [
    ("kubectl/v1.32.0 (linux/amd64) kubernetes/70d3cc9", "kubectl"),
    ("OpenAPI-Generator/31.1.0/python", "OpenAPI-Generator"),
    ("my controller", "my controller"),
    ("tab\there/1", "tabhere"),
    ("x" * 200, "x" * 128),
    ("", ""),
])
def test_default_manager_is_the_user_agent_product(user_agent: str, manager: str) -> None:
    assert manager_from_user_agent(user_agent) == manager


# --- field sets -----------------------------------------------------------------------------------


def test_fields_v1_round_trips_and_marks_members_with_children() -> None:
    obj = widget({"replicas": 1, "ports": [{"name": "http", "port": 80}], "selector": {}})
    paths = owned_paths(obj)

    tree = fields_v1(paths)

    assert paths_from_fields_v1(tree) == paths
    assert tree["f:spec"]["f:selector"] == {}
    assert tree["f:spec"]["f:ports"]['k:{"name":"http"}']["."] == {}


def test_identity_and_system_fields_are_never_owned() -> None:
    obj = stored(widget({"replicas": 1}))

    assert owned_paths(obj) == {("f:spec", "f:replicas")}


@pytest.mark.parametrize(("path", "text"), [
    (("f:spec", "f:replicas"), ".spec.replicas"),
    (("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}', "f:name"),
     '.spec.ports[port=80,protocol="TCP"].name'),
    (("f:metadata", "f:finalizers", 'v:"a/b"'), '.metadata.finalizers[="a/b"]'),
])
def test_paths_print_as_the_real_server_prints_them(path: tuple[str, ...], text: str) -> None:
    assert path_string(path) == text

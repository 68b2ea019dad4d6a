"""Object lifecycle over HTTP: identity, resourceVersion, generation, validation, built-in kinds."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes_asyncio.client import (
    ApiClient,
    Configuration,
    CoreV1Api,
    V1ConfigMap,
    V1ObjectMeta,
)
from kubernetes_asyncio.client.exceptions import ApiException

from controllerkit.apiserver import ThreadedApiServer

from .http_api import (
    RestClient,
    assert_status,
    cause_fields,
    core_path,
    install_widget_crd,
    rest_client,
    widgets_path,
)
from .manifests import widget

CONFLICT_MESSAGE = (
    'Operation cannot be fulfilled on widgets.example.com "w1": the object has been modified; '
    "please apply your changes to the latest version and try again"
)


def _configmap(name: str, data: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": data or {"k": "v"}}


async def _widget_setup(api: RestClient, name: str = "w1", **spec: Any) -> dict[str, Any]:
    await install_widget_crd(api)
    body = widget(name)
    body["spec"].update(spec)
    reply = await api.post(widgets_path(), body)
    assert reply.status == 201, reply.body
    created: dict[str, Any] = reply.body
    return created


# -- identity ------------------------------------------------------------------------------------

async def test_create_assigns_uid_and_creation_timestamp(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        first = await api.post(core_path("configmaps"), _configmap("a"))
        second = await api.post(core_path("configmaps"), _configmap("b"))
        fetched = await api.get(core_path("configmaps", "a"))
    assert first.status == 201 and second.status == 201
    meta = first.body["metadata"]
    assert uuid.UUID(meta["uid"]).version == 4
    assert meta["uid"] != second.body["metadata"]["uid"]
    stamp = datetime.strptime(meta["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=1)
    assert fetched.body["metadata"]["uid"] == meta["uid"]
    assert fetched.body["metadata"]["creationTimestamp"] == meta["creationTimestamp"]


async def test_client_supplied_uid_and_timestamp_are_replaced(
    apiserver: ThreadedApiServer,
) -> None:
    body = _configmap("a")
    body["metadata"].update(uid="not-a-uid", creationTimestamp="2001-01-01T00:00:00Z")
    async with rest_client(apiserver.url) as api:
        reply = await api.post(core_path("configmaps"), body)
    assert reply.status == 201
    assert reply.body["metadata"]["uid"] != "not-a-uid"
    assert reply.body["metadata"]["creationTimestamp"] != "2001-01-01T00:00:00Z"


async def test_generate_name_creates_distinct_prefixed_names(
    apiserver: ThreadedApiServer,
) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "job-"}}
    async with rest_client(apiserver.url) as api:
        replies = [await api.post(core_path("configmaps"), body) for _ in range(5)]
        listed = await api.get(core_path("configmaps"))
    names = [r.body["metadata"]["name"] for r in replies]
    assert all(r.status == 201 for r in replies)
    assert all(re.fullmatch(r"job-[a-z0-9]{5}", n) for n in names), names
    assert len(set(names)) == 5
    assert sorted(i["metadata"]["name"] for i in listed.body["items"]) == sorted(names)


async def test_create_of_an_existing_name_is_already_exists(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await _widget_setup(api)
        again = await api.post(widgets_path(), widget("w1", size=2))
        kept = await api.get(widgets_path("w1"))
    status = assert_status(again, 409, "AlreadyExists")
    assert status["message"] == 'widgets.example.com "w1" already exists'
    assert status["details"] == {"name": "w1", "group": "example.com", "kind": "widgets"}
    assert kept.body["spec"]["size"] == 1


# -- resourceVersion ----------------------------------------------------------------------------

async def test_resource_version_is_one_counter_across_kinds(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        cm = await api.post(core_path("configmaps"), _configmap("a"))
        wd = await api.post(widgets_path(), widget("w1"))
        ns = await api.post(core_path("namespaces", namespace=None),
                            {"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": "other"}})
        secret = await api.post(core_path("secrets"), {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"k": "dg=="}})
        cm_list = await api.get(core_path("configmaps"))
        widget_list = await api.get(widgets_path())
    versions = [cm.rv, wd.rv, ns.rv, secret.rv]
    assert versions == list(range(cm.rv, cm.rv + 4)), versions
    # Every list reports the one global counter, whichever kind it lists.
    assert cm_list.rv == widget_list.rv == secret.rv


async def test_stale_resource_version_gets_conflict(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _widget_setup(api)
        fresh = dict(created, spec={"size": 2})
        assert (await api.put(widgets_path("w1"), fresh)).status == 200
        stale = dict(created, spec={"size": 3})
        reply = await api.put(widgets_path("w1"), stale)
        kept = await api.get(widgets_path("w1"))
    status = assert_status(reply, 409, "Conflict")
    assert status["message"] == CONFLICT_MESSAGE
    assert status["details"]["name"] == "w1"
    assert status["details"]["group"] == "example.com"
    assert kept.body["spec"]["size"] == 2


async def test_stale_resource_version_in_merge_patch_gets_conflict(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _widget_setup(api)
        await api.patch(widgets_path("w1"), {"spec": {"size": 2}})
        reply = await api.patch(widgets_path("w1"), {
            "metadata": {"resourceVersion": created["metadata"]["resourceVersion"]},
            "spec": {"size": 3}})
    status = assert_status(reply, 409, "Conflict")
    assert status["message"] == CONFLICT_MESSAGE


async def test_typed_client_sees_conflict_reason(apiserver: ThreadedApiServer) -> None:
    cfg = Configuration(host=apiserver.url)
    async with ApiClient(cfg) as client:
        core = CoreV1Api(client)
        created = await core.create_namespaced_config_map(
            "default", V1ConfigMap(metadata=V1ObjectMeta(name="cm"), data={"a": "1"}))
        first_rv = created.metadata.resource_version
        updated = await core.replace_namespaced_config_map("cm", "default", V1ConfigMap(
            metadata=V1ObjectMeta(name="cm", resource_version=first_rv), data={"a": "2"}))
        with pytest.raises(ApiException) as caught:
            await core.replace_namespaced_config_map("cm", "default", V1ConfigMap(
                metadata=V1ObjectMeta(name="cm", resource_version=first_rv), data={"a": "3"}))
    assert int(updated.metadata.resource_version) > int(first_rv)
    assert caught.value.status == 409
    body = json.loads(caught.value.body or "{}")
    assert body["reason"] == "Conflict"
    assert body["message"] == (
        'Operation cannot be fulfilled on configmaps "cm": the object has been modified; '
        "please apply your changes to the latest version and try again")


# -- generation ---------------------------------------------------------------------------------

async def test_generation_starts_at_one(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _widget_setup(api)
    assert created["metadata"]["generation"] == 1


async def test_spec_change_bumps_generation_by_one(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await _widget_setup(api)
        once = await api.patch(widgets_path("w1"), {"spec": {"size": 2}})
        twice = await api.patch(widgets_path("w1"), {"spec": {"colour": "blue"}})
    assert once.body["metadata"]["generation"] == 2
    assert twice.body["metadata"]["generation"] == 3


async def test_metadata_change_does_not_bump_generation(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _widget_setup(api)
        labelled = await api.patch(widgets_path("w1"), {"metadata": {
            "labels": {"tier": "x"}, "annotations": {"note": "y"}}})
    assert labelled.status == 200
    assert labelled.rv > int(created["metadata"]["resourceVersion"])
    assert labelled.body["metadata"]["labels"] == {"tier": "x"}
    assert labelled.body["metadata"]["generation"] == 1


async def test_status_change_does_not_bump_generation(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _widget_setup(api)
        reply = await api.patch(widgets_path("w1", subresource="status"), {
            "metadata": {"resourceVersion": created["metadata"]["resourceVersion"]},
            "status": {"phase": "Ready"}})
    assert reply.status == 200, reply.body
    assert reply.body["status"] == {"phase": "Ready"}
    assert reply.body["metadata"]["generation"] == 1


async def test_noop_writes_bump_nothing_and_emit_no_event(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _widget_setup(api)
        rv = created["metadata"]["resourceVersion"]
        async with api.watch(widgets_path(), resourceVersion=rv) as stream:
            put = await api.put(widgets_path("w1"), created)
            merge = await api.patch(widgets_path("w1"), {"spec": {"size": 1}})
            status = await api.patch(widgets_path("w1", subresource="status"),
                                     {"metadata": {"resourceVersion": rv}, "status": None})
            listed = await api.get(widgets_path())
            changed = await api.patch(widgets_path("w1"), {"spec": {"size": 5}})
            events = await stream.events_until_rv(changed.rv)
    for reply in (put, merge, status):
        assert reply.status == 200, reply.body
        assert reply.body["metadata"]["resourceVersion"] == rv
        assert reply.body["metadata"]["generation"] == 1
    assert listed.rv == int(rv)
    assert changed.rv == int(rv) + 1
    assert [(e["type"], e["object"]["metadata"]["resourceVersion"]) for e in events] == [
        ("MODIFIED", str(changed.rv))]


# -- schema validation, pruning, defaults --------------------------------------------------------

async def test_schema_violations_are_invalid_with_causes_naming_fields(
    apiserver: ThreadedApiServer,
) -> None:
    bad = widget("bad", size=0)
    bad["spec"]["colour"] = "purple"
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        reply = await api.post(widgets_path(), bad)
        missing = await api.get(widgets_path("bad"))
    status = assert_status(reply, 422, "Invalid")
    assert status["message"].startswith('Widget.example.com "bad" is invalid: ')
    causes = {c["field"]: c["reason"] for c in status["details"]["causes"]}
    assert causes == {"spec.size": "FieldValueInvalid", "spec.colour": "FieldValueNotSupported"}
    assert status["details"]["kind"] == "Widget"
    assert_status(missing, 404, "NotFound")


async def test_missing_required_field_is_invalid(apiserver: ThreadedApiServer) -> None:
    body = widget("bad")
    del body["spec"]["size"]
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        reply = await api.post(widgets_path(), body)
    status = assert_status(reply, 422, "Invalid")
    assert status["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.size"}]


async def test_invalid_update_is_rejected_and_changes_nothing(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _widget_setup(api)
        reply = await api.patch(widgets_path("w1"), {"spec": {"size": "big"}})
        kept = await api.get(widgets_path("w1"))
    assert cause_fields(assert_status(reply, 422, "Invalid")) == ["spec.size"]
    assert kept.body["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_unknown_fields_are_pruned_with_a_warning(apiserver: ThreadedApiServer) -> None:
    body = widget("w1")
    body["spec"]["extra"] = {"x": 1}
    body["surplus"] = True
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        reply = await api.post(widgets_path(), body)
        stored = await api.get(widgets_path("w1"))
    assert reply.status == 201
    assert "extra" not in stored.body["spec"]
    assert "surplus" not in stored.body
    warnings = reply.headers.getall("Warning", [])
    assert any('unknown field \\"spec.extra\\"' in w for w in warnings), warnings


async def test_unknown_fields_with_strict_validation_are_bad_request(
    apiserver: ThreadedApiServer,
) -> None:
    body = widget("w1")
    body["spec"]["extra"] = 1
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        reply = await api.post(widgets_path(), body, params={"fieldValidation": "Strict"})
    status = assert_status(reply, 400, "BadRequest")
    assert 'unknown field "spec.extra"' in status["message"]


async def test_preserve_unknown_fields_keeps_arbitrary_content(
    apiserver: ThreadedApiServer,
) -> None:
    free = {"anything": {"nested": [1, "two", {"three": None}]}, "flag": True}
    async with rest_client(apiserver.url) as api:
        await _widget_setup(api, free=free)
        stored = await api.get(widgets_path("w1"))
    assert stored.body["spec"]["free"] == free


async def test_schema_defaults_are_applied_on_create_and_update(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _widget_setup(api)
        replaced = await api.put(widgets_path("w1"), {**created, "spec": {"size": 2}})
        explicit = await api.patch(widgets_path("w1"), {"spec": {"colour": "green"}})
    assert created["spec"] == {"size": 1, "colour": "red"}
    assert replaced.body["spec"] == {"size": 2, "colour": "red"}
    assert explicit.body["spec"]["colour"] == "green"


# -- built-in kinds -----------------------------------------------------------------------------

NOW = "2026-01-01T00:00:00Z"
NOW_MICRO = "2026-01-01T00:00:00.000000Z"

BUILTINS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    # kind: (collection path, manifest, merge patch that changes something)
    "Namespace": (
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
        {"metadata": {"labels": {"team": "a"}}},
    ),
    "ConfigMap": (
        "/api/v1/namespaces/default/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
         "data": {"colour": "blue"}},
        {"data": {"colour": "red"}},
    ),
    "Secret": (
        "/api/v1/namespaces/default/secrets",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
         "type": "Opaque", "data": {"password": "aHVudGVyMg=="}},
        {"data": {"password": "c2VjcmV0"}},
    ),
    "Event": (
        "/api/v1/namespaces/default/events",
        {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "w1.1"},
         "involvedObject": {"kind": "Widget", "name": "w1", "namespace": "default",
                            "apiVersion": "example.com/v1"},
         "reason": "Created", "message": "made", "type": "Normal", "count": 1,
         "firstTimestamp": NOW, "lastTimestamp": NOW,
         "source": {"component": "widget-controller"}},
        {"count": 2},
    ),
    "events.k8s.io/Event": (
        "/apis/events.k8s.io/v1/namespaces/default/events",
        {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "w1.2"},
         "eventTime": NOW_MICRO, "reportingController": "example.com/widgets",
         "reportingInstance": "widgets-1", "action": "Reconcile", "reason": "Ready",
         "regarding": {"kind": "Widget", "name": "w1", "namespace": "default"},
         "note": "ready", "type": "Normal"},
        {"note": "still ready"},
    ),
    "Lease": (
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "leader"},
         "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}},
        {"spec": {"holderIdentity": "b"}},
    ),
    "Job": (
        "/apis/batch/v1/namespaces/default/jobs",
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
         "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
             {"name": "main", "image": "busybox", "command": ["true"]}]}}}},
        {"metadata": {"labels": {"run": "1"}}},
    ),
}


@pytest.mark.parametrize("kind", list(BUILTINS))
async def test_builtin_kind_supports_create_get_list_update_delete(
    apiserver: ThreadedApiServer, kind: str,
) -> None:
    collection, manifest, change = BUILTINS[kind]
    name = manifest["metadata"]["name"]
    async with rest_client(apiserver.url) as api:
        created = await api.post(collection, manifest)
        assert created.status == 201, created.body
        fetched = await api.get(f"{collection}/{name}")
        listed = await api.get(collection)
        patched = await api.patch(f"{collection}/{name}", change)
        replaced = await api.put(f"{collection}/{name}", {
            **patched.body, "metadata": {**patched.body["metadata"],
                                         "annotations": {"replaced": "yes"}}})
        deleted = await api.delete(f"{collection}/{name}",
                                   params={"propagationPolicy": "Background"})
        gone = await api.get(f"{collection}/{name}")
    assert fetched.status == 200
    assert fetched.body["kind"] == manifest["kind"]
    assert fetched.body["apiVersion"] == manifest["apiVersion"]
    assert fetched.body["metadata"]["uid"] == created.body["metadata"]["uid"]
    assert name in [i["metadata"]["name"] for i in listed.body["items"]]
    assert listed.body["kind"] == f"{manifest['kind']}List"
    assert patched.status == 200, patched.body
    assert patched.rv > created.rv
    assert _merged(created.body, change) != created.body
    assert _merged(patched.body, change) == patched.body
    assert replaced.status == 200, replaced.body
    assert replaced.body["metadata"]["annotations"] == {"replaced": "yes"}
    assert deleted.status == 200, deleted.body
    assert_status(gone, 404, "NotFound")


def _merged(target: Any, patch: Any) -> Any:
    """`target` with the merge patch applied: equal to target iff the patch took effect."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return patch
    return {**target, **{k: _merged(target.get(k), v) for k, v in patch.items()}}

"""Default answers checked against a real kube-apiserver: each test pins what the real one sends.

Server-side apply conflicts with fields other writes set, generation on deletion, what `DELETE`
answers, the bounded watch history, the groups `/apis` lists, and the 404 of each path shape.
"""

from __future__ import annotations

from typing import Any

import pytest

from controllerkit.apiserver import ApiServerOptions, EmbeddedApiServer, ThreadedApiServer
from controllerkit.testing import Kubectl

from .http_api import (
    APPLY_PATCH,
    CONFIGMAPS,
    CRDS,
    RestClient,
    assert_page_not_found,
    assert_status,
    core_path,
    install_widget_crd,
    ok,
    rest_client,
    widgets_path,
)
from .manifests import configmap, widget, widget_crd

JSONDict = dict[str, Any]
FINALIZER = "example.com/hold"
JOBS = "/apis/batch/v1/namespaces/default/jobs"


def _managed(obj: JSONDict) -> dict[str, JSONDict]:
    """Each manager's fieldsV1, by manager name."""
    return {entry["manager"]: entry["fieldsV1"] for entry in obj["metadata"]["managedFields"]}


# -- server-side apply ----------------------------------------------------------------------------

async def test_apply_changing_a_field_another_manager_wrote_is_a_conflict(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = ok(await api.post(CONFIGMAPS, configmap("cm", data={"a": "1", "b": "2"}),
                                    params={"fieldManager": "creator"}), 201)
        applied = configmap("cm", data={"a": "9", "c": "3"})
        refused = await api.patch(core_path("configmaps", "cm"), applied, APPLY_PATCH,
                                  params={"fieldManager": "applier", "force": "false"})
        unchanged = ok(await api.get(core_path("configmaps", "cm")))
    assert _managed(created) == {"creator": {"f:data": {"f:a": {}, "f:b": {}}}}
    status = assert_status(refused, 409, "Conflict")
    assert status["message"] == (
        'Apply failed with 1 conflict: conflict with "creator" using v1: .data.a')
    assert status["details"] == {"causes": [{
        "reason": "FieldManagerConflict", "message": 'conflict with "creator" using v1',
        "field": ".data.a"}]}
    assert unchanged["data"] == {"a": "1", "b": "2"}


async def test_forced_apply_takes_the_field_and_its_ownership(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await api.post(CONFIGMAPS, configmap("cm", data={"a": "1", "b": "2"}),
                       params={"fieldManager": "creator"})
        forced = ok(await api.patch(
            core_path("configmaps", "cm"), configmap("cm", data={"a": "9", "c": "3"}),
            APPLY_PATCH, params={"fieldManager": "applier", "force": "true"}))
    assert forced["data"] == {"a": "9", "b": "2", "c": "3"}
    assert _managed(forced) == {"applier": {"f:data": {"f:a": {}, "f:c": {}}},
                                "creator": {"f:data": {"f:b": {}}}}


# -- generation on deletion -----------------------------------------------------------------------

async def test_setting_the_deletion_timestamp_bumps_the_generation(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        created = ok(await api.post(widgets_path(), widget("w", finalizers=[FINALIZER])), 201)
        async with api.watch(widgets_path(), resourceVersion=created["metadata"][
                "resourceVersion"]) as stream:
            deleting = ok(await api.delete(widgets_path("w")))
            event = await stream.next_event()
        again = ok(await api.delete(widgets_path("w")))
        held = ok(await api.post(CONFIGMAPS, {**configmap("cm"), "metadata": {
            "name": "cm", "finalizers": [FINALIZER]}}), 201)
        config_map = ok(await api.delete(core_path("configmaps", "cm")))
    assert created["metadata"]["generation"] == 1
    assert deleting["metadata"]["deletionTimestamp"]
    assert deleting["metadata"]["generation"] == 2
    assert (event["type"], event["object"]["metadata"]["generation"]) == ("MODIFIED", 2)
    assert again["metadata"]["generation"] == 2  # only the first deletion sets the timestamp
    # A kind without a generation does not get one.
    assert "generation" not in held["metadata"]
    assert config_map["metadata"]["deletionTimestamp"]
    assert "generation" not in config_map["metadata"]


# -- what DELETE answers ---------------------------------------------------------------------------

async def test_a_custom_resource_gone_at_once_answers_a_success_status(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        created = ok(await api.post(widgets_path(), widget("w")), 201)
        reply = ok(await api.delete(widgets_path("w")))
    assert reply == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
        "details": {"name": "w", "group": "example.com", "kind": "widgets",
                    "uid": created["metadata"]["uid"]},
    }


@pytest.mark.parametrize(("plural", "body", "answer"), [
    ("configmaps", {}, "Status"),
    ("secrets", {}, "Status"),
    ("pods", {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}, "Pod"),
    ("serviceaccounts", {}, "ServiceAccount"),
])
async def test_a_builtin_gone_at_once_answers_as_its_kind_does_upstream(
    apiserver: ThreadedApiServer, plural: str, body: JSONDict, answer: str,
) -> None:
    kind = {"configmaps": "ConfigMap", "secrets": "Secret", "pods": "Pod",
            "serviceaccounts": "ServiceAccount"}[plural]
    async with rest_client(apiserver.url) as api:
        ok(await api.post(core_path(plural), {"apiVersion": "v1", "kind": kind,
                                              "metadata": {"name": "x"}, **body}), 201)
        reply = ok(await api.delete(core_path(plural, "x")))
        gone = await api.get(core_path(plural, "x"))
    assert reply["kind"] == answer
    if answer == "Status":
        assert reply["details"]["kind"] == plural and "group" not in reply["details"]
    assert_status(gone, 404, "NotFound")


@pytest.mark.parametrize(("policy", "finalizer"), [
    ("Foreground", "foregroundDeletion"), ("Orphan", "orphan")])
async def test_foreground_and_orphan_deletes_answer_with_the_object_their_finalizer_held(
    apiserver: ThreadedApiServer, policy: str, finalizer: str,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        created = ok(await api.post(widgets_path(), widget("w")), 201)
        async with api.watch(widgets_path(), resourceVersion=created["metadata"][
                "resourceVersion"]) as stream:
            reply = ok(await api.delete(widgets_path("w"), {"propagationPolicy": policy}))
            events = await stream.take(2)
        gone = await api.get(widgets_path("w"))
    assert reply["kind"] == "Widget"
    assert reply["metadata"]["deletionTimestamp"]
    assert reply["metadata"]["finalizers"] == [finalizer]
    assert reply["metadata"]["generation"] == 2
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]
    assert events[0]["object"]["metadata"]["finalizers"] == [finalizer]
    assert_status(gone, 404, "NotFound")


async def test_a_job_deleted_without_a_policy_answers_with_the_orphan_finalizer(
    apiserver: ThreadedApiServer,
) -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
               {"name": "c", "image": "busybox"}]}}}}
    async with rest_client(apiserver.url) as api:
        ok(await api.post(JOBS, job), 201)
        reply = ok(await api.delete(f"{JOBS}/j"))
        gone = await api.get(f"{JOBS}/j")
    assert reply["kind"] == "Job"
    assert reply["metadata"]["finalizers"] == ["orphan"]
    assert reply["metadata"]["deletionTimestamp"]
    assert_status(gone, 404, "NotFound")


async def test_deleting_a_collection_answers_with_the_deleted_items(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        for name in ("a", "b"):
            ok(await api.post(CONFIGMAPS, configmap(name, labels={"doomed": "yes"})), 201)
            ok(await api.post(widgets_path(), widget(name, labels={"doomed": "yes"})), 201)
        ok(await api.post(CONFIGMAPS, configmap("kept")), 201)
        config_maps = ok(await api.delete(CONFIGMAPS, params={"labelSelector": "doomed"}))
        widgets = ok(await api.delete(widgets_path(), params={"labelSelector": "doomed"}))
        none = ok(await api.delete(CONFIGMAPS, params={"labelSelector": "doomed"}))
    assert config_maps["kind"] == "ConfigMapList"
    assert [item["metadata"]["name"] for item in config_maps["items"]] == ["a", "b"]
    assert widgets["kind"] == "WidgetList"
    assert [item["metadata"]["name"] for item in widgets["items"]] == ["a", "b"]
    assert (none["kind"], none["items"]) == ("ConfigMapList", [])


# -- watch history ------------------------------------------------------------------------------

async def _expired_watch(api: RestClient, path: str, since: str) -> JSONDict:
    """The one ERROR event a watch from `since` gets; fails if it gets anything else."""
    async with api.watch(path, resourceVersion=since) as stream:
        events = await stream.until_end()
    assert [e["type"] for e in events] == ["ERROR"], events
    status: JSONDict = events[0]["object"]
    return status


async def test_by_default_a_watch_resumes_within_the_last_hundred_events_and_no_further(
) -> None:
    assert ApiServerOptions().watch_history == 100
    async with EmbeddedApiServer() as server, rest_client(server.url) as api:
        since = ok(await api.post(CONFIGMAPS, configmap("cm-0")), 201)["metadata"][
            "resourceVersion"]
        for index in range(1, 102):
            last = ok(await api.post(CONFIGMAPS, configmap(f"cm-{index}")), 201)
        # The history holds cm-2 to cm-101: a resume needs every event after its version.
        expired = await _expired_watch(api, CONFIGMAPS, since)
        oldest = str(int(since) + 1)
        async with api.watch(CONFIGMAPS, resourceVersion=oldest) as stream:
            replayed = await stream.events_until_rv(int(last["metadata"]["resourceVersion"]))
    assert (expired["code"], expired["reason"]) == (410, "Expired")
    assert expired["message"] == f"too old resource version: {since} ({oldest})"
    assert len(replayed) == 100
    assert replayed[0]["object"]["metadata"]["name"] == "cm-2"


async def test_a_watch_of_a_new_custom_resource_from_before_its_crd_is_expired(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        before = ok(await api.post(CONFIGMAPS, configmap("before")), 201)
        await install_widget_crd(api)
        since = before["metadata"]["resourceVersion"]
        expired = await _expired_watch(api, widgets_path(), since)
    assert (expired["code"], expired["reason"]) == (410, "Expired")
    assert expired["message"].startswith(f"too old resource version: {since} (")


# -- /apis ---------------------------------------------------------------------------------------

# The groups a real 1.32 server lists in /apis, in its order (one-kind groups of features that
# are off by default left out).
REAL_GROUPS = (
    "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io",
    "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io",
    "policy", "rbac.authorization.k8s.io", "storage.k8s.io", "admissionregistration.k8s.io",
    "apiextensions.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "node.k8s.io",
    "discovery.k8s.io", "flowcontrol.apiserver.k8s.io",
)


async def test_apis_lists_every_group_with_served_kinds_in_the_real_order_and_no_other(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        groups = ok(await api.get("/apis"))["groups"]
        resources = {
            group["name"]: ok(await api.get(f"/apis/{group['preferredVersion']['groupVersion']}"))
            ["resources"]
            for group in groups
        }
    served = {rtype.group for rtype in apiserver.engine.registry if rtype.group}
    names = [group["name"] for group in groups]
    assert set(names) == served
    assert names == [group for group in REAL_GROUPS if group in served]
    assert all(resources[name] for name in names), "a group without kinds is advertised"


def test_kubectl_api_versions_shows_every_served_group_version(kubectl: Kubectl) -> None:
    kubectl.apply(widget_crd())
    kubectl.run("wait", "--for=condition=Established", "crd/widgets.example.com",
                "--timeout=20s")
    versions = set(kubectl.run("api-versions").stdout.split())
    assert versions == {
        "v1", "apps/v1", "events.k8s.io/v1", "batch/v1", "networking.k8s.io/v1",
        "rbac.authorization.k8s.io/v1", "apiextensions.k8s.io/v1", "coordination.k8s.io/v1",
        "example.com/v1",
    }


# -- unknown paths ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/nope",
    "/nope/deeper",
    "/healthz/nope",
    "/apis/nope",
    "/apis/nope/v1",
    "/apis/nope/v1/things",
    # A custom resource group passes what it does not serve down the chain, to the plain 404.
    "/apis/example.com/v9",
    "/apis/example.com/v1/nopes",
    "/apis/example.com/v1/widgets/w",
])
async def test_a_path_no_api_handler_owns_is_a_plain_404(
    apiserver: ThreadedApiServer, path: str,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        reply = await api.get(path)
        posted = await api.post(path, {})
    assert_page_not_found(reply)
    assert_page_not_found(posted)
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", [
    "/api/nope",
    "/api/v9/pods",
    "/api/v1/nopes",
    "/api/v1/namespaces/default/nopes",
    "/api/v1/namespaces/default/configmaps/x/y/z",
    "/api/v1/namespaces/default/configmaps/x/nope",
    "/apis/apps/v9",
    "/apis/apps/v1/nopes",
    "/apis/apps/v1/deployments/x",
    "/version/nope",
])
async def test_a_path_under_a_builtin_api_is_a_not_found_status_with_empty_details(
    apiserver: ThreadedApiServer, path: str,
) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.get(path)
    status = assert_status(reply, 404, "NotFound")
    assert status["message"] == "the server could not find the requested resource"
    assert status["details"] == {}


async def test_an_unknown_subresource_of_a_custom_resource_names_the_object(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        ok(await api.post(widgets_path(), widget("w")), 201)
        reply = await api.get(widgets_path("w", subresource="scale"))
        crd = await api.get(f"{CRDS}/widgets.example.com/scale")
    status = assert_status(reply, 404, "NotFound")
    assert status["message"] == 'widgets.example.com "w" not found'
    assert status["details"] == {"name": "w", "group": "example.com", "kind": "widgets"}
    assert assert_status(crd, 404, "NotFound")["details"] == {}

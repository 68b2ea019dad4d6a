"""The status subresource over HTTP: what it changes, its preconditions, its events.

By default the server answers as a real kube-apiserver does (checked against 1.20): a status
write changes `.status` alone, whatever else it carries is reset to what is stored, and a
patch without a resourceVersion is applied unconditionally. With `strict_status=True` the
server refuses a status write without a precondition, and one that would change anything but
`.status`, with 422 and a cause naming the field.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from controllerkit.apiserver import ThreadedApiServer
from controllerkit.testing import Kubectl

from .http_api import (
    JSON_PATCH,
    RestClient,
    assert_status,
    cause_fields,
    install_widget_crd,
    ok,
    rest_client,
    widgets_path,
)
from .manifests import widget
from .workload_manifests import DEPLOYMENT

STATUS = widgets_path("w1", subresource="status")
JOBS = "/apis/batch/v1/namespaces/default/jobs"
strict = pytest.mark.apiserver(strict_status=True)


async def _created(api: RestClient) -> dict[str, Any]:
    await install_widget_crd(api)
    reply = await api.post(widgets_path(), widget("w1", size=2))
    assert reply.status == 201, reply.body
    body: dict[str, Any] = reply.body
    return body


def _rv(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["resourceVersion"])


async def test_get_status_returns_the_whole_object(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        reply = await api.get(STATUS)
    assert reply.status == 200
    assert reply.body["kind"] == "Widget"
    assert reply.body["spec"] == created["spec"]
    assert _rv(reply.body) == _rv(created)


async def test_status_put_changes_only_status(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        reply = await api.put(STATUS, {**created, "status": {"phase": "Ready"}})
        stored = await api.get(widgets_path("w1"))
    assert reply.status == 200, reply.body
    assert stored.body["status"] == {"phase": "Ready"}
    assert stored.body["spec"] == created["spec"]
    assert stored.body["metadata"]["generation"] == 1
    assert stored.rv == int(_rv(created)) + 1


async def test_status_merge_patch_changes_only_status(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        reply = await api.patch(STATUS, {"metadata": {"resourceVersion": _rv(created)},
                                         "status": {"phase": "Busy", "observedGeneration": 1}})
    assert reply.status == 200, reply.body
    assert reply.body["status"] == {"phase": "Busy", "observedGeneration": 1}
    assert reply.body["spec"] == created["spec"]
    assert reply.body["metadata"]["generation"] == 1


async def test_status_json_patch_with_resource_version_test_is_accepted(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        reply = await api.patch(STATUS, [
            {"op": "test", "path": "/metadata/resourceVersion", "value": _rv(created)},
            {"op": "add", "path": "/status", "value": {"phase": "Done"}},
        ], JSON_PATCH)
    assert reply.status == 200, reply.body
    assert reply.body["status"] == {"phase": "Done"}


async def test_spec_and_metadata_sent_to_status_put_are_reset_to_what_is_stored(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        reply = await api.put(STATUS, {
            **created, "metadata": {**created["metadata"], "labels": {"sneaky": "yes"}},
            "spec": {"size": 9, "colour": "blue"}, "status": {"phase": "Ready"}})
        stored = await api.get(widgets_path("w1"))
    assert reply.status == 200, reply.body
    assert reply.body == stored.body
    assert stored.body["spec"] == created["spec"]
    assert "labels" not in stored.body["metadata"]
    assert stored.body["status"] == {"phase": "Ready"}
    assert stored.body["metadata"]["generation"] == 1


async def test_unconditional_status_patch_carrying_spec_and_metadata_changes_only_status(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        await api.patch(widgets_path("w1"), {"spec": {"size": 3}})
        reply = await api.patch(STATUS, {
            "metadata": {"labels": {"sneaky": "yes"}, "annotations": {"a": "b"}},
            "spec": {"size": 9}, "status": {"phase": "Ready"}})
    assert reply.status == 200, reply.body
    assert reply.body["spec"] == {**created["spec"], "size": 3}
    assert "labels" not in reply.body["metadata"]
    assert "annotations" not in reply.body["metadata"]
    assert reply.body["status"] == {"phase": "Ready"}
    assert reply.body["metadata"]["generation"] == 2


async def test_unconditional_status_json_patch_is_applied(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await _created(api)
        reply = await api.patch(STATUS, [{"op": "add", "path": "/status",
                                          "value": {"phase": "Done"}}], JSON_PATCH)
    assert reply.status == 200, reply.body
    assert reply.body["status"] == {"phase": "Done"}


async def test_status_put_without_status_removes_it(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        written = ok(await api.put(STATUS, {**created, "status": {"phase": "Ready"}}))
        reply = await api.put(STATUS, {k: v for k, v in written.items() if k != "status"})
        stored = await api.get(widgets_path("w1"))
    assert reply.status == 200, reply.body
    assert "status" not in stored.body
    assert stored.body["spec"] == created["spec"]


async def test_deployment_status_patch_without_resource_version_keeps_the_spec(
    apiserver: ThreadedApiServer,
) -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "web",
                                                                 "image": "nginx:1.27"}]}}}}
    async with rest_client(apiserver.url) as api:
        ok(await api.post(DEPLOYMENT.path("default"), deployment), 201)
        reply = await api.patch(DEPLOYMENT.path("default", "web", "status"), {
            "spec": {"replicas": 5}, "status": {"replicas": 1, "readyReplicas": 1}})
    assert reply.status == 200, reply.body
    assert reply.body["spec"]["replicas"] == 1
    assert reply.body["status"] == {"replicas": 1, "readyReplicas": 1}
    assert reply.body["metadata"]["generation"] == 1


async def test_job_status_put_without_resource_version_keeps_the_spec(
    apiserver: ThreadedApiServer,
) -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
               {"name": "once", "image": "busybox:1.36"}]}}}}
    async with rest_client(apiserver.url) as api:
        created = ok(await api.post(JOBS, job), 201)
        unversioned = {k: v for k, v in created["metadata"].items() if k != "resourceVersion"}
        reply = await api.put(f"{JOBS}/once/status", {
            **created, "metadata": unversioned, "spec": {**created["spec"], "parallelism": 4},
            "status": {"active": 1}})
    assert reply.status == 200, reply.body
    assert reply.body["spec"] == created["spec"]
    assert reply.body["status"] == {"active": 1}


def test_kubectl_patches_a_status_without_a_resource_version(kubectl: Kubectl) -> None:
    kubectl.run("create", "deployment", "web", "--image=nginx:1.27")
    kubectl.run("patch", "deployment", "web", "--subresource=status", "--type=merge", "-p",
                json.dumps({"spec": {"replicas": 4},
                            "status": {"replicas": 1, "readyReplicas": 1}}))
    stored = kubectl.json("get", "deployment", "web")
    assert stored["status"] == {"replicas": 1, "readyReplicas": 1}
    assert stored["spec"]["replicas"] == 1


async def test_main_resource_writes_ignore_status(apiserver: ThreadedApiServer) -> None:
    with_status = widget("w1", size=2)
    with_status["status"] = {"phase": "Forged"}
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        created = await api.post(widgets_path(), with_status)
        set_status = await api.patch(STATUS, {"metadata": {"resourceVersion": _rv(created.body)},
                                              "status": {"phase": "Ready"}})
        put = await api.put(widgets_path("w1"), {**set_status.body, "spec": {"size": 3},
                                                 "status": {"phase": "Forged"}})
        patch_only_status = await api.patch(widgets_path("w1"), {"status": {"phase": "Forged"}})
    assert "status" not in created.body
    assert put.status == 200
    assert put.body["spec"]["size"] == 3
    assert put.body["status"] == {"phase": "Ready"}
    # A main-resource patch that only touches status changes nothing at all.
    assert patch_only_status.body["status"] == {"phase": "Ready"}
    assert patch_only_status.rv == put.rv


# -- strict_status=True ----------------------------------------------------------------------


@strict
async def test_strict_spec_change_through_status_put_is_invalid_naming_the_field(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        reply = await api.put(STATUS, {**created, "spec": {"size": 9, "colour": "red"},
                                       "status": {"phase": "Ready"}})
        stored = await api.get(widgets_path("w1"))
    status = assert_status(reply, 422, "Invalid")
    assert cause_fields(status) == ["spec.size"]
    assert status["details"]["causes"][0]["reason"] == "FieldValueForbidden"
    assert "spec.size" in status["message"]
    assert stored.body["spec"]["size"] == 2
    assert "status" not in stored.body
    assert _rv(stored.body) == _rv(created)


@strict
async def test_strict_metadata_change_through_status_patch_is_invalid_naming_the_field(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        reply = await api.patch(STATUS, {
            "metadata": {"resourceVersion": _rv(created), "labels": {"sneaky": "yes"}},
            "status": {"phase": "Ready"}})
        stored = await api.get(widgets_path("w1"))
    status = assert_status(reply, 422, "Invalid")
    assert cause_fields(status) == ["metadata.labels"]
    assert "labels" not in stored.body["metadata"]


@strict
async def test_strict_status_write_without_resource_version_is_invalid(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        unversioned = {**created, "metadata": {k: v for k, v in created["metadata"].items()
                                               if k != "resourceVersion"}}
        put = await api.put(STATUS, {**unversioned, "status": {"phase": "Ready"}})
        patch = await api.patch(STATUS, {"status": {"phase": "Ready"}})
        stored = await api.get(widgets_path("w1"))
    for reply in (put, patch):
        status = assert_status(reply, 422, "Invalid")
        assert cause_fields(status) == ["metadata.resourceVersion"]
        assert status["details"]["causes"][0]["reason"] == "FieldValueRequired"
    assert "status" not in stored.body


@strict
async def test_strict_status_json_patch_needs_a_resource_version_test(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        untested = await api.patch(STATUS, [
            {"op": "add", "path": "/status", "value": {"phase": "Done"}}], JSON_PATCH)
        tested = await api.patch(STATUS, [
            {"op": "test", "path": "/metadata/resourceVersion", "value": _rv(created)},
            {"op": "add", "path": "/status", "value": {"phase": "Done"}},
        ], JSON_PATCH)
    assert cause_fields(assert_status(untested, 422, "Invalid")) == [
        "metadata.resourceVersion"]
    assert tested.status == 200, tested.body


# -- either way ------------------------------------------------------------------------------


async def test_status_write_with_stale_resource_version_is_conflict(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        await api.patch(widgets_path("w1"), {"spec": {"size": 3}})
        reply = await api.patch(STATUS, {"metadata": {"resourceVersion": _rv(created)},
                                         "status": {"phase": "Ready"}})
    status = assert_status(reply, 409, "Conflict")
    assert status["message"].startswith(
        'Operation cannot be fulfilled on widgets.example.com "w1": the object has been '
        "modified")


async def test_each_accepted_status_write_emits_exactly_one_modified_event(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        async with api.watch(widgets_path(), resourceVersion=_rv(created)) as stream:
            first = await api.put(STATUS, {**created, "status": {"phase": "A"}})
            rejected = await api.patch(STATUS, {"metadata": {"resourceVersion": _rv(created)},
                                                "status": {"phase": "B"}})
            second = await api.patch(STATUS, {"metadata": {"resourceVersion": _rv(first.body)},
                                              "status": {"phase": "B"}})
            third = await api.patch(STATUS, [
                {"op": "test", "path": "/metadata/resourceVersion", "value": _rv(second.body)},
                {"op": "replace", "path": "/status/phase", "value": "C"},
            ], JSON_PATCH)
            events = await stream.events_until_rv(third.rv)
            await stream.assert_quiet(0.3)
    assert rejected.status == 409
    assert [(e["type"], e["object"]["metadata"]["resourceVersion"],
             e["object"]["status"]["phase"]) for e in events] == [
        ("MODIFIED", _rv(first.body), "A"),
        ("MODIFIED", _rv(second.body), "B"),
        ("MODIFIED", _rv(third.body), "C"),
    ]
    assert [first.rv, second.rv, third.rv] == [int(_rv(created)) + i for i in (1, 2, 3)]

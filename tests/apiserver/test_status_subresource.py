"""The status subresource over HTTP: what it may change, its precondition, its events.

Unlike the real kube-apiserver, which silently drops changes outside `.status` on a status
write, this server rejects them with 422 and a cause naming the field.
"""

from __future__ import annotations

from typing import Any

from controllerkit.apiserver import EmbeddedApiServer, ThreadedApiServer

from .http_api import (
    JSON_PATCH,
    RestClient,
    assert_status,
    cause_fields,
    install_widget_crd,
    rest_client,
    widgets_path,
)
from .manifests import widget

STATUS = widgets_path("w1", subresource="status")


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


async def test_spec_change_through_status_put_is_invalid_naming_the_field(
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


async def test_metadata_change_through_status_patch_is_invalid_naming_the_field(
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


async def test_status_write_without_resource_version_is_invalid(
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


async def test_status_write_without_resource_version_is_accepted_when_not_required() -> None:
    async with EmbeddedApiServer(require_status_precondition=False) as server, \
            rest_client(server.url) as api:
        await _created(api)
        reply = await api.patch(STATUS, {"status": {"phase": "Ready"}})
    assert reply.status == 200, reply.body
    assert reply.body["status"] == {"phase": "Ready"}


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
            rejected = await api.patch(STATUS, {"status": {"phase": "B"}})
            second = await api.patch(STATUS, {"metadata": {"resourceVersion": _rv(first.body)},
                                              "status": {"phase": "B"}})
            third = await api.patch(STATUS, [
                {"op": "test", "path": "/metadata/resourceVersion", "value": _rv(second.body)},
                {"op": "replace", "path": "/status/phase", "value": "C"},
            ], JSON_PATCH)
            events = await stream.events_until_rv(third.rv)
            await stream.assert_quiet(0.3)
    assert rejected.status == 422
    assert [(e["type"], e["object"]["metadata"]["resourceVersion"],
             e["object"]["status"]["phase"]) for e in events] == [
        ("MODIFIED", _rv(first.body), "A"),
        ("MODIFIED", _rv(second.body), "B"),
        ("MODIFIED", _rv(third.body), "C"),
    ]
    assert [first.rv, second.rv, third.rv] == [int(_rv(created)) + i for i in (1, 2, 3)]

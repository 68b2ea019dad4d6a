"""PATCH by Content-Type over HTTP and through kubectl: merge, JSON, strategic merge, apply."""

from __future__ import annotations

import json
from typing import Any

import yaml

from controllerkit.apiserver import ThreadedApiServer
from controllerkit.testing import Kubectl

from .http_api import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    RestClient,
    assert_status,
    core_path,
    install_widget_crd,
    rest_client,
    widgets_path,
)
from .manifests import widget, widget_crd

W1 = widgets_path("w1")


async def _created(api: RestClient, **meta: Any) -> dict[str, Any]:
    await install_widget_crd(api)
    reply = await api.post(widgets_path(), widget("w1", size=2, **meta))
    assert reply.status == 201, reply.body
    body: dict[str, Any] = reply.body
    return body


def _owners(obj: dict[str, Any]) -> dict[str, set[str]]:
    """Manager name -> the top-level spec fields it owns (`f:size` -> `size`)."""
    out: dict[str, set[str]] = {}
    for entry in obj["metadata"].get("managedFields") or []:
        spec = entry.get("fieldsV1", {}).get("f:spec", {})
        out.setdefault(entry["manager"], set()).update(k.removeprefix("f:") for k in spec)
    return out


# -- merge patch and JSON patch -----------------------------------------------------------------

async def test_merge_patch_merges_objects_and_null_deletes(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await _created(api, labels={"a": "1", "b": "2"})
        reply = await api.patch(W1, {"metadata": {"labels": {"a": None, "c": "3"}},
                                     "spec": {"labels": {"x": "y"}}}, MERGE_PATCH)
    assert reply.status == 200, reply.body
    assert reply.body["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert reply.body["spec"] == {"size": 2, "colour": "red", "labels": {"x": "y"}}


async def test_json_patch_applies_operations_in_order(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await _created(api)
        reply = await api.patch(W1, [
            {"op": "replace", "path": "/spec/size", "value": 7},
            {"op": "add", "path": "/spec/labels", "value": {"k": "v"}},
            {"op": "copy", "from": "/spec/labels", "path": "/metadata/labels"},
            {"op": "remove", "path": "/spec/labels/k"},
        ], JSON_PATCH)
    assert reply.status == 200, reply.body
    assert reply.body["spec"] == {"size": 7, "colour": "red", "labels": {}}
    assert reply.body["metadata"]["labels"] == {"k": "v"}
    assert reply.body["metadata"]["generation"] == 2


async def test_json_patch_with_failing_test_is_invalid_and_changes_nothing(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        reply = await api.patch(W1, [
            {"op": "test", "path": "/spec/size", "value": 99},
            {"op": "replace", "path": "/spec/size", "value": 3},
        ], JSON_PATCH)
        stored = await api.get(W1)
    assert_status(reply, 422, "Invalid")
    assert stored.body["spec"]["size"] == 2
    assert stored.rv == int(created["metadata"]["resourceVersion"])


async def test_json_patch_with_passing_test_is_applied(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await _created(api)
        reply = await api.patch(W1, [
            {"op": "test", "path": "/spec/size", "value": 2},
            {"op": "replace", "path": "/spec/size", "value": 3},
        ], JSON_PATCH)
    assert reply.status == 200, reply.body
    assert reply.body["spec"]["size"] == 3


async def test_patch_with_unknown_content_type_is_unsupported_media_type(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await _created(api)
        reply = await api.patch(W1, {"spec": {"size": 3}}, "text/plain")
    assert_status(reply, 415, "UnsupportedMediaType")


# -- strategic merge ----------------------------------------------------------------------------

async def test_strategic_merge_patch_on_builtin_merges(apiserver: ThreadedApiServer) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
          "data": {"a": "1", "b": "2"}}
    async with rest_client(apiserver.url) as api:
        assert (await api.post(core_path("configmaps"), cm)).status == 201
        reply = await api.patch(core_path("configmaps", "cm"),
                                {"data": {"b": None, "c": "3"}}, STRATEGIC_MERGE_PATCH)
    assert reply.status == 200, reply.body
    assert reply.body["data"] == {"a": "1", "c": "3"}


async def test_strategic_merge_patch_on_custom_resource_is_unsupported_media_type(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await _created(api)
        reply = await api.patch(W1, {"spec": {"size": 3}}, STRATEGIC_MERGE_PATCH)
        stored = await api.get(W1)
    status = assert_status(reply, 415, "UnsupportedMediaType")
    assert "application/merge-patch+json" in status["message"]
    assert stored.rv == int(created["metadata"]["resourceVersion"])


def test_kubectl_default_patch_on_configmap_uses_strategic_merge(kubectl: Kubectl) -> None:
    kubectl.run("create", "configmap", "cm", "--from-literal=a=1")
    kubectl.run("patch", "configmap", "cm", "-p", json.dumps({"data": {"b": "2"}}))
    assert kubectl.json("get", "configmap", "cm")["data"] == {"a": "1", "b": "2"}


# -- server-side apply over HTTP ----------------------------------------------------------------

def _apply_body(size: int | None = None, colour: str | None = None) -> bytes:
    spec: dict[str, Any] = {}
    if size is not None:
        spec["size"] = size
    if colour is not None:
        spec["colour"] = colour
    doc = {"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": "w1", "namespace": "default"}, "spec": spec}
    return yaml.safe_dump(doc).encode()


async def _apply(api: RestClient, manager: str, body: bytes, **params: str) -> Any:
    return await api.request("PATCH", W1, raw=body, content_type=APPLY_PATCH,
                             params={"fieldManager": manager, **params})


async def test_apply_creates_a_missing_object(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        reply = await _apply(api, "alice", _apply_body(size=3))
        stored = await api.get(W1)
    assert reply.status == 201, reply.body
    assert stored.body["spec"] == {"size": 3, "colour": "red"}
    entries = stored.body["metadata"]["managedFields"]
    assert [(e["manager"], e["operation"]) for e in entries] == [("alice", "Apply")]
    assert _owners(stored.body) == {"alice": {"size"}}


async def test_apply_by_a_second_manager_merges_its_fields(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        await _apply(api, "alice", _apply_body(size=3))
        reply = await _apply(api, "bob", _apply_body(colour="blue"))
    assert reply.status == 200, reply.body
    assert reply.body["spec"] == {"size": 3, "colour": "blue"}
    assert _owners(reply.body) == {"alice": {"size"}, "bob": {"colour"}}


async def test_apply_of_a_field_owned_by_another_manager_conflicts(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        await _apply(api, "alice", _apply_body(size=3))
        reply = await _apply(api, "bob", _apply_body(size=4))
        stored = await api.get(W1)
    status = assert_status(reply, 409, "Conflict")
    assert status["message"].startswith('Apply failed with 1 conflict: conflict with "alice"')
    assert status["details"]["causes"] == [{
        "reason": "FieldManagerConflict", "field": ".spec.size",
        "message": status["details"]["causes"][0]["message"],
    }]
    assert 'conflict with "alice"' in status["details"]["causes"][0]["message"]
    assert stored.body["spec"]["size"] == 3


async def test_apply_with_the_same_value_as_another_manager_shares_the_field(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        await _apply(api, "alice", _apply_body(size=3))
        reply = await _apply(api, "bob", _apply_body(size=3))
    assert reply.status == 200, reply.body
    assert _owners(reply.body) == {"alice": {"size"}, "bob": {"size"}}


async def test_forced_apply_takes_over_the_conflicting_field(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        await _apply(api, "alice", _apply_body(size=3, colour="green"))
        reply = await _apply(api, "bob", _apply_body(size=4), force="true")
    assert reply.status == 200, reply.body
    assert reply.body["spec"] == {"size": 4, "colour": "green"}
    assert _owners(reply.body) == {"alice": {"colour"}, "bob": {"size"}}


async def test_apply_without_field_manager_is_invalid(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        reply = await api.request("PATCH", W1, raw=_apply_body(size=1),
                                  content_type=APPLY_PATCH)
        missing = await api.get(W1)
    status = assert_status(reply, 422, "Invalid")
    assert status["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                                 "Required value: is required for apply patch")
    assert_status(missing, 404, "NotFound")


# -- server-side apply through kubectl -----------------------------------------------------------

def test_kubectl_server_side_apply_creates_conflicts_and_forces(kubectl: Kubectl) -> None:
    kubectl.apply(widget_crd())
    kubectl.run("wait", "--for=condition=Established", "crd/widgets.example.com",
                "--timeout=10s")
    created = kubectl.apply(widget("w1", size=3), "--server-side")
    assert "widget.example.com/w1 serverside-applied" in created
    clash = kubectl.run("apply", "--server-side", "--field-manager=other", "-f", "-",
                        input=yaml.safe_dump(widget("w1", size=5)), check=False)
    assert clash.returncode != 0
    assert "Apply failed with 1 conflict" in clash.stderr
    assert 'conflict with "kubectl"' in clash.stderr and ".spec.size" in clash.stderr
    assert kubectl.json("get", "widget", "w1")["spec"]["size"] == 3
    kubectl.apply(widget("w1", size=5), "--server-side", "--field-manager=other",
                  "--force-conflicts")
    obj = kubectl.json("get", "widget", "w1", "--show-managed-fields")
    assert obj["spec"]["size"] == 5
    assert _owners(obj)["other"] == {"size"}
    assert "size" not in _owners(obj).get("kubectl", set())

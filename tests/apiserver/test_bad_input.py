"""Bad input never crashes the server: each gets a `Status` with the right code and reason."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from controllerkit.apiserver import EmbeddedApiServer, ThreadedApiServer

from .http_api import (
    APPLY_PATCH,
    CONFIGMAPS,
    JSON_PATCH,
    MERGE_PATCH,
    RestClient,
    assert_page_not_found,
    assert_status,
    core_path,
    install_widget_crd,
    rest_client,
    widgets_path,
)
from .manifests import widget


def _configmap(name: str = "cm", **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **extra}


async def _still_serves(api: RestClient, name: str = "after") -> None:
    version = await api.get("/version")
    created = await api.post(CONFIGMAPS, _configmap(name))
    assert version.status == 200
    assert created.status == 201, created.body


# -- malformed bodies ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b"{not json",
    b'{"apiVersion": "v1", "kind": "ConfigMap"',
    b"",
    b"\xff\xfe\x00garbage",
    b"null",
    b'["a", "list"]',
    b'"a string"',
    b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": "not-an-object"}',
], ids=["syntax", "truncated", "empty", "not-utf8", "null", "list", "string", "metadata"])
async def test_malformed_json_body_is_bad_request(
    apiserver: ThreadedApiServer, raw: bytes,
) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.post(CONFIGMAPS, raw=raw)
        await _still_serves(api)
    assert_status(reply, 400, "BadRequest")


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"{}" + b"}" * depth


def _deep_widget(depth: int) -> bytes:
    return (b'{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"deep"},'
            b'"spec":{"size":1,"free":' + _nested(depth) + b"}}")


@pytest.mark.parametrize("depth", [600, 100_000])
async def test_deeply_nested_body_is_bad_request(apiserver: ThreadedApiServer, depth: int) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        created = await api.post(widgets_path(), raw=_deep_widget(depth))
        applied = await api.request("PATCH", widgets_path("deep"), raw=_deep_widget(depth),
                                    content_type=APPLY_PATCH, params={"fieldManager": "m"})
        await api.post(widgets_path(), widget("w1"))
        patched = await api.patch(widgets_path("w1"), None, MERGE_PATCH,
                                  raw=b'{"spec":{"free":' + _nested(depth) + b"}}")
        await _still_serves(api)
    for reply in (created, applied, patched):
        assert_status(reply, 400, "BadRequest")


@pytest.mark.parametrize("raw", [
    b"- " * 100_000 + b"x\n",
    b"{a: " * 100_000 + b"1" + b"}" * 100_000,
    b"apiVersion: v1\nkind: ConfigMap\ndata:\n" + b"".join(
        b" " * (i + 1) + b"k:\n" for i in range(400)),
], ids=["block-sequences", "flow-mappings", "indentation"])
async def test_deeply_nested_yaml_is_bad_request(apiserver: ThreadedApiServer, raw: bytes) -> None:
    async with rest_client(apiserver.url) as api:
        created = await api.post(CONFIGMAPS, raw=raw, content_type="application/yaml")
        applied = await api.request("PATCH", core_path("configmaps", "cm"), raw=raw,
                                    content_type=APPLY_PATCH, params={"fieldManager": "m"})
        await _still_serves(api)
    assert_status(created, 400, "BadRequest")
    assert_status(applied, 400, "BadRequest")


async def test_yaml_alias_bomb_is_bad_request(apiserver: ThreadedApiServer) -> None:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: cm}",
             'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
    bomb = "\n".join(lines).encode()
    async with rest_client(apiserver.url) as api:
        reply = await api.request("PATCH", core_path("configmaps", "cm"), raw=bomb,
                                  content_type=APPLY_PATCH, params={"fieldManager": "m"})
        await _still_serves(api)
    status = assert_status(reply, 400, "BadRequest")
    assert "aliasing" in status["message"]


async def test_moderately_nested_free_form_content_is_accepted(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        created = await api.post(widgets_path(), raw=_deep_widget(200))
        fetched = await api.get(widgets_path("deep"))
    assert created.status == 201, created.body
    assert fetched.body == created.body


async def test_malformed_yaml_body_is_bad_request(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.post(CONFIGMAPS, raw=b"kind: [unclosed\n  - x: :",
                               content_type="application/yaml")
        await _still_serves(api)
    assert_status(reply, 400, "BadRequest")


async def test_malformed_patch_bodies_are_bad_request(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await api.post(CONFIGMAPS, _configmap())
        target = core_path("configmaps", "cm")
        merge = await api.patch(target, None, MERGE_PATCH, raw=b"{oops")
        json_patch_object = await api.patch(target, {"op": "add"}, JSON_PATCH)
        json_patch_items = await api.patch(target, [1, 2], JSON_PATCH)
        merge_list = await api.patch(target, ["not", "an", "object"], MERGE_PATCH)
        await _still_serves(api)
    for reply in (merge, json_patch_object, json_patch_items, merge_list):
        assert_status(reply, 400, "BadRequest")


async def test_unsupported_body_media_type_is_415(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.post(CONFIGMAPS, raw=json.dumps(_configmap()).encode(),
                               content_type="text/plain")
    assert_status(reply, 415, "UnsupportedMediaType")


# -- bodies that do not match the URL -----------------------------------------------------------

async def test_wrong_kind_for_the_url_is_bad_request(apiserver: ThreadedApiServer) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    async with rest_client(apiserver.url) as api:
        reply = await api.post(CONFIGMAPS, secret)
        stored = await api.get(core_path("secrets", "s"))
    status = assert_status(reply, 400, "BadRequest")
    assert "Secret" in status["message"] and "ConfigMap" in status["message"]
    assert_status(stored, 404, "NotFound")


async def test_wrong_api_version_for_the_url_is_bad_request(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        wrong_group = await api.post(widgets_path(), widget("w1", group="other.io"))
        core_to_group = await api.post(widgets_path(), {**widget("w1"), "apiVersion": "v1"})
        group_to_core = await api.post(CONFIGMAPS, {**_configmap(), "apiVersion": "apps/v1"})
    for reply in (wrong_group, core_to_group, group_to_core):
        status = assert_status(reply, 400, "BadRequest")
        assert "API version" in status["message"]


async def test_namespace_or_name_mismatching_the_url_is_bad_request(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await api.post(CONFIGMAPS, _configmap())
        other_ns = await api.post(CONFIGMAPS, {
            **_configmap("x"), "metadata": {"name": "x", "namespace": "kube-system"}})
        renamed = await api.put(core_path("configmaps", "cm"), {
            **created.body, "metadata": {**created.body["metadata"], "name": "other"}})
        patched = await api.patch(core_path("configmaps", "cm"), {"metadata": {"name": "z"}})
    for reply in (other_ns, renamed, patched):
        assert_status(reply, 400, "BadRequest")


# -- oversized bodies ---------------------------------------------------------------------------

async def test_body_over_the_limit_is_413() -> None:
    async with EmbeddedApiServer(max_body_bytes=4096) as server, \
            rest_client(server.url) as api:
        small = await api.post(CONFIGMAPS, _configmap("small", data={"k": "v" * 1000}))
        huge = await api.post(CONFIGMAPS, _configmap("huge", data={"k": "v" * 100_000}))
        huge_patch = await api.patch(core_path("configmaps", "small"),
                                     {"data": {"k": "v" * 100_000}})
        stored = await api.get(core_path("configmaps", "small"))
        await _still_serves(api)
    assert small.status == 201
    status = assert_status(huge, 413, "RequestEntityTooLarge")
    assert "4096" in status["message"]
    assert_status(huge_patch, 413, "RequestEntityTooLarge")
    assert stored.body["data"] == {"k": "v" * 1000}


# -- unknown resources and bad parameters -------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/api/v1/namespaces/default/widgetz",
    "/api/v2/configmaps",
    "/api/v1/namespaces/default/namespaces",
    "/api/v1/namespaces/default/configmaps/cm/status",
    "/apis/batch/v9",
])
async def test_unknown_resource_is_not_found(apiserver: ThreadedApiServer, path: str) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.get(path)
        written = await api.post(path, _configmap())
    assert_status(reply, 404, "NotFound")
    assert_status(written, 404, "NotFound")


@pytest.mark.parametrize("path", [
    "/apis/nope.io/v1/things",
    "/apis/example.com/v1/namespaces/default/widgets",
    "/no/such/path",
])
async def test_path_outside_every_api_is_a_plain_404(
    apiserver: ThreadedApiServer, path: str,
) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.get(path)
        written = await api.post(path, _configmap())
    assert_page_not_found(reply)
    assert_page_not_found(written)


async def test_missing_object_is_not_found_with_details(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.get(core_path("configmaps", "ghost"))
        deleted = await api.delete(core_path("configmaps", "ghost"))
        patched = await api.patch(core_path("configmaps", "ghost"), {"data": {}})
    for r in (reply, deleted, patched):
        status = assert_status(r, 404, "NotFound")
        assert status["message"] == 'configmaps "ghost" not found'
        assert status["details"] == {"name": "ghost", "kind": "configmaps"}


@pytest.mark.parametrize("params", [
    {"limit": "ten"},
    {"limit": "-1"},
    {"labelSelector": "a in (b"},
    {"labelSelector": "==x"},
    {"fieldSelector": "spec.size=1"},
    {"fieldSelector": "metadata.name"},
    {"watch": "1", "resourceVersion": "yesterday"},
    {"continue": "not-a-token"},
    {"watch": "1", "timeoutSeconds": "soon"},
], ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()))
async def test_bad_list_and_watch_parameters_are_bad_request(
    apiserver: ThreadedApiServer, params: dict[str, str],
) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.get(CONFIGMAPS, params=params)
    assert_status(reply, 400, "BadRequest")


async def test_bad_write_options_are_rejected(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        validation = await api.post(CONFIGMAPS, _configmap(),
                                    params={"fieldValidation": "Sometimes"})
        await api.post(CONFIGMAPS, _configmap("cm2"))
        policy = await api.delete(core_path("configmaps", "cm2"),
                                  {"propagationPolicy": "Eventually"})
        delete_body = await api.delete(core_path("configmaps", "cm2"), raw=b"{nope")
        force = await api.patch(core_path("configmaps", "cm2"), {"data": {}},
                                params={"force": "true"})
        kept = await api.get(core_path("configmaps", "cm2"))
    assert_status(validation, 400, "BadRequest")
    assert_status(policy, 422, "Invalid")
    assert_status(delete_body, 400, "BadRequest")
    assert_status(force, 422, "Invalid")
    assert kept.status == 200


async def test_write_to_discovery_path_is_method_not_allowed(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.post("/api/v1", {})
    assert_status(reply, 405, "MethodNotAllowed")


# -- robustness ---------------------------------------------------------------------------------

async def test_garbage_on_the_socket_does_not_stop_the_server(
    apiserver: ThreadedApiServer,
) -> None:
    host, port = apiserver.url.removeprefix("http://").rsplit(":", 1)
    for payload in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 20,
                    b"GET /api HTTP/1.1\r\nContent-Length: 99999\r\n\r\n{partial",
                    b"NOT HTTP AT ALL\r\n\r\n"):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(payload)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        del reader
    async with rest_client(apiserver.url) as api:
        await _still_serves(api)


async def test_many_concurrent_bad_requests_all_get_statuses_and_no_server_error(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        requests = [
            api.post(CONFIGMAPS, raw=b"{"),
            api.post(widgets_path(), widget("bad", size=0)),
            api.post(widgets_path(), raw=b"[]"),
            api.get("/apis/batch/v9/x"),
            api.patch(widgets_path("none"), {"spec": {}}),
            api.patch(widgets_path("none"), [{"op": "nope"}], JSON_PATCH),
            api.put(widgets_path("none"), widget("none")),
            api.delete(widgets_path("none")),
            api.get(CONFIGMAPS, params={"labelSelector": "!!"}),
            api.post(CONFIGMAPS, _configmap("Invalid_Name")),
        ] * 5
        replies = await asyncio.gather(*requests)
        await _still_serves(api)
    for reply in replies:
        assert 400 <= reply.status < 500, (reply.status, reply.body)
        assert_status(reply, reply.status, reply.body["reason"])

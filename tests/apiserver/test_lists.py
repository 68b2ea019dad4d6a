"""Lists over raw HTTP: limit/continue snapshots, label and field selectors, resourceVersion."""

from __future__ import annotations

import pytest

from controllerkit.apiserver import ThreadedApiServer

from .http_api import (
    CONFIGMAPS,
    JSONDict,
    Params,
    RestClient,
    assert_status,
    core_path,
    ok,
    rest_client,
)
from .manifests import configmap, namespace

EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter."
)

LABELLED = {
    "a": {"app": "web", "tier": "front"},
    "b": {"app": "db", "tier": "back"},
    "c": {"app": "web"},
    "d": {},
}
ALL_CONFIGMAPS = core_path("configmaps", namespace=None)


def _names(body: JSONDict) -> list[str]:
    return [item["metadata"]["name"] for item in body["items"]]


async def _labelled(api: RestClient) -> None:
    for name, labels in LABELLED.items():
        ok(await api.post(CONFIGMAPS, configmap(name, labels=labels)), 201)


async def _list(api: RestClient, params: Params | None = None, path: str = CONFIGMAPS) -> JSONDict:
    body: JSONDict = ok(await api.get(path, params=params))
    return body


async def test_limit_and_continue_list_one_consistent_snapshot(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        names = [f"cm-{index:02d}" for index in range(25)]
        for name in names:
            ok(await api.post(CONFIGMAPS, configmap(name, data={"v": "1"})), 201)
        first = await _list(api, {"limit": 10})
        # Writes between pages: none of them may show in the pages of this list.
        ok(await api.delete(f"{CONFIGMAPS}/cm-15"))
        ok(await api.patch(f"{CONFIGMAPS}/cm-20", {"data": {"v": "2"}}))
        ok(await api.post(CONFIGMAPS, configmap("cm-12a")), 201)
        second = await _list(api, {"limit": 10, "continue": first["metadata"]["continue"]})
        third = await _list(api, {"limit": 10, "continue": second["metadata"]["continue"]})
        fresh = await _list(api)

    pages = [first, second, third]
    assert [_names(page) for page in pages] == [names[:10], names[10:20], names[20:]]
    assert [page["metadata"].get("remainingItemCount") for page in pages] == [15, 5, None]
    assert "continue" not in third["metadata"]
    assert len({page["metadata"]["resourceVersion"] for page in pages}) == 1
    assert third["items"][0]["data"] == {"v": "1"}
    # The writes did happen: a new list sees them.
    assert "cm-15" not in _names(fresh) and "cm-12a" in _names(fresh)
    assert int(fresh["metadata"]["resourceVersion"]) == int(
        first["metadata"]["resourceVersion"]) + 3


async def test_limit_larger_than_the_list_returns_everything_without_continue(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await _labelled(api)
        body = await _list(api, {"limit": 4})
    assert _names(body) == ["a", "b", "c", "d"]
    assert "continue" not in body["metadata"]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        pytest.param("app=web", ["a", "c"], id="equality"),
        pytest.param("app==web", ["a", "c"], id="double-equality"),
        pytest.param("app!=web", ["b", "d"], id="inequality"),
        pytest.param("app=web,tier=front", ["a"], id="equality-and-equality"),
        pytest.param("app in (web,db)", ["a", "b", "c"], id="set-in"),
        pytest.param("tier in (front)", ["a"], id="set-in-one"),
        pytest.param("app notin (web)", ["b", "d"], id="set-notin"),
        pytest.param("app in (web),tier notin (front)", ["c"], id="set-in-and-notin"),
        pytest.param("tier", ["a", "b"], id="exists"),
        pytest.param("!tier", ["c", "d"], id="not-exists"),
        pytest.param("app,!tier", ["c"], id="exists-and-not-exists"),
    ],
)
async def test_label_selector_lists_exactly_the_matching_objects(
    apiserver: ThreadedApiServer, selector: str, expected: list[str]
) -> None:
    async with rest_client(apiserver.url) as api:
        await _labelled(api)
        assert _names(await _list(api, {"labelSelector": selector})) == expected


async def test_malformed_label_selector_is_bad_request(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.get(CONFIGMAPS, params={"labelSelector": "a in b"})
    assert_status(reply, 400, "BadRequest")


@pytest.mark.parametrize(
    ("selector", "expected"),
    [("metadata.name=b", ["b"]), ("metadata.name!=b", ["a", "c", "d"])],
)
async def test_field_selector_on_metadata_name(
    apiserver: ThreadedApiServer, selector: str, expected: list[str]
) -> None:
    async with rest_client(apiserver.url) as api:
        await _labelled(api)
        assert _names(await _list(api, {"fieldSelector": selector})) == expected


async def test_field_selector_on_metadata_namespace(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        ok(await api.post(core_path("namespaces", namespace=None), namespace("team")), 201)
        ok(await api.post(CONFIGMAPS, configmap("here")), 201)
        ok(await api.post(core_path("configmaps", namespace="team"),
                          configmap("there", namespace="team")), 201)
        team = await _list(api, {"fieldSelector": "metadata.namespace=team"}, ALL_CONFIGMAPS)
        others = await _list(api, {"fieldSelector": "metadata.namespace!=team"}, ALL_CONFIGMAPS)
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in team["items"]] == [
        ("team", "there")]
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in others["items"]] == [
        ("default", "here")]


async def test_unsupported_field_selector_is_bad_request(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.get(CONFIGMAPS, params={"fieldSelector": "spec.foo=bar"})
    status = assert_status(reply, 400, "BadRequest")
    assert "spec.foo" in status["message"]


async def test_list_resource_version_is_the_store_resource_version(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        ok(await api.post(CONFIGMAPS, configmap("cm")), 201)
        # A write to another kind moves the one global counter the list reports.
        latest = ok(await api.post(core_path("namespaces", namespace=None),
                                   namespace("later")), 201)
        body = await _list(api)
        paged = await _list(api, {"limit": 1})
    store_rv = apiserver.call(lambda: apiserver.engine.store.resource_version)
    assert body["metadata"]["resourceVersion"] == latest["metadata"]["resourceVersion"]
    assert body["metadata"]["resourceVersion"] == str(store_rv)
    assert paged["metadata"]["resourceVersion"] == str(store_rv)


async def test_invalid_continue_token_is_bad_request(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.get(CONFIGMAPS, params={"limit": 1, "continue": "not-a-token!"})
    status = assert_status(reply, 400, "BadRequest")
    assert status["message"].startswith("continue key is not valid")


async def test_expired_continue_token_gets_410_expired(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        for name in ("a", "b", "c"):
            ok(await api.post(CONFIGMAPS, configmap(name)), 201)
        token = (await _list(api, {"limit": 1}))["metadata"]["continue"]
        # More lists in progress than the server keeps snapshots for: the oldest is forgotten.
        for _ in range(300):
            await _list(api, {"limit": 1})
        reply = await api.get(CONFIGMAPS, params={"limit": 1, "continue": token})
    status = assert_status(reply, 410, "Expired")
    assert status["message"] == EXPIRED_CONTINUE


@pytest.mark.parametrize(
    "other_list", [core_path("configmaps", namespace="kube-system"),
                   core_path("namespaces", namespace=None)])
async def test_continue_token_of_another_list_is_bad_request(
    apiserver: ThreadedApiServer, other_list: str
) -> None:
    async with rest_client(apiserver.url) as api:
        for name in ("a", "b", "c"):
            ok(await api.post(CONFIGMAPS, configmap(name)), 201)
        token = (await _list(api, {"limit": 1}))["metadata"]["continue"]
        reply = await api.get(other_list, params={"limit": 1, "continue": token})
    # Never objects of the first list through the other one's URL.
    status = assert_status(reply, 400, "BadRequest")
    assert status["message"].startswith("continue key is not valid")


@pytest.mark.parametrize(
    ("params", "code", "reason"),
    [
        ({"resourceVersion": "abc"}, 400, "BadRequest"),
        ({"resourceVersion": "1", "resourceVersionMatch": "Bogus"}, 422, "Invalid"),
        ({"resourceVersionMatch": "NotOlderThan"}, 422, "Invalid"),
    ],
)
async def test_list_rejects_malformed_resource_version_parameters(
    apiserver: ThreadedApiServer, params: dict[str, str], code: int, reason: str
) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.get(CONFIGMAPS, params=params)
    assert_status(reply, code, reason)

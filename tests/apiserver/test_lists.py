"""Lists over raw HTTP: limit/continue snapshots, label and field selectors, resourceVersion."""

from __future__ import annotations

import pytest

from controllerkit.apiserver import ThreadedApiServer

from .http_clients import CONFIGMAPS, JSONDict, RawClient, configmap, raw_client

MERGE_PATCH = "application/merge-patch+json"
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


def _names(body: JSONDict) -> list[str]:
    return [item["metadata"]["name"] for item in body["items"]]


async def _labelled(raw: RawClient) -> None:
    for name, labels in LABELLED.items():
        await raw.ok("POST", CONFIGMAPS, body=configmap(name, labels=labels))


async def _select(raw: RawClient, **params: str) -> list[str]:
    return _names(await raw.ok("GET", CONFIGMAPS, params=params))


async def test_limit_and_continue_list_one_consistent_snapshot(
    apiserver: ThreadedApiServer,
) -> None:
    async with raw_client(apiserver) as raw:
        names = [f"cm-{index:02d}" for index in range(25)]
        for name in names:
            await raw.ok("POST", CONFIGMAPS, body=configmap(name, data={"v": "1"}))
        first = await raw.ok("GET", CONFIGMAPS, params={"limit": 10})
        # Writes between pages: none of them may show in the pages of this list.
        await raw.ok("DELETE", f"{CONFIGMAPS}/cm-15")
        await raw.ok("PATCH", f"{CONFIGMAPS}/cm-20", body={"data": {"v": "2"}},
                     content_type=MERGE_PATCH)
        await raw.ok("POST", CONFIGMAPS, body=configmap("cm-12a"))
        second = await raw.ok("GET", CONFIGMAPS, params={
            "limit": 10, "continue": first["metadata"]["continue"]})
        third = await raw.ok("GET", CONFIGMAPS, params={
            "limit": 10, "continue": second["metadata"]["continue"]})
        fresh = await raw.ok("GET", CONFIGMAPS)

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
    async with raw_client(apiserver) as raw:
        await _labelled(raw)
        body = await raw.ok("GET", CONFIGMAPS, params={"limit": 4})
    assert _names(body) == ["a", "b", "c", "d"]
    assert "continue" not in body["metadata"]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["a", "c"]),
        ("app==web", ["a", "c"]),
        ("app!=web", ["b", "d"]),
        ("app=web,tier=front", ["a"]),
    ],
)
async def test_label_selector_equality(
    apiserver: ThreadedApiServer, selector: str, expected: list[str]
) -> None:
    async with raw_client(apiserver) as raw:
        await _labelled(raw)
        assert await _select(raw, labelSelector=selector) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app in (web,db)", ["a", "b", "c"]),
        ("tier in (front)", ["a"]),
        ("app notin (web)", ["b", "d"]),
        ("app in (web),tier notin (front)", ["c"]),
    ],
)
async def test_label_selector_set_based(
    apiserver: ThreadedApiServer, selector: str, expected: list[str]
) -> None:
    async with raw_client(apiserver) as raw:
        await _labelled(raw)
        assert await _select(raw, labelSelector=selector) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [("tier", ["a", "b"]), ("!tier", ["c", "d"]), ("app,!tier", ["c"])],
)
async def test_label_selector_existence(
    apiserver: ThreadedApiServer, selector: str, expected: list[str]
) -> None:
    async with raw_client(apiserver) as raw:
        await _labelled(raw)
        assert await _select(raw, labelSelector=selector) == expected


async def test_malformed_label_selector_is_bad_request(apiserver: ThreadedApiServer) -> None:
    async with raw_client(apiserver) as raw:
        status, body = await raw.request("GET", CONFIGMAPS, params={"labelSelector": "a in b"})
    assert status == 400
    assert body["reason"] == "BadRequest" and body["code"] == 400


@pytest.mark.parametrize(
    ("selector", "expected"),
    [("metadata.name=b", ["b"]), ("metadata.name!=b", ["a", "c", "d"])],
)
async def test_field_selector_on_metadata_name(
    apiserver: ThreadedApiServer, selector: str, expected: list[str]
) -> None:
    async with raw_client(apiserver) as raw:
        await _labelled(raw)
        assert await _select(raw, fieldSelector=selector) == expected


async def test_field_selector_on_metadata_namespace(apiserver: ThreadedApiServer) -> None:
    async with raw_client(apiserver) as raw:
        await raw.ok("POST", "/api/v1/namespaces", body={
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
        await raw.ok("POST", CONFIGMAPS, body=configmap("here"))
        await raw.ok("POST", "/api/v1/namespaces/team/configmaps",
                     body=configmap("there", namespace="team"))
        team = await raw.ok("GET", "/api/v1/configmaps",
                            params={"fieldSelector": "metadata.namespace=team"})
        others = await raw.ok("GET", "/api/v1/configmaps",
                              params={"fieldSelector": "metadata.namespace!=team"})
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in team["items"]] == [
        ("team", "there")]
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in others["items"]] == [
        ("default", "here")]


async def test_unsupported_field_selector_is_bad_request(apiserver: ThreadedApiServer) -> None:
    async with raw_client(apiserver) as raw:
        status, body = await raw.request("GET", CONFIGMAPS,
                                         params={"fieldSelector": "spec.foo=bar"})
    assert status == 400
    assert body["reason"] == "BadRequest" and body["code"] == 400
    assert "spec.foo" in body["message"]


async def test_list_resource_version_is_the_store_resource_version(
    apiserver: ThreadedApiServer,
) -> None:
    async with raw_client(apiserver) as raw:
        await raw.ok("POST", CONFIGMAPS, body=configmap("cm"))
        # A write to another kind moves the one global counter the list reports.
        latest = await raw.ok("POST", "/api/v1/namespaces", body={
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "later"}})
        body = await raw.ok("GET", CONFIGMAPS)
        paged = await raw.ok("GET", CONFIGMAPS, params={"limit": 1})
    store_rv = apiserver.call(lambda: apiserver.engine.store.resource_version)
    assert body["metadata"]["resourceVersion"] == latest["metadata"]["resourceVersion"]
    assert body["metadata"]["resourceVersion"] == str(store_rv)
    assert paged["metadata"]["resourceVersion"] == str(store_rv)


async def test_invalid_continue_token_is_bad_request(apiserver: ThreadedApiServer) -> None:
    async with raw_client(apiserver) as raw:
        status, body = await raw.request("GET", CONFIGMAPS,
                                         params={"limit": 1, "continue": "not-a-token!"})
    assert status == 400
    assert body["reason"] == "BadRequest"
    assert body["message"].startswith("continue key is not valid")


async def test_expired_continue_token_gets_410_expired(apiserver: ThreadedApiServer) -> None:
    async with raw_client(apiserver) as raw:
        for name in ("a", "b", "c"):
            await raw.ok("POST", CONFIGMAPS, body=configmap(name))
        first = await raw.ok("GET", CONFIGMAPS, params={"limit": 1})
        token = first["metadata"]["continue"]
        # More lists in progress than the server keeps snapshots for: the oldest is forgotten.
        for _ in range(300):
            await raw.ok("GET", CONFIGMAPS, params={"limit": 1})
        status, body = await raw.request("GET", CONFIGMAPS,
                                         params={"limit": 1, "continue": token})
    assert status == 410
    assert body["reason"] == "Expired" and body["code"] == 410
    assert body["message"] == EXPIRED_CONTINUE


@pytest.mark.parametrize(
    "other_list", ["/api/v1/namespaces/kube-system/configmaps", "/api/v1/namespaces"])
async def test_continue_token_of_another_list_is_bad_request(
    apiserver: ThreadedApiServer, other_list: str
) -> None:
    async with raw_client(apiserver) as raw:
        for name in ("a", "b", "c"):
            await raw.ok("POST", CONFIGMAPS, body=configmap(name))
        first = await raw.ok("GET", CONFIGMAPS, params={"limit": 1})
        status, body = await raw.request("GET", other_list, params={
            "limit": 1, "continue": first["metadata"]["continue"]})
    # Never objects of the first list through the other one's URL.
    assert status == 400, body
    assert body["reason"] == "BadRequest"
    assert body["message"].startswith("continue key is not valid")


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
    async with raw_client(apiserver) as raw:
        status, body = await raw.request("GET", CONFIGMAPS, params=params)
    assert (status, body["reason"]) == (code, reason)

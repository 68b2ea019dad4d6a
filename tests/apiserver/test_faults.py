"""The embedded server's test extras: injected watch faults and the request log."""

from __future__ import annotations

from controllerkit.apiserver import EmbeddedApiServer

from .http_api import CONFIGMAPS, ok, rest_client
from .manifests import configmap


async def test_dropped_watches_end_after_the_configured_number_of_events() -> None:
    async with EmbeddedApiServer() as server, rest_client(server.url) as api:
        server.engine.faults.drop_watch_every = 3
        for index in range(5):
            ok(await api.post(CONFIGMAPS, configmap(f"c{index}")), 201)
        async with api.watch(CONFIGMAPS, resourceVersion="0") as stream:
            events = await stream.until_end()
        assert [e["object"]["metadata"]["name"] for e in events] == ["c0", "c1", "c2"]


async def test_expired_watch_is_injected_once() -> None:
    async with EmbeddedApiServer() as server, rest_client(server.url) as api:
        created = ok(await api.post(CONFIGMAPS, configmap("c0")), 201)
        rv = created["metadata"]["resourceVersion"]
        server.engine.faults.expire_next_watches = 1
        async with api.watch(CONFIGMAPS, resourceVersion=rv) as stream:
            first = await stream.until_end()
        assert [(e["type"], e["object"]["code"]) for e in first] == [("ERROR", 410)]
        async with api.watch(CONFIGMAPS, resourceVersion=rv, timeoutSeconds=1) as stream:
            assert await stream.until_end() == []


async def test_request_log_counts_lists_and_watches() -> None:
    async with EmbeddedApiServer() as server, rest_client(server.url) as api:
        ok(await api.get(CONFIGMAPS))
        async with api.watch(CONFIGMAPS, timeoutSeconds=1) as stream:
            await stream.until_end()
        assert server.engine.requests.count("list", "configmaps") == 1
        assert server.engine.requests.count("watch", "configmaps") == 1
        assert server.engine.requests.count("list", "namespaces") == 0

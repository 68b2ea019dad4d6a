"""The embedded server's test extras: injected watch faults and the request log."""

from __future__ import annotations

from controllerkit.apiserver import EmbeddedApiServer

from .http_clients import CONFIGMAPS, configmap, raw_client


async def test_dropped_watches_end_after_the_configured_number_of_events() -> None:
    async with EmbeddedApiServer() as server, raw_client(server) as raw:
        server.engine.faults.drop_watch_every = 3
        for index in range(5):
            await raw.ok("POST", CONFIGMAPS, body=configmap(f"c{index}"))
        stream = await raw.watch(CONFIGMAPS, {"resourceVersion": "0"})
        events = await stream.until_end()
        assert [e["object"]["metadata"]["name"] for e in events] == ["c0", "c1", "c2"]


async def test_expired_watch_is_injected_once() -> None:
    async with EmbeddedApiServer() as server, raw_client(server) as raw:
        created = await raw.ok("POST", CONFIGMAPS, body=configmap("c0"))
        rv = created["metadata"]["resourceVersion"]
        server.engine.faults.expire_next_watches = 1
        first = await (await raw.watch(CONFIGMAPS, {"resourceVersion": rv})).until_end()
        assert [(e["type"], e["object"]["code"]) for e in first] == [("ERROR", 410)]
        second = await raw.watch(CONFIGMAPS, {"resourceVersion": rv, "timeoutSeconds": "1"})
        assert await second.until_end() == []


async def test_request_log_counts_lists_and_watches() -> None:
    async with EmbeddedApiServer() as server, raw_client(server) as raw:
        await raw.ok("GET", CONFIGMAPS)
        stream = await raw.watch(CONFIGMAPS, {"timeoutSeconds": "1"})
        await stream.until_end()
        assert server.engine.requests.count("list", "configmaps") == 1
        assert server.engine.requests.count("watch", "configmaps") == 1
        assert server.engine.requests.count("list", "namespaces") == 0

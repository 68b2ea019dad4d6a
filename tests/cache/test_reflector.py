"""The reflector against the embedded API server: initial state, resumes, relists, stalls."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.apiserver.errors import Cause, expired, invalid
from controllerkit.cache import Delta, DeltaType, Reflector, Store
from controllerkit.client import KubeClient
from controllerkit.clock import FakeClock
from controllerkit.errors import TooManyRequests, WatchStalled
from controllerkit.meta import CONFIG_MAP, resource_version
from controllerkit.testing import eventually

from .support import (
    FAST,
    config_map,
    metric,
    requests_with,
    server_resource_version,
)


@asynccontextmanager
async def running(reflector: Reflector) -> AsyncIterator[Reflector]:
    task = asyncio.create_task(reflector.run())
    try:
        yield reflector
    finally:
        task.cancel()
        await asyncio.wait({task})


async def caught_up(reflector: Reflector, server: EmbeddedApiServer) -> None:
    await reflector.store.wait_for_resource_version(server_resource_version(server), timeout=10)


async def watching(reflector: Reflector, server: EmbeddedApiServer) -> None:
    """Wait until the reflector's watch reached the server, so faults set later hit the next."""
    await asyncio.wait_for(reflector.wait_for_sync(), 10)
    await eventually(lambda: server.engine.requests.count("watch", "configmaps") >= 1)


async def test_initial_state_comes_from_one_streaming_list(
    server: EmbeddedApiServer, kube: KubeClient, compact: bool
) -> None:
    for i in range(30):
        await kube.create(CONFIG_MAP, config_map(f"cm-{i}", index=str(i)))
    deltas: list[Delta] = []
    reflector = Reflector(kube, CONFIG_MAP, store=Store(compact=compact), namespace="default",
                          on_change=deltas.append, options=FAST)
    async with running(reflector):
        await asyncio.wait_for(reflector.wait_for_sync(), 10)
        assert len(reflector.store) == 30
        assert [d.type for d in deltas] == [DeltaType.ADDED] * 30
        assert server.engine.requests.count("list", "configmaps") == 0
        assert requests_with(server, "watch", "sendInitialEvents", "true") == 1
        assert reflector.stats.streaming_lists == 1 and reflector.stats.lists == 0

        # The same stream then carries changes: no second request.
        await kube.patch(CONFIG_MAP, "cm-0", {"data": {"index": "changed"}}, namespace="default")
        await caught_up(reflector, server)
        assert reflector.store.get(("default", "cm-0"))["data"]["index"] == "changed"  # type: ignore[index]
        assert deltas[-1].type is DeltaType.UPDATED
        assert len([r for r in server.engine.requests.records if r.verb == "watch"]) == 1


async def test_without_streaming_the_initial_list_is_paginated(
    server: EmbeddedApiServer, kube: KubeClient, compact: bool
) -> None:
    for i in range(25):
        await kube.create(CONFIG_MAP, config_map(f"cm-{i}"))
    options = dataclasses.replace(FAST, streaming_list=False, page_size=10)
    reflector = Reflector(kube, CONFIG_MAP, store=Store(compact=compact), options=options)
    async with running(reflector):
        await asyncio.wait_for(reflector.wait_for_sync(), 10)
        listed_at = reflector.store.resource_version
        assert len(reflector.store) == 25
        assert requests_with(server, "list", "limit", "10") == 3
        assert requests_with(server, "watch", "sendInitialEvents", "true") == 0
        await eventually(lambda: server.engine.requests.count("watch", "configmaps") == 1)
        watch = next(r for r in server.engine.requests.records if r.verb == "watch")
        assert watch.query["resourceVersion"] == listed_at
        assert watch.query["allowWatchBookmarks"] == "true"
        assert 300 <= int(watch.query["timeoutSeconds"]) < 600


async def test_a_server_without_streaming_lists_gets_a_paginated_list(
    server: EmbeddedApiServer, kube: KubeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Servers before streaming lists reject sendInitialEvents as invalid; so does this one.
    serve_watch = server.engine.open_watch

    def refuse_streaming(*args: Any, send_initial_events: bool, **kwargs: Any) -> Any:
        if send_initial_events:
            raise invalid("ListOptions", "meta.k8s.io", "", [Cause(
                "FieldValueForbidden", "sendInitialEvents is not supported", "sendInitialEvents")])
        return serve_watch(*args, send_initial_events=False, **kwargs)

    monkeypatch.setattr(server.engine, "open_watch", refuse_streaming)
    await kube.create(CONFIG_MAP, config_map("cm"))
    reflector = Reflector(kube, CONFIG_MAP, store=Store(), options=FAST)
    async with running(reflector):
        await watching(reflector, server)
        assert reflector.store.get(("default", "cm")) is not None
        assert reflector.stats.lists == 1 and reflector.stats.streaming_lists == 0
    # The fallback is remembered: the relist after a 410 does not try streaming again.
    server.engine.faults.expire_next_watches = 1
    async with running(reflector):
        await eventually(lambda: reflector.stats.relists == 1)
        await caught_up(reflector, server)
    assert server.engine.requests.count("list", "configmaps") == 2
    assert requests_with(server, "watch", "sendInitialEvents", "true") == 1


@pytest.mark.parametrize("streaming", [True, False], ids=["streaming-list", "paginated-list"])
async def test_reconnects_resume_from_the_last_resource_version_without_a_list(
    server: EmbeddedApiServer, kube: KubeClient, streaming: bool
) -> None:
    for i in range(5):
        await kube.create(CONFIG_MAP, config_map(f"cm-{i}"))
    # Every watch breaks after 7 events: enough for the initial 5 objects and the end bookmark.
    server.engine.faults.drop_watch_every = 7
    options = dataclasses.replace(FAST, streaming_list=streaming)
    reflector = Reflector(kube, CONFIG_MAP, store=Store(), namespace="default", options=options)
    async with running(reflector):
        await asyncio.wait_for(reflector.wait_for_sync(), 10)
        for round_ in range(4):
            for i in range(5):
                await kube.patch(CONFIG_MAP, f"cm-{i}", {"data": {"round": str(round_)}},
                                 namespace="default")
        await caught_up(reflector, server)
    assert all(o["data"]["round"] == "3" for o in reflector.store.list())
    resumes = [r for r in server.engine.requests.records
               if r.verb == "watch" and "sendInitialEvents" not in r.query]
    assert len(resumes) >= 2
    assert all(r.query["resourceVersion"] not in ("", "0") for r in resumes)
    full_states = (server.engine.requests.count("list", "configmaps")
                   + requests_with(server, "watch", "sendInitialEvents", "true"))
    assert full_states == 1
    assert reflector.stats.relists == 0
    assert reflector.stats.watch_restarts >= 2


async def test_a_resume_from_the_last_event_replays_nothing_twice(
    server: EmbeddedApiServer, kube: KubeClient
) -> None:
    server.engine.faults.drop_watch_every = 2
    deltas: list[Delta] = []
    reflector = Reflector(kube, CONFIG_MAP, store=Store(), namespace="default",
                          on_change=deltas.append, options=FAST)
    async with running(reflector):
        await asyncio.wait_for(reflector.wait_for_sync(), 10)
        for i in range(10):
            await kube.create(CONFIG_MAP, config_map(f"cm-{i}"))
        await caught_up(reflector, server)
    assert [d.key[1] for d in deltas] == [f"cm-{i}" for i in range(10)]


async def test_expired_watch_relists_and_reports_unseen_deletes_as_tombstones(
    server: EmbeddedApiServer, kube: KubeClient, caplog: pytest.LogCaptureFixture, compact: bool
) -> None:
    for name in ("kept", "changed", "doomed"):
        await kube.create(CONFIG_MAP, config_map(name))
    options = dataclasses.replace(FAST, streaming_list=False)
    deltas: list[Delta] = []
    registry = CollectorRegistry()
    reflector = Reflector(kube, CONFIG_MAP, store=Store(compact=compact), namespace="default",
                          on_change=deltas.append, options=options, registry=registry)
    async with running(reflector):
        await watching(reflector, server)
    assert metric(registry, "controllerkit_reflector_relists_total") == 0
    last_seen = reflector.store.resource_version
    # While the reflector is away, objects change and the server forgets that far back.
    await kube.delete(CONFIG_MAP, "doomed", namespace="default")
    await kube.patch(CONFIG_MAP, "changed", {"data": {"v": "2"}}, namespace="default")
    await kube.create(CONFIG_MAP, config_map("new"))
    server.engine.faults.expire_next_watches = 1
    deltas.clear()
    with caplog.at_level(logging.INFO, logger="controllerkit.cache.reflector"):
        async with running(reflector):
            await caught_up(reflector, server)
    lists = [r for r in server.engine.requests.records if r.verb == "list"]
    assert len(lists) == 2
    assert lists[1].query["resourceVersion"] == last_seen  # data at least that fresh
    assert "limit" not in lists[1].query
    assert reflector.stats.expired_watches == 1 and reflector.stats.relists == 1
    assert metric(registry, "controllerkit_reflector_relists_total") == 1
    assert "watch expired (410)" in caplog.text and "relisting" in caplog.text
    assert {(d.type, d.key[1], d.final_state_unknown) for d in deltas} == {
        (DeltaType.DELETED, "doomed", True),
        (DeltaType.UPDATED, "changed", False),
        (DeltaType.ADDED, "new", False),
    }
    assert {o["metadata"]["name"] for o in reflector.store.list()} == {"kept", "changed", "new"}


async def test_repeated_410s_without_progress_back_off_between_relists(
    server: EmbeddedApiServer, kube: KubeClient
) -> None:
    clock = FakeClock()
    options = dataclasses.replace(FAST, streaming_list=False)
    reflector = Reflector(kube, CONFIG_MAP, store=Store(), options=options, clock=clock,
                          random=lambda: 0.0)
    async with running(reflector):
        await watching(reflector, server)
    server.engine.faults.expire_next_watches = 2
    async with running(reflector):
        # The first 410 relists at once; the second, with no event in between, waits.
        await eventually(lambda: clock.pending_timers == 1)
        assert reflector.stats.expired_watches == 2 and reflector.stats.relists == 1
        assert clock.next_deadline == pytest.approx(0.01)
        clock.advance(0.01)
        await eventually(lambda: reflector.stats.relists == 2)
        await caught_up(reflector, server)
    assert server.engine.requests.count("list", "configmaps") == 3


async def test_a_relist_whose_resource_version_is_expired_too_lists_the_current_state(
    server: EmbeddedApiServer, kube: KubeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await kube.create(CONFIG_MAP, config_map("cm"))
    options = dataclasses.replace(FAST, streaming_list=False)
    reflector = Reflector(kube, CONFIG_MAP, store=Store(), options=options)
    async with running(reflector):
        await watching(reflector, server)
    last_seen = reflector.store.resource_version
    # A server that has compacted past the reflector's resourceVersion for lists as well.
    serve_list = server.engine.list_page

    def compacted(*args: Any, resource_version: str, **kwargs: Any) -> Any:
        if resource_version:
            raise expired(f"too old resource version: {resource_version}")
        return serve_list(*args, resource_version=resource_version, **kwargs)

    monkeypatch.setattr(server.engine, "list_page", compacted)
    server.engine.faults.expire_next_watches = 1
    await kube.create(CONFIG_MAP, config_map("later"))
    async with running(reflector):
        await caught_up(reflector, server)
    relists = [r.query.get("resourceVersion", "") for r in server.engine.requests.records
               if r.verb == "list"][1:]
    assert relists == [last_seen, ""]
    assert reflector.store.get(("default", "later")) is not None


async def test_stalled_watches_are_restarted_from_the_last_resource_version() -> None:
    # No bookmarks and no changes: only the stall timeout notices a silent stream.
    async with (
        EmbeddedApiServer(bookmark_interval=3600) as server,
        KubeClient.from_url(server.url, token=server.token) as kube,
    ):
        await kube.create(CONFIG_MAP, config_map("cm"))
        options = dataclasses.replace(FAST, stall_timeout=0.2)
        reflector = Reflector(kube, CONFIG_MAP, store=Store(), options=options)
        async with running(reflector):
            await asyncio.wait_for(reflector.wait_for_sync(), 10)
            await eventually(lambda: reflector.stats.watches >= 2)
            assert isinstance(reflector.last_error, WatchStalled)
            await kube.patch(CONFIG_MAP, "cm", {"data": {"a": "b"}}, namespace="default")
            await caught_up(reflector, server)
        assert server.engine.requests.count("list", "configmaps") == 0
        assert requests_with(server, "watch", "sendInitialEvents", "true") == 1
        rewatch = [r for r in server.engine.requests.records
                   if r.verb == "watch" and "sendInitialEvents" not in r.query]
        assert rewatch and all(r.query["resourceVersion"] for r in rewatch)


async def test_429_waits_at_least_retry_after() -> None:
    # A server that throttles every watch: the reflector sleeps (on its clock) >= Retry-After.
    async def throttle(request: web.Request) -> web.Response:
        return web.json_response(
            {"kind": "Status", "apiVersion": "v1", "status": "Failure",
             "reason": "TooManyRequests", "code": 429, "message": "slow down"},
            status=429, headers={"Retry-After": "7"})

    app = web.Application()
    app.router.add_get("/api/v1/configmaps", throttle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    clock = FakeClock()
    try:
        async with KubeClient.from_url(f"http://127.0.0.1:{port}", read_retries=0) as kube:
            reflector = Reflector(kube, CONFIG_MAP, store=Store(), clock=clock,
                                  random=lambda: 0.0)
            async with running(reflector):
                await eventually(lambda: clock.pending_timers == 1)
                assert clock.next_deadline == 7.0
                assert isinstance(reflector.last_error, TooManyRequests)
                clock.advance(7.0)
                await eventually(lambda: reflector.stats.errors == 2)
                await eventually(lambda: clock.pending_timers == 1)
                # The backoff (0.8 s, then 1.6 s) is shorter than Retry-After: 7 s again.
                assert clock.next_deadline == 14.0
    finally:
        await runner.cleanup()


async def test_objects_outside_the_selection_are_not_cached(
    server: EmbeddedApiServer, kube: KubeClient
) -> None:
    labelled = config_map("in")
    labelled["metadata"]["labels"] = {"app": "demo"}
    await kube.create(CONFIG_MAP, labelled)
    await kube.create(CONFIG_MAP, config_map("out"))
    reflector = Reflector(kube, CONFIG_MAP, store=Store(), label_selector="app=demo",
                          options=FAST)
    async with running(reflector):
        await asyncio.wait_for(reflector.wait_for_sync(), 10)
        written = await kube.patch(CONFIG_MAP, "out", {"data": {"x": "y"}}, namespace="default")
        # Changes outside the selection still advance the cache's resourceVersion (bookmarks).
        await reflector.store.wait_for_resource_version(resource_version(written), timeout=10)
    assert [o["metadata"]["name"] for o in reflector.store.list()] == ["in"]

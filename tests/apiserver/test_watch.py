"""Watch semantics over raw HTTP: starting points, timeouts, selectors, initial events, fan-out
and slow watchers."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from controllerkit.apiserver import EmbeddedApiServer, ThreadedApiServer

from .http_api import (
    CONFIGMAPS,
    CRDS,
    JSON_PATCH,
    WIDGET_CRD_NAME,
    JSONDict,
    RestClient,
    assert_status,
    core_path,
    install_widget_crd,
    ok,
    resource_version,
    rest_client,
    summary,
    widgets_path,
)
from .manifests import configmap, namespace, widget

WIDGETS = widgets_path()


async def _create(api: RestClient, name: str, **fields: Any) -> JSONDict:
    body: JSONDict = ok(await api.post(CONFIGMAPS, configmap(name, **fields)), 201)
    return body


async def _patch(api: RestClient, name: str, patch: JSONDict) -> JSONDict:
    body: JSONDict = ok(await api.patch(f"{CONFIGMAPS}/{name}", patch))
    return body


def _named(name: str) -> Callable[[JSONDict], bool]:
    """Accepts the event about the object `name` (a marker)."""
    return lambda event: event["object"]["metadata"].get("name") == name


@pytest.mark.parametrize("start", ["", "0"])
async def test_watch_without_resource_version_starts_with_current_objects_as_added(
    apiserver: ThreadedApiServer, start: str
) -> None:
    async with rest_client(apiserver.url) as api:
        await _create(api, "b")
        await _create(api, "gone")
        ok(await api.delete(f"{CONFIGMAPS}/gone"))
        await _create(api, "a")
        current_b = await _patch(api, "b", {"data": {"v": "2"}})
        async with api.watch(CONFIGMAPS, resourceVersion=start) as stream:
            initial = await stream.take(2)
            assert summary(initial) == [("ADDED", "a"), ("ADDED", "b")]
            assert initial[1]["object"] == current_b
            live = await _create(api, "c")
            event = await stream.next_event()
            assert event == {"type": "ADDED", "object": live}


async def test_watch_from_resource_version_replays_every_later_event_in_order(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await _create(api, "old")
        since = resource_version(await _create(api, "start"))
        written = [
            ("ADDED", await _create(api, "x")),
            ("MODIFIED", await _patch(api, "old", {"data": {"v": "2"}})),
            ("MODIFIED", await _patch(api, "x", {"data": {"v": "3"}})),
            ("ADDED", await _create(api, "y")),
        ]
        ok(await api.delete(f"{CONFIGMAPS}/start"))
        async with api.watch(CONFIGMAPS, resourceVersion=since) as stream:
            events = await stream.take(5)
            assert [(e["type"], e["object"]) for e in events[:4]] == written
            assert summary(events[4:]) == [("DELETED", "start")]
            rvs = [resource_version(e["object"]) for e in events]
            assert rvs == list(range(since + 1, since + 6))
            await stream.assert_quiet(0.3)


async def test_timeout_seconds_ends_the_stream(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await _create(api, "a")
        began = time.monotonic()
        async with api.watch(CONFIGMAPS, resourceVersion="0", timeoutSeconds=1) as stream:
            events = await stream.until_end(within=5)
        elapsed = time.monotonic() - began
        assert summary(events) == [("ADDED", "a")]
        assert 0.9 <= elapsed < 3.0


async def test_label_selector_limits_watch_to_matching_objects(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        since = resource_version(await _create(api, "before", labels={"app": "web"}))
        async with api.watch(CONFIGMAPS, resourceVersion=since,
                             labelSelector="app=web") as stream:
            await _create(api, "web-1", labels={"app": "web"})
            await _create(api, "db-1", labels={"app": "db"})
            await _patch(api, "db-1", {"data": {"v": "2"}})
            await _create(api, "plain")
            await _patch(api, "web-1", {"data": {"v": "2"}})
            await _create(api, "web-2", labels={"app": "web", "tier": "x"})
            events = await stream.until(_named("web-2"))
            assert summary(events) == [
                ("ADDED", "web-1"), ("MODIFIED", "web-1"), ("ADDED", "web-2")]


async def test_object_leaving_label_selection_arrives_as_deleted(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        since = resource_version(await _create(api, "cm", labels={"app": "web"}))
        async with api.watch(CONFIGMAPS, resourceVersion=since,
                             labelSelector="app=web") as stream:
            moved = await _patch(api, "cm", {"metadata": {"labels": {"app": "db"}}})
            event = await stream.next_event()
            assert event["type"] == "DELETED"
            gone = event["object"]
            assert gone["metadata"]["name"] == "cm"
            # The last state that matched, stamped with the resourceVersion of the change.
            assert gone["metadata"]["labels"] == {"app": "web"}
            assert gone["metadata"]["resourceVersion"] == moved["metadata"]["resourceVersion"]
            await _patch(api, "cm", {"data": {"v": "ignored"}})
            await stream.assert_quiet(0.3)


async def test_object_entering_label_selection_arrives_as_added(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        since = resource_version(await _create(api, "cm", labels={"app": "db"}))
        async with api.watch(CONFIGMAPS, resourceVersion=since,
                             labelSelector="app in (web)") as stream:
            moved = await _patch(api, "cm", {"metadata": {"labels": {"app": "web"}}})
            changed = await _patch(api, "cm", {"data": {"v": "2"}})
            events = await stream.take(2)
            assert events == [{"type": "ADDED", "object": moved},
                              {"type": "MODIFIED", "object": changed}]


async def test_field_selector_on_name_limits_watch_to_that_object(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        since = resource_version(await _create(api, "other"))
        async with api.watch(CONFIGMAPS, resourceVersion=since,
                             fieldSelector="metadata.name=mine") as stream:
            await _create(api, "mine")
            await _patch(api, "other", {"data": {"v": "2"}})
            await _patch(api, "mine", {"data": {"v": "2"}})
            ok(await api.delete(f"{CONFIGMAPS}/mine"))
            events = await stream.take(3)
            assert summary(events) == [("ADDED", "mine"), ("MODIFIED", "mine"),
                                       ("DELETED", "mine")]
            await stream.assert_quiet(0.3)


async def test_field_selector_on_namespace_limits_cluster_wide_watch(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        ok(await api.post(core_path("namespaces", namespace=None), namespace("team")), 201)
        since = resource_version(await _create(api, "in-default"))
        async with api.watch(core_path("configmaps", namespace=None), resourceVersion=since,
                             fieldSelector="metadata.namespace=team") as stream:
            await _create(api, "skipped")
            created = ok(await api.post(core_path("configmaps", namespace="team"),
                                        configmap("in-team", namespace="team")), 201)
            event = await stream.next_event()
            assert event == {"type": "ADDED", "object": created}


async def test_send_initial_events_ends_with_annotated_bookmark(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        first = await _create(api, "a")
        second = await _create(api, "b")
        async with api.watch(CONFIGMAPS, sendInitialEvents="true",
                             resourceVersionMatch="NotOlderThan", allowWatchBookmarks="true",
                             resourceVersion="") as stream:
            events = await stream.take(3)
            assert events[:2] == [{"type": "ADDED", "object": first},
                                  {"type": "ADDED", "object": second}]
            assert events[2] == {"type": "BOOKMARK", "object": {
                "kind": "ConfigMap", "apiVersion": "v1",
                "metadata": {"resourceVersion": second["metadata"]["resourceVersion"],
                             "annotations": {"k8s.io/initial-events-end": "true"}}}}
            live = await _create(api, "c")
            assert await stream.next_event() == {"type": "ADDED", "object": live}


async def test_send_initial_events_without_not_older_than_is_invalid(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.get(CONFIGMAPS, params={
            "watch": "1", "sendInitialEvents": "true", "allowWatchBookmarks": "true"})
    message = "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
    body = assert_status(reply, 422, "Invalid")
    assert body["message"] == (
        f'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: {message}')
    assert body["details"]["causes"] == [{
        "reason": "FieldValueForbidden", "message": f"Forbidden: {message}",
        "field": "resourceVersionMatch"}]


async def test_each_accepted_write_emits_exactly_one_event_with_its_resource_version(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        since = resource_version(ok(await api.post(WIDGETS, widget("start")), 201))
        async with api.watch(WIDGETS, resourceVersion=since) as stream:
            created = ok(await api.post(WIDGETS, widget("w", size=1)), 201)
            replaced = ok(await api.put(f"{WIDGETS}/w", {**created, "spec": {"size": 2}}))
            merged = ok(await api.patch(f"{WIDGETS}/w", {"spec": {"size": 3}}))
            status = ok(await api.patch(f"{WIDGETS}/w/status", {
                "metadata": {"resourceVersion": merged["metadata"]["resourceVersion"]},
                "status": {"phase": "Ready"}}))
            labelled = ok(await api.patch(f"{WIDGETS}/w", [
                {"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}], JSON_PATCH))
            ok(await api.delete(f"{WIDGETS}/w"))
            ok(await api.delete(f"{WIDGETS}/start"))
            events = await stream.until(_named("start"))
    writes = [created, replaced, merged, status, labelled]
    assert summary(events) == [("ADDED", "w")] + [("MODIFIED", "w")] * 4 + [
        ("DELETED", "w"), ("DELETED", "start")]
    assert [e["object"] for e in events[:5]] == writes
    rvs = [resource_version(e["object"]) for e in events]
    assert rvs == list(range(since + 1, since + 8))


async def test_no_op_write_emits_no_event(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        created = ok(await api.post(WIDGETS, widget("w", size=2)), 201)
        rv = created["metadata"]["resourceVersion"]
        with_status = ok(await api.patch(f"{WIDGETS}/w/status", {
            "metadata": {"resourceVersion": rv}, "status": {"phase": "Ready"}}))
        since = with_status["metadata"]["resourceVersion"]
        async with api.watch(WIDGETS, resourceVersion=since) as stream:
            unchanged = [
                ok(await api.put(f"{WIDGETS}/w", with_status)),
                ok(await api.patch(f"{WIDGETS}/w", {"spec": {"size": 2}})),
                ok(await api.patch(f"{WIDGETS}/w/status", {
                    "metadata": {"resourceVersion": since}, "status": {"phase": "Ready"}})),
            ]
            assert [u["metadata"]["resourceVersion"] for u in unchanged] == [since] * 3
            changed = ok(await api.patch(f"{WIDGETS}/w", {"spec": {"size": 3}}))
            assert await stream.next_event() == {"type": "MODIFIED", "object": changed}
            assert resource_version(changed) == int(since) + 1


async def test_hundred_concurrent_watchers_all_receive_the_event(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api, AsyncExitStack() as watches:
        since = resource_version(await _create(api, "start"))
        streams = await asyncio.gather(*(
            watches.enter_async_context(api.watch(CONFIGMAPS, resourceVersion=since))
            for _ in range(100)))
        assert {stream.response.status for stream in streams} == {200}
        created = await _create(api, "news")
        received = await asyncio.gather(*(stream.next_event() for stream in streams))
    assert received == [{"type": "ADDED", "object": created}] * 100


# A watcher that never reads: with 64 KiB objects the socket buffers fill after a few dozen
# events, its queue then passes the small capacity and the server drops it.
SLOW_CAPACITY = 8
BIG_WRITES = 160
BIG_VALUE = "x" * 65_536


async def _overrun_slow_watcher(
    server: EmbeddedApiServer,
) -> tuple[int, list[int], list[JSONDict], list[JSONDict]]:
    """Writes while one watcher reads nothing and another keeps up.

    Returns the starting resourceVersion, the writes' resourceVersions, what the fast watcher
    saw, and what the slow watcher's stream held once it finally read it to the end.
    """
    async with rest_client(server.url) as api, rest_client(server.url) as slow_client:
        since = resource_version(await _create(api, "start"))
        async with slow_client.watch(CONFIGMAPS, resourceVersion=since) as slow, \
                api.watch(CONFIGMAPS, resourceVersion=since) as fast:
            # As long as the writes (30 s) and the fast watcher's catching up (10 s) may take.
            reading = asyncio.create_task(fast.take(BIG_WRITES, within=40))

            async def write_all() -> list[int]:
                return [resource_version(await _create(api, f"big-{index:03d}",
                                                       data={"blob": BIG_VALUE}))
                        for index in range(BIG_WRITES)]

            # Writers must never wait for a watcher: they finish while one reads nothing.
            written = await asyncio.wait_for(write_all(), 30)
            fast_events = await asyncio.wait_for(reading, 10)
            slow_events = await slow.until_end(within=10)
    return since, written, fast_events, slow_events


async def test_slow_watcher_is_dropped_without_stalling_writers_or_other_watchers() -> None:
    async with EmbeddedApiServer(watch_queue_capacity=SLOW_CAPACITY) as server:
        _since, written, fast_events, slow_events = await _overrun_slow_watcher(server)
    assert [resource_version(e["object"]) for e in fast_events] == written
    assert {e["type"] for e in fast_events} == {"ADDED"}
    # The slow stream ended early: what it holds is a gap-free prefix of the writes.
    assert 0 < len(slow_events) < BIG_WRITES
    assert [resource_version(e["object"]) for e in slow_events] == written[:len(slow_events)]


async def test_dropped_watcher_resumes_from_its_last_resource_version() -> None:
    async with EmbeddedApiServer(watch_queue_capacity=SLOW_CAPACITY) as server:
        _since, written, _fast, slow_events = await _overrun_slow_watcher(server)
        last_seen = slow_events[-1]["object"]["metadata"]["resourceVersion"]
        async with rest_client(server.url) as api, \
                api.watch(CONFIGMAPS, resourceVersion=last_seen) as resumed:
            rest = await resumed.take(BIG_WRITES - len(slow_events), within=10)
            await resumed.assert_quiet(0.2)
    seen = [resource_version(e["object"]) for e in slow_events + rest]
    assert seen == written


async def test_watch_from_before_the_history_gets_an_expired_error_event() -> None:
    async with EmbeddedApiServer(watch_history=5) as server, \
            rest_client(server.url) as api:
        since = resource_version(await _create(api, "cm-0"))
        for index in range(1, 8):
            await _create(api, f"cm-{index}")
        async with api.watch(CONFIGMAPS, resourceVersion=since) as stream:
            # As the real server: the watch is accepted and the error comes in the stream.
            assert stream.response.status == 200
            events = await stream.until_end()
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["status"], status["code"], status["reason"]) == (
        "Status", "Failure", 410, "Expired")
    assert status["message"].startswith(f"too old resource version: {since} (")


async def test_watch_ends_when_its_custom_resource_definition_is_deleted(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        since = resource_version(ok(await api.post(WIDGETS, widget("w")), 201))
        async with api.watch(WIDGETS, resourceVersion=since) as stream:
            ok(await api.delete(f"{CRDS}/{WIDGET_CRD_NAME}"))
            events = await stream.until_end(within=3)
    assert summary(events) == [("DELETED", "w")]


async def test_watch_client_that_stops_reading_is_disconnected() -> None:
    """A client that never reads fills its socket; the server hangs up instead of waiting."""
    async with EmbeddedApiServer(watch_write_timeout=0.5) as server:
        host, port = server.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        writer.write(f"GET {CONFIGMAPS}?watch=1 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        async with rest_client(server.url) as api:
            await _wait_for(lambda: server.engine.store.watcher_count() == 1)
            for index in range(60):
                await _create(api, f"big-{index}", data={"payload": "x" * 100_000})
            await _wait_for(lambda: server.engine.store.watcher_count() == 0, within=10)
            # The server stays healthy for everyone else.
            ok(await api.get(CONFIGMAPS))
        writer.close()
        del reader


async def _wait_for(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)

"""Watch semantics over raw HTTP: starting points, timeouts, selectors, initial events, fan-out
and slow watchers."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from controllerkit.apiserver import EmbeddedApiServer, ThreadedApiServer

from .http_clients import (
    CONFIGMAPS,
    JSONDict,
    RawClient,
    WatchStream,
    configmap,
    raw_client,
    resource_version,
    summary,
)
from .manifests import widget, widget_crd

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"


async def _create(raw: RawClient, name: str, **fields: Any) -> JSONDict:
    return await raw.ok("POST", CONFIGMAPS, body=configmap(name, **fields))


async def _patch(raw: RawClient, name: str, patch: JSONDict) -> JSONDict:
    return await raw.ok("PATCH", f"{CONFIGMAPS}/{name}", body=patch, content_type=MERGE_PATCH)


async def _events_until(stream: WatchStream, name: str) -> list[JSONDict]:
    """Events up to and including the first one about the object `name` (a marker)."""
    events: list[JSONDict] = []
    while True:
        event = await stream.next_event()
        assert event is not None, f"stream ended before {name!r}: {summary(events)}"
        events.append(event)
        if event["object"]["metadata"].get("name") == name:
            return events


@pytest.mark.parametrize("start", ["", "0"])
async def test_watch_without_resource_version_starts_with_current_objects_as_added(
    apiserver: ThreadedApiServer, start: str
) -> None:
    async with raw_client(apiserver) as raw:
        await _create(raw, "b")
        await _create(raw, "gone")
        await raw.ok("DELETE", f"{CONFIGMAPS}/gone")
        await _create(raw, "a")
        current_b = await _patch(raw, "b", {"data": {"v": "2"}})
        stream = await raw.watch(CONFIGMAPS, {"resourceVersion": start})
        try:
            initial = await stream.take(2)
            assert summary(initial) == [("ADDED", "a"), ("ADDED", "b")]
            assert initial[1]["object"] == current_b
            live = await _create(raw, "c")
            event = await stream.next_event()
            assert event == {"type": "ADDED", "object": live}
        finally:
            stream.close()


async def test_watch_from_resource_version_replays_every_later_event_in_order(
    apiserver: ThreadedApiServer,
) -> None:
    async with raw_client(apiserver) as raw:
        await _create(raw, "old")
        since = resource_version(await _create(raw, "start"))
        written = [
            ("ADDED", await _create(raw, "x")),
            ("MODIFIED", await _patch(raw, "old", {"data": {"v": "2"}})),
            ("MODIFIED", await _patch(raw, "x", {"data": {"v": "3"}})),
            ("ADDED", await _create(raw, "y")),
        ]
        await raw.ok("DELETE", f"{CONFIGMAPS}/start")
        stream = await raw.watch(CONFIGMAPS, {"resourceVersion": since})
        try:
            events = await stream.take(5)
            assert [(e["type"], e["object"]) for e in events[:4]] == written
            assert summary(events[4:]) == [("DELETED", "start")]
            rvs = [resource_version(e["object"]) for e in events]
            assert rvs == list(range(since + 1, since + 6))
            await stream.expect_quiet(0.3)
        finally:
            stream.close()


async def test_timeout_seconds_ends_the_stream(apiserver: ThreadedApiServer) -> None:
    async with raw_client(apiserver) as raw:
        await _create(raw, "a")
        began = time.monotonic()
        stream = await raw.watch(CONFIGMAPS, {"resourceVersion": "0", "timeoutSeconds": 1})
        try:
            events = await stream.until_end(within=5)
        finally:
            stream.close()
        elapsed = time.monotonic() - began
        assert summary(events) == [("ADDED", "a")]
        assert 0.9 <= elapsed < 3.0


async def test_label_selector_limits_watch_to_matching_objects(
    apiserver: ThreadedApiServer,
) -> None:
    async with raw_client(apiserver) as raw:
        since = resource_version(await _create(raw, "before", labels={"app": "web"}))
        stream = await raw.watch(CONFIGMAPS, {"resourceVersion": since,
                                              "labelSelector": "app=web"})
        try:
            await _create(raw, "web-1", labels={"app": "web"})
            await _create(raw, "db-1", labels={"app": "db"})
            await _patch(raw, "db-1", {"data": {"v": "2"}})
            await _create(raw, "plain")
            await _patch(raw, "web-1", {"data": {"v": "2"}})
            await _create(raw, "web-2", labels={"app": "web", "tier": "x"})
            events = await _events_until(stream, "web-2")
            assert summary(events) == [
                ("ADDED", "web-1"), ("MODIFIED", "web-1"), ("ADDED", "web-2")]
        finally:
            stream.close()


async def test_object_leaving_label_selection_arrives_as_deleted(
    apiserver: ThreadedApiServer,
) -> None:
    async with raw_client(apiserver) as raw:
        since = resource_version(await _create(raw, "cm", labels={"app": "web"}))
        stream = await raw.watch(CONFIGMAPS, {"resourceVersion": since,
                                              "labelSelector": "app=web"})
        try:
            moved = await _patch(raw, "cm", {"metadata": {"labels": {"app": "db"}}})
            event = await stream.next_event()
            assert event is not None and event["type"] == "DELETED"
            gone = event["object"]
            assert gone["metadata"]["name"] == "cm"
            # The last state that matched, stamped with the resourceVersion of the change.
            assert gone["metadata"]["labels"] == {"app": "web"}
            assert gone["metadata"]["resourceVersion"] == moved["metadata"]["resourceVersion"]
            await _patch(raw, "cm", {"data": {"v": "ignored"}})
            await stream.expect_quiet(0.3)
        finally:
            stream.close()


async def test_object_entering_label_selection_arrives_as_added(
    apiserver: ThreadedApiServer,
) -> None:
    async with raw_client(apiserver) as raw:
        since = resource_version(await _create(raw, "cm", labels={"app": "db"}))
        stream = await raw.watch(CONFIGMAPS, {"resourceVersion": since,
                                              "labelSelector": "app in (web)"})
        try:
            moved = await _patch(raw, "cm", {"metadata": {"labels": {"app": "web"}}})
            changed = await _patch(raw, "cm", {"data": {"v": "2"}})
            events = await stream.take(2)
            assert events == [{"type": "ADDED", "object": moved},
                              {"type": "MODIFIED", "object": changed}]
        finally:
            stream.close()


async def test_field_selector_on_name_limits_watch_to_that_object(
    apiserver: ThreadedApiServer,
) -> None:
    async with raw_client(apiserver) as raw:
        since = resource_version(await _create(raw, "other"))
        stream = await raw.watch(CONFIGMAPS, {"resourceVersion": since,
                                              "fieldSelector": "metadata.name=mine"})
        try:
            await _create(raw, "mine")
            await _patch(raw, "other", {"data": {"v": "2"}})
            await _patch(raw, "mine", {"data": {"v": "2"}})
            await raw.ok("DELETE", f"{CONFIGMAPS}/mine")
            events = await stream.take(3)
            assert summary(events) == [("ADDED", "mine"), ("MODIFIED", "mine"),
                                       ("DELETED", "mine")]
            await stream.expect_quiet(0.3)
        finally:
            stream.close()


async def test_field_selector_on_namespace_limits_cluster_wide_watch(
    apiserver: ThreadedApiServer,
) -> None:
    async with raw_client(apiserver) as raw:
        await raw.ok("POST", "/api/v1/namespaces", body={
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
        since = resource_version(await _create(raw, "in-default"))
        stream = await raw.watch("/api/v1/configmaps", {
            "resourceVersion": since, "fieldSelector": "metadata.namespace=team"})
        try:
            await _create(raw, "skipped")
            created = await raw.ok("POST", "/api/v1/namespaces/team/configmaps",
                                   body=configmap("in-team", namespace="team"))
            event = await stream.next_event()
            assert event == {"type": "ADDED", "object": created}
        finally:
            stream.close()


async def test_send_initial_events_ends_with_annotated_bookmark(
    apiserver: ThreadedApiServer,
) -> None:
    async with raw_client(apiserver) as raw:
        first = await _create(raw, "a")
        second = await _create(raw, "b")
        stream = await raw.watch(CONFIGMAPS, {
            "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
            "allowWatchBookmarks": "true", "resourceVersion": ""})
        try:
            events = await stream.take(3)
            assert events[:2] == [{"type": "ADDED", "object": first},
                                  {"type": "ADDED", "object": second}]
            assert events[2] == {"type": "BOOKMARK", "object": {
                "kind": "ConfigMap", "apiVersion": "v1",
                "metadata": {"resourceVersion": second["metadata"]["resourceVersion"],
                             "annotations": {"k8s.io/initial-events-end": "true"}}}}
            live = await _create(raw, "c")
            assert await stream.next_event() == {"type": "ADDED", "object": live}
        finally:
            stream.close()


async def test_send_initial_events_without_not_older_than_is_invalid(
    apiserver: ThreadedApiServer,
) -> None:
    async with raw_client(apiserver) as raw:
        status, body = await raw.request("GET", CONFIGMAPS, params={
            "watch": "1", "sendInitialEvents": "true", "allowWatchBookmarks": "true"})
    message = "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
    assert status == 422
    assert body["reason"] == "Invalid" and body["code"] == 422
    assert body["message"] == (
        f'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: {message}')
    assert body["details"]["causes"] == [{
        "reason": "FieldValueForbidden", "message": f"Forbidden: {message}",
        "field": "resourceVersionMatch"}]


async def test_each_accepted_write_emits_exactly_one_event_with_its_resource_version(
    apiserver: ThreadedApiServer,
) -> None:
    async with raw_client(apiserver) as raw:
        await raw.ok("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                     body=widget_crd())
        since = resource_version(await raw.ok("POST", WIDGETS, body=widget("start")))
        stream = await raw.watch(WIDGETS, {"resourceVersion": since})
        try:
            created = await raw.ok("POST", WIDGETS, body=widget("w", size=1))
            replaced = await raw.ok("PUT", f"{WIDGETS}/w", body={**created, "spec": {"size": 2}})
            merged = await raw.ok("PATCH", f"{WIDGETS}/w", body={"spec": {"size": 3}},
                                  content_type=MERGE_PATCH)
            status = await raw.ok("PATCH", f"{WIDGETS}/w/status", body={
                "metadata": {"resourceVersion": merged["metadata"]["resourceVersion"]},
                "status": {"phase": "Ready"}}, content_type=MERGE_PATCH)
            labelled = await raw.ok("PATCH", f"{WIDGETS}/w", body=[
                {"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}],
                content_type=JSON_PATCH)
            await raw.ok("DELETE", f"{WIDGETS}/w")
            await raw.ok("DELETE", f"{WIDGETS}/start")
            events = await _events_until(stream, "start")
        finally:
            stream.close()
    writes = [created, replaced, merged, status, labelled]
    assert summary(events) == [("ADDED", "w")] + [("MODIFIED", "w")] * 4 + [
        ("DELETED", "w"), ("DELETED", "start")]
    assert [e["object"] for e in events[:5]] == writes
    rvs = [resource_version(e["object"]) for e in events]
    assert rvs == list(range(since + 1, since + 8))


async def test_no_op_write_emits_no_event(apiserver: ThreadedApiServer) -> None:
    async with raw_client(apiserver) as raw:
        await raw.ok("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                     body=widget_crd())
        created = await raw.ok("POST", WIDGETS, body=widget("w", size=2))
        rv = created["metadata"]["resourceVersion"]
        with_status = await raw.ok("PATCH", f"{WIDGETS}/w/status", body={
            "metadata": {"resourceVersion": rv}, "status": {"phase": "Ready"}},
            content_type=MERGE_PATCH)
        since = with_status["metadata"]["resourceVersion"]
        stream = await raw.watch(WIDGETS, {"resourceVersion": since})
        try:
            unchanged = [
                await raw.ok("PUT", f"{WIDGETS}/w", body=with_status),
                await raw.ok("PATCH", f"{WIDGETS}/w", body={"spec": {"size": 2}},
                             content_type=MERGE_PATCH),
                await raw.ok("PATCH", f"{WIDGETS}/w/status", body={
                    "metadata": {"resourceVersion": since}, "status": {"phase": "Ready"}},
                    content_type=MERGE_PATCH),
            ]
            assert [u["metadata"]["resourceVersion"] for u in unchanged] == [since] * 3
            changed = await raw.ok("PATCH", f"{WIDGETS}/w", body={"spec": {"size": 3}},
                                   content_type=MERGE_PATCH)
            assert await stream.next_event() == {"type": "MODIFIED", "object": changed}
            assert resource_version(changed) == int(since) + 1
        finally:
            stream.close()


async def test_hundred_concurrent_watchers_all_receive_the_event(
    apiserver: ThreadedApiServer,
) -> None:
    async with raw_client(apiserver) as raw:
        since = resource_version(await _create(raw, "start"))
        streams = await asyncio.gather(*(
            raw.watch(CONFIGMAPS, {"resourceVersion": since}) for _ in range(100)))
        try:
            assert {stream.status for stream in streams} == {200}
            created = await _create(raw, "news")
            received = await asyncio.gather(*(stream.next_event() for stream in streams))
        finally:
            for stream in streams:
                stream.close()
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
    async with raw_client(server) as raw, raw_client(server) as slow_client:
        since = resource_version(await _create(raw, "start"))
        slow = await slow_client.watch(CONFIGMAPS, {"resourceVersion": since})
        fast = await raw.watch(CONFIGMAPS, {"resourceVersion": since})
        try:
            reading = asyncio.create_task(fast.take(BIG_WRITES))

            async def write_all() -> list[int]:
                return [resource_version(await _create(raw, f"big-{index:03d}",
                                                       data={"blob": BIG_VALUE}))
                        for index in range(BIG_WRITES)]

            # Writers must never wait for a watcher: they finish while one reads nothing.
            written = await asyncio.wait_for(write_all(), 30)
            fast_events = await asyncio.wait_for(reading, 10)
            slow_events = await slow.until_end(within=10)
        finally:
            slow.close()
            fast.close()
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
        async with raw_client(server) as raw:
            resumed = await raw.watch(CONFIGMAPS, {"resourceVersion": last_seen})
            try:
                rest = await resumed.take(BIG_WRITES - len(slow_events))
                await resumed.expect_quiet(0.2)
            finally:
                resumed.close()
    seen = [resource_version(e["object"]) for e in slow_events + rest]
    assert seen == written


async def test_watch_from_before_the_history_gets_an_expired_error_event() -> None:
    async with EmbeddedApiServer(watch_history=5) as server, raw_client(server) as raw:
        since = resource_version(await _create(raw, "cm-0"))
        for index in range(1, 8):
            await _create(raw, f"cm-{index}")
        stream = await raw.watch(CONFIGMAPS, {"resourceVersion": since})
        try:
            assert stream.status == 200  # as the real server: the error comes in the stream
            events = await stream.until_end()
        finally:
            stream.close()
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["status"], status["code"], status["reason"]) == (
        "Status", "Failure", 410, "Expired")
    assert status["message"].startswith(f"too old resource version: {since} (")


async def test_watch_ends_when_its_custom_resource_definition_is_deleted(
    apiserver: ThreadedApiServer,
) -> None:
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    async with raw_client(apiserver) as raw:
        await raw.ok("POST", crds, body=widget_crd())
        since = resource_version(await raw.ok("POST", WIDGETS, body=widget("w")))
        stream = await raw.watch(WIDGETS, {"resourceVersion": since})
        try:
            await raw.ok("DELETE", f"{crds}/widgets.example.com")
            events = await stream.until_end(within=3)
        finally:
            stream.close()
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
        async with raw_client(server) as raw:
            await _wait_for(lambda: server.engine.store.watcher_count() == 1)
            payload = "x" * 100_000
            for index in range(60):
                body = configmap(f"big-{index}")
                body["data"] = {"payload": payload}
                await raw.ok("POST", CONFIGMAPS, body=body)
            await _wait_for(lambda: server.engine.store.watcher_count() == 0, within=10)
            # The server stays healthy for everyone else.
            await raw.ok("GET", CONFIGMAPS)
        writer.close()
        del reader


async def _wait_for(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)

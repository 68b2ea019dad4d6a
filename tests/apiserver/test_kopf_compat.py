"""kopf, an operator framework built on its own HTTP client, runs unchanged against the server.

The operator runs in-process, in the test's event loop, with a fresh registry: a create handler
that writes `.status.phase`, and a delete handler, which makes kopf put its finalizer on every
widget and take it off once the delete handler has run.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import kopf
import pytest

from controllerkit.apiserver import EmbeddedApiServer

from .http_api import WatchStream, install_widget_crd, rest_client, widgets_path
from .manifests import GROUP, widget

KOPF_FINALIZER = "kopf.zalando.org/KopfFinalizerMarker"
SHUTDOWN_TIMEOUT = 5.0


@dataclass
class Calls:
    """What the operator's handlers saw."""

    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def _registry(server: EmbeddedApiServer, calls: Calls) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=server.url, scheme="Bearer", token=server.token)

    @kopf.on.create(GROUP, "v1", "widgets", registry=registry)
    def create_widget(name: str, spec: Any, body: kopf.Body, patch: kopf.Patch,
                      **_: Any) -> None:
        calls.created.append(name)
        kopf.info(body, reason="Sized", message=f"{name} has size {spec['size']}")
        patch.status["phase"] = f"Sized{spec['size']}"

    @kopf.on.delete(GROUP, "v1", "widgets", registry=registry)
    def delete_widget(name: str, **_: Any) -> None:
        calls.deleted.append(name)

    return registry


def _settings() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.scanning.disabled = True  # no watching of CRDs/namespaces, only of widgets
    settings.posting.enabled = True  # kopf.info() in a handler posts a core/v1 Event
    return settings


@pytest.fixture
async def server() -> AsyncIterator[EmbeddedApiServer]:
    # The server as it comes: kopf merge-patches `/status` without a resourceVersion, which a
    # real server accepts, and so must the default here.
    server = EmbeddedApiServer()
    await server.start()
    try:
        async with rest_client(server.url, server.token) as api:
            await install_widget_crd(api)
        yield server
    finally:
        await server.stop()


@asynccontextmanager
async def running_operator(
    server: EmbeddedApiServer, caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[Calls]:
    """kopf in this event loop until the block exits, then stopped through its stop flag.

    Any warning or error kopf logs (a rejected request, a failed watch, a patch that did not
    stick) fails the test.

    kopf treats every task created after it starts as its own and cancels what is left when it
    stops, so it is started from the test's task, and the test's own connections (whose
    server-side tasks it would otherwise wait for) are closed before it is stopped.
    """
    calls = Calls()
    stop_flag = asyncio.Event()
    ready_flag = asyncio.Event()
    before = asyncio.all_tasks()
    task = asyncio.create_task(kopf.operator(
        registry=_registry(server, calls), settings=_settings(), clusterwide=True,
        standalone=True, stop_flag=stop_flag, ready_flag=ready_flag,
    ))
    try:
        await asyncio.wait_for(ready_flag.wait(), SHUTDOWN_TIMEOUT)
        yield calls
    finally:
        stop_flag.set()
        await asyncio.wait_for(task, SHUTDOWN_TIMEOUT)
    leftover = {t for t in asyncio.all_tasks() - before if not t.done()}
    assert not leftover, f"tasks still running after the operator stopped: {leftover}"
    complaints = [r.getMessage() for r in caplog.records
                  if r.name.startswith("kopf") and r.levelno >= logging.WARNING]
    assert complaints == []


async def _until(stream: WatchStream, wanted: Any, within: float = 5.0) -> list[dict[str, Any]]:
    """Watch events (bookmarks skipped) up to and including the first that `wanted` accepts."""
    events: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        event = await stream.next_event(max(0.01, deadline - loop.time()))
        if event["type"] == "BOOKMARK":
            continue
        events.append(event)
        if wanted(event):
            return events


def _finalizers(event: dict[str, Any]) -> list[str]:
    return list(event["object"]["metadata"].get("finalizers") or [])


def _handled(event: dict[str, Any]) -> bool:
    obj = event["object"]
    phase = (obj.get("status") or {}).get("phase")
    return phase == "Sized3" and KOPF_FINALIZER in _finalizers(event)


async def test_kopf_create_handler_writes_status_and_adds_its_finalizer(
    server: EmbeddedApiServer, caplog: pytest.LogCaptureFixture,
) -> None:
    async with (
        running_operator(server, caplog) as calls,
        rest_client(server.url, server.token) as api,
    ):
        async with api.watch(widgets_path()) as stream:
            reply = await api.post(widgets_path(), widget("w1", size=3))
            assert reply.status == 201, reply.body
            events = await _until(stream, _handled)
        stored = await api.get(widgets_path("w1"))
    assert calls.created == ["w1"]
    assert calls.deleted == []
    assert events[0]["type"] == "ADDED"
    assert [e["type"] for e in events[1:]] == ["MODIFIED"] * (len(events) - 1)
    # Main-resource writes ignore `.status`: kopf's unconditional `/status` patch landed.
    assert stored.body["status"] == {"phase": "Sized3"}
    assert stored.body["metadata"]["finalizers"] == [KOPF_FINALIZER]
    # kopf records what it handled in an annotation, written by a merge patch of the object.
    annotations = stored.body["metadata"]["annotations"]
    assert json.loads(annotations["kopf.zalando.org/last-handled-configuration"]) == {
        "spec": {"size": 3, "colour": "red"},
    }


async def test_kopf_delete_handler_runs_then_its_finalizer_is_released(
    server: EmbeddedApiServer, caplog: pytest.LogCaptureFixture,
) -> None:
    async with (
        running_operator(server, caplog) as calls,
        rest_client(server.url, server.token) as api,
    ):
        async with api.watch(widgets_path()) as stream:
            reply = await api.post(widgets_path(), widget("w1", size=3))
            assert reply.status == 201, reply.body
            await _until(stream, _handled)
            deleting = await api.delete(widgets_path("w1"))
            events = await _until(stream, lambda e: e["type"] == "DELETED")
        gone = await api.get(widgets_path("w1"))
    # The finalizer holds the object back: the DELETE only marks it for deletion.
    assert deleting.status == 200, deleting.body
    assert deleting.body["metadata"]["deletionTimestamp"]
    assert deleting.body["metadata"]["finalizers"] == [KOPF_FINALIZER]
    assert calls.deleted == ["w1"]
    assert [e["type"] for e in events] == ["MODIFIED"] * (len(events) - 1) + ["DELETED"]
    assert KOPF_FINALIZER in _finalizers(events[0])
    assert _finalizers(events[-1]) == []
    assert gone.status == 404
    assert calls.created == ["w1"]


async def test_kopf_posts_events_for_its_handlers(
    server: EmbeddedApiServer, caplog: pytest.LogCaptureFixture,
) -> None:
    async with (
        running_operator(server, caplog) as calls,
        rest_client(server.url, server.token) as api,
    ):
        reply = await api.post(widgets_path(), widget("w1", size=3))
        assert reply.status == 201, reply.body
        uid = reply.body["metadata"]["uid"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while True:
            listed = await api.get("/api/v1/namespaces/default/events")
            assert listed.status == 200, listed.body
            mine = [e for e in listed.body["items"] if e["involvedObject"].get("uid") == uid]
            if mine:
                break
            assert loop.time() < deadline, "kopf posted no event for the widget"
            await asyncio.sleep(0.05)
    assert calls.created == ["w1"]
    [event] = mine
    assert event["type"] == "Normal"
    assert event["reason"] == "Sized"
    assert event["message"] == "w1 has size 3"
    assert event["involvedObject"]["kind"] == "Widget"
    assert event["involvedObject"]["apiVersion"] == "example.com/v1"
    assert event["involvedObject"]["name"] == "w1"
    assert event["involvedObject"]["namespace"] == "default"

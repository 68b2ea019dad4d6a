"""`StatusWriter` and `retry_on_conflict` against the embedded API server, over HTTP."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import KubeClient, WatchEvent, WatchOptions
from controllerkit.conditions import set_condition
from controllerkit.errors import Conflict, Invalid
from controllerkit.meta import JSONObject, resource_version
from controllerkit.status import ConflictBackoff, StatusWriter, merge_patch, retry_on_conflict

from ..apiserver.manifests import widget
from .conftest import WIDGET

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def with_condition(obj: JSONObject, type: str, status: str, reason: str) -> JSONObject:
    """The object's status with one condition set (a copy; `obj` is left as read)."""
    new_status = dict(obj.get("status") or {})
    conditions = [dict(c) for c in new_status.get("conditions") or ()]
    set_condition(conditions, {"type": type, "status": status, "reason": reason}, now=T0)
    new_status["conditions"] = conditions
    return new_status


async def created(kube: KubeClient, name: str = "w1") -> JSONObject:
    return await kube.create(WIDGET, widget(name, size=2))


@pytest.mark.parametrize("method", ["patch", "update"])
async def test_status_write_changes_status_and_nothing_else(kube: KubeClient,
                                                            method: str) -> None:
    obj = await created(kube)
    write = getattr(StatusWriter(kube, field_manager="widget-controller"), method)
    stored = await write(WIDGET, obj, {"phase": "SYNCING", "observedGeneration": 1})
    assert stored["status"] == {"phase": "SYNCING", "observedGeneration": 1}
    assert stored["spec"] == obj["spec"]
    assert stored["metadata"]["generation"] == obj["metadata"]["generation"]
    assert int(resource_version(stored)) > int(resource_version(obj))


async def test_a_spec_change_cannot_travel_through_a_status_patch(kube: KubeClient) -> None:
    obj = await created(kube)
    tampered = {**obj, "spec": {"size": 99},
                "metadata": {**obj["metadata"], "labels": {"sneaky": "yes"}}}
    stored = await StatusWriter(kube).patch(WIDGET, tampered, {"phase": "RUNNING"})
    assert stored["spec"]["size"] == 2
    assert "labels" not in stored["metadata"]
    assert stored["status"] == {"phase": "RUNNING"}


async def test_the_server_refuses_a_spec_change_through_a_status_update(
    kube: KubeClient,
) -> None:
    obj = await created(kube)
    tampered = {**obj, "spec": {"size": 99}}
    with pytest.raises(Invalid):
        await StatusWriter(kube).update(WIDGET, tampered, {"phase": "RUNNING"})
    assert (await kube.get(WIDGET, "w1", namespace="default"))["spec"]["size"] == 2


async def test_a_write_without_the_resource_version_read_is_refused_before_sending(
    kube: KubeClient, server: EmbeddedApiServer,
) -> None:
    obj = await created(kube)
    server.engine.requests.clear()
    unread = {**obj, "metadata": {"name": "w1", "namespace": "default"}}
    with pytest.raises(ValueError, match="resourceVersion"):
        await StatusWriter(kube).patch(WIDGET, unread, {"phase": "RUNNING"})
    assert server.engine.requests.count("patch", "widgets") == 0


@pytest.mark.parametrize("method", ["patch", "update"])
async def test_a_write_that_changes_nothing_sends_no_request(
    kube: KubeClient, server: EmbeddedApiServer, method: str,
) -> None:
    writer = StatusWriter(kube)
    obj = await writer.patch(WIDGET, await created(kube), with_condition({}, "Ready", "True", "OK"))
    server.engine.requests.clear()
    again = await getattr(writer, method)(WIDGET, obj, with_condition(obj, "Ready", "True", "OK"))
    assert again == obj
    assert server.engine.requests.verbs() == {}
    await getattr(writer, method)(WIDGET, obj, with_condition(obj, "Ready", "False", "Down"))
    assert sum(server.engine.requests.verbs().values()) == 1


@pytest.mark.parametrize("method", ["patch", "update"])
async def test_racing_writers_get_the_same_conflict_every_time(kube: KubeClient,
                                                               method: str) -> None:
    obj = await created(kube)
    sent = resource_version(obj)
    writer_a, writer_b = StatusWriter(kube), StatusWriter(kube)
    await getattr(writer_a, method)(WIDGET, obj, with_condition(obj, "Ready", "True", "OK"))
    errors = []
    for _ in range(2):
        with pytest.raises(Conflict) as caught:
            await getattr(writer_b, method)(WIDGET, obj,
                                            with_condition(obj, "Synced", "True", "Done"))
        errors.append(caught.value)
    for error in errors:
        assert (type(error), error.code, error.kind, error.namespace, error.name,
                error.resource_version) == (Conflict, 409, "Widget", "default", "w1", sent)
    assert str(errors[0]) == str(errors[1])
    assert f"resourceVersion {sent}" in str(errors[0])


async def test_patch_and_update_conflicts_look_the_same(kube: KubeClient) -> None:
    obj = await created(kube)
    await StatusWriter(kube).patch(WIDGET, obj, {"phase": "PENDING"})
    messages = []
    for method in ("patch", "update"):
        with pytest.raises(Conflict) as caught:
            await getattr(StatusWriter(kube), method)(WIDGET, obj, {"phase": "RUNNING"})
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


async def test_retry_on_conflict_converges_without_losing_a_condition(kube: KubeClient) -> None:
    await created(kube)
    both_read = asyncio.Barrier(2)
    calls: dict[str, int] = {"Ready": 0, "Synced": 0}
    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)

    async def add(type: str) -> JSONObject:
        async def write() -> JSONObject:
            calls[type] += 1
            obj = await kube.get(WIDGET, "w1", namespace="default")
            if calls[type] == 1:
                await both_read.wait()  # both writers hold the same resourceVersion
            return await StatusWriter(kube).patch(WIDGET, obj,
                                                  with_condition(obj, type, "True", "OK"))

        return await retry_on_conflict(write, attempts=4, sleep=record,
                                       backoff=ConflictBackoff(rng=random.Random(7)))

    await asyncio.gather(add("Ready"), add("Synced"))
    final = await kube.get(WIDGET, "w1", namespace="default")
    conditions = final["status"]["conditions"]
    assert {c["type"] for c in conditions} == {"Ready", "Synced"}
    assert sorted(calls.values()) == [1, 2]
    assert len(delays) == 1 and 0.01 <= delays[0] <= 0.015


async def test_retry_on_conflict_is_bounded_and_reraises_the_conflict(kube: KubeClient) -> None:
    stale = await created(kube)
    await StatusWriter(kube).patch(WIDGET, stale, {"phase": "PENDING"})
    delays: list[float] = []
    attempts = 0

    async def record(delay: float) -> None:
        delays.append(delay)

    async def write_from_a_stale_read() -> JSONObject:
        nonlocal attempts
        attempts += 1
        return await StatusWriter(kube).patch(WIDGET, stale, {"phase": "RUNNING"})

    backoff = ConflictBackoff(initial=0.1, factor=2.0, maximum=0.3, jitter=0.5,
                              rng=random.Random(1))
    with pytest.raises(Conflict) as caught:
        await retry_on_conflict(write_from_a_stale_read, attempts=4, backoff=backoff,
                                sleep=record)
    assert attempts == 4 and caught.value.resource_version == resource_version(stale)
    bases = [0.1, 0.2, 0.3]
    assert len(delays) == 3
    assert all(base <= d <= base * 1.5 for base, d in zip(bases, delays, strict=True))


async def test_retry_on_conflict_does_not_retry_other_errors() -> None:
    attempts = 0

    async def broken() -> None:
        nonlocal attempts
        attempts += 1
        raise Invalid("bad status")

    with pytest.raises(Invalid):
        await retry_on_conflict(broken, attempts=5)
    assert attempts == 1


async def test_every_accepted_write_emits_exactly_one_modified_event(kube: KubeClient) -> None:
    obj = await created(kube)
    events: list[WatchEvent] = []

    async def collect() -> None:
        options = WatchOptions(resource_version=resource_version(obj), allow_bookmarks=False)
        async for event in kube.watch(WIDGET, options, namespace="default"):
            if event.type == "ADDED" and event.object["metadata"]["name"] == "sentinel":
                return
            events.append(event)

    watcher = asyncio.create_task(collect())
    writer = StatusWriter(kube)
    written: list[str] = []
    current = obj
    for index, phase in enumerate(["PENDING", "PENDING", "SYNCING", "SYNCING", "RUNNING"]):
        method = writer.patch if index % 2 == 0 else writer.update
        after = await method(WIDGET, current, {**(current.get("status") or {}), "phase": phase})
        if after is not current and resource_version(after) != resource_version(current):
            written.append(resource_version(after))
        current = after
    await created(kube, "sentinel")
    await asyncio.wait_for(watcher, 10)
    assert [e.type for e in events] == ["MODIFIED"] * 3
    assert [e.resource_version for e in events] == written
    assert [e.object["status"]["phase"] for e in events] == ["PENDING", "SYNCING", "RUNNING"]


@pytest.mark.parametrize(
    ("current", "desired", "patch"),
    [
        ({"a": 1}, {"a": 1}, {}),
        ({"a": 1}, {"a": 2}, {"a": 2}),
        ({"a": 1, "b": 2}, {"a": 1}, {"b": None}),
        ({"n": {"x": 1, "y": 2}}, {"n": {"x": 1, "y": 3}}, {"n": {"y": 3}}),
        ({"l": [1, 2]}, {"l": [2]}, {"l": [2]}),
        ({}, {"n": {"x": 1}}, {"n": {"x": 1}}),
    ],
    ids=["equal", "scalar", "removed", "nested", "list-replaced", "added-object"],
)
def test_merge_patch_sends_only_what_differs(current: dict[str, Any], desired: dict[str, Any],
                                             patch: dict[str, Any]) -> None:
    assert merge_patch(current, desired) == patch


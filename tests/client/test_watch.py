"""Watches: events from a resourceVersion, bookmarks, selectors, large objects, stream ends."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import KubeClient, WatchEvent, WatchOptions
from controllerkit.meta import CONFIG_MAP, resource_version

from .kinds import configmap


async def collect(
    kube: KubeClient, options: WatchOptions, count: int, *, namespace: str | None = "default"
) -> list[WatchEvent]:
    """The first `count` non-bookmark events."""
    events: list[WatchEvent] = []
    async with aclosing(kube.watch(CONFIG_MAP, options, namespace=namespace)) as stream:
        async for event in stream:
            if event.type != "BOOKMARK":
                events.append(event)
            if len(events) == count:
                break
    return events


async def test_watch_from_a_resource_version_sees_only_later_changes_in_order(
    kube: KubeClient,
) -> None:
    before = await kube.create(CONFIG_MAP, configmap("before"))
    created = await kube.create(CONFIG_MAP, configmap("after", v="1"))
    modified = await kube.patch(CONFIG_MAP, "after", {"data": {"v": "2"}}, namespace="default")
    await kube.delete(CONFIG_MAP, "after", namespace="default")

    events = await collect(kube, WatchOptions(resource_version=resource_version(before)), 3)

    assert [(e.type, e.object["metadata"]["name"]) for e in events] == [
        ("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "after"),
    ]
    assert events[0].resource_version == resource_version(created)
    assert events[1].object["data"] == {"v": "2"}
    assert events[1].resource_version == resource_version(modified)


async def test_watch_sees_changes_made_while_it_is_open(kube: KubeClient) -> None:
    start = await kube.list(CONFIG_MAP, namespace="default")
    options = WatchOptions(resource_version=start.resource_version)
    watching = asyncio.create_task(collect(kube, options, 2))
    await kube.create(CONFIG_MAP, configmap("live-1"))
    await kube.create(CONFIG_MAP, configmap("live-2"))
    events = await asyncio.wait_for(watching, 10)
    assert [e.object["metadata"]["name"] for e in events] == ["live-1", "live-2"]


async def test_watch_without_resource_version_starts_with_current_objects(
    kube: KubeClient,
) -> None:
    await kube.create(CONFIG_MAP, configmap("existing"))
    (event,) = await collect(kube, WatchOptions(), 1)
    assert (event.type, event.object["metadata"]["name"]) == ("ADDED", "existing")


async def test_quiet_watch_receives_bookmarks_with_the_current_resource_version(
    kube: KubeClient,
) -> None:
    latest = await kube.create(CONFIG_MAP, configmap("c"))
    options = WatchOptions(resource_version=resource_version(latest))
    async with aclosing(kube.watch(CONFIG_MAP, options, namespace="default")) as stream:
        event = await anext(stream)
    assert event.type == "BOOKMARK"
    assert event.resource_version == resource_version(latest)


async def test_send_initial_events_ends_the_initial_state_with_a_marked_bookmark(
    kube: KubeClient,
) -> None:
    await kube.create(CONFIG_MAP, configmap("a"))
    await kube.create(CONFIG_MAP, configmap("b"))
    options = WatchOptions(send_initial_events=True)
    seen: list[WatchEvent] = []
    async with aclosing(kube.watch(CONFIG_MAP, options, namespace="default")) as stream:
        async for event in stream:
            seen.append(event)
            if event.is_initial_events_end:
                break
    assert sorted(e.object["metadata"]["name"] for e in seen[:-1]) == ["a", "b"]
    assert {e.type for e in seen[:-1]} == {"ADDED"}


async def test_label_selector_filters_watch_events(kube: KubeClient) -> None:
    start = await kube.list(CONFIG_MAP, namespace="default")
    await kube.create(CONFIG_MAP, configmap("plain"))
    labelled = configmap("labelled")
    labelled["metadata"]["labels"] = {"app": "web"}
    await kube.create(CONFIG_MAP, labelled)
    options = WatchOptions(resource_version=start.resource_version, label_selector="app=web")
    (event,) = await collect(kube, options, 1)
    assert event.object["metadata"]["name"] == "labelled"


async def test_watch_across_all_namespaces(kube: KubeClient) -> None:
    start = await kube.list(CONFIG_MAP)
    await kube.create(CONFIG_MAP, configmap("x", namespace="kube-system"))
    await kube.create(CONFIG_MAP, configmap("y", namespace="default"))
    options = WatchOptions(resource_version=start.resource_version)
    events = await collect(kube, options, 2, namespace=None)
    assert [e.object["metadata"]["namespace"] for e in events] == ["kube-system", "default"]


async def test_objects_larger_than_a_line_buffer_are_decoded(kube: KubeClient) -> None:
    start = await kube.list(CONFIG_MAP, namespace="default")
    big = "x" * 900_000  # one event line of ~900 KB, beyond fixed-size line readers
    await kube.create(CONFIG_MAP, configmap("big", blob=big))
    (event,) = await collect(kube, WatchOptions(resource_version=start.resource_version), 1)
    assert event.object["data"]["blob"] == big


async def test_server_timeout_ends_the_stream_normally(kube: KubeClient) -> None:
    latest = await kube.create(CONFIG_MAP, configmap("c"))
    options = WatchOptions(
        resource_version=resource_version(latest), timeout_seconds=1, allow_bookmarks=False
    )
    events = [event async for event in kube.watch(CONFIG_MAP, options, namespace="default")]
    assert events == []


async def test_dropped_stream_ends_iteration_and_resumes_from_the_last_resource_version(
    server: EmbeddedApiServer, kube: KubeClient
) -> None:
    start = await kube.list(CONFIG_MAP, namespace="default")
    for index in range(5):
        await kube.create(CONFIG_MAP, configmap(f"c{index}"))
    server.engine.faults.drop_watch_every = 2

    names: list[str] = []
    last = start.resource_version
    while len(names) < 5:
        options = WatchOptions(resource_version=last, allow_bookmarks=False, stall_timeout=5)
        async with aclosing(kube.watch(CONFIG_MAP, options, namespace="default")) as stream:
            async for event in stream:
                names.append(event.object["metadata"]["name"])
                last = event.resource_version
                if len(names) == 5:
                    break
    assert names == [f"c{index}" for index in range(5)]
    assert server.engine.requests.count("watch", "configmaps") == 3


async def test_closing_the_client_ends_an_open_watch(server: EmbeddedApiServer) -> None:
    kube = KubeClient.from_url(server.url)
    await kube.open()
    latest = await kube.create(CONFIG_MAP, configmap("c"))
    options = WatchOptions(resource_version=resource_version(latest))
    watching = asyncio.Event()
    received: list[WatchEvent] = []

    async def consume() -> None:
        async for event in kube.watch(CONFIG_MAP, options, namespace="default"):
            received.append(event)
            watching.set()

    consumer = asyncio.create_task(consume())
    await asyncio.wait_for(watching.wait(), 5)
    await kube.close()
    await asyncio.wait_for(consumer, 5)
    assert received and {event.type for event in received} == {"BOOKMARK"}


async def test_watch_on_a_closed_client_is_refused(server: EmbeddedApiServer) -> None:
    kube = KubeClient.from_url(server.url)
    with pytest.raises(RuntimeError, match="not open"):
        await anext(kube.watch(CONFIG_MAP, WatchOptions(), namespace="default"))

"""When a cache has reached a resourceVersion: without ordering resourceVersions (they are
opaque), by having been at exactly it, or by a list of the current state begun after the first
ask about it."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.apiserver.errors import expired
from controllerkit.cache import Reflector, SharedInformer, StaleCache, Store
from controllerkit.cache.freshness import HISTORY
from controllerkit.client import KubeClient
from controllerkit.meta import CONFIG_MAP, JSONObject, resource_version
from controllerkit.testing import eventually

from .support import FAST, config_map, server_resource_version

SELECTED = "app=demo"
PAGINATED = dataclasses.replace(FAST, streaming_list=False)


def thing(name: str, rv: str) -> JSONObject:
    return {"apiVersion": "v1", "kind": "Thing",
            "metadata": {"name": name, "namespace": "default", "resourceVersion": rv,
                         "uid": f"uid-{name}"}}


# -- the store ---------------------------------------------------------------------------------


def test_a_resource_version_the_store_has_been_at_is_reached() -> None:
    store = Store()
    store.apply("ADDED", thing("a", "5"))
    store.set_resource_version("9")  # a bookmark
    store.replace([thing("a", "12")], "14")  # a list
    assert all(store.has_reached(rv) for rv in ("5", "9", "14"))


def test_resource_versions_are_not_ordered() -> None:
    store = Store()
    store.set_resource_version("10")
    assert not store.has_reached("9")
    assert not store.has_reached("11")


def test_any_string_is_a_resource_version_but_the_empty_one() -> None:
    store = Store()
    store.set_resource_version("etcd/7f:3")
    assert store.has_reached("etcd/7f:3")
    assert not store.has_reached("etcd/7f:2")
    with pytest.raises(ValueError, match="empty resourceVersion"):
        store.has_reached("")


def test_a_list_begun_after_the_first_ask_reaches_the_version() -> None:
    store = Store()
    store.replace([], "100")
    assert not store.has_reached("written-elsewhere")
    start = store.begin_list()
    assert not store.has_reached("written-elsewhere")  # requested, not applied yet
    store.replace([thing("a", "101")], "102")
    store.finish_list(start)
    assert store.has_reached("written-elsewhere")


def test_a_list_begun_before_the_first_ask_does_not_reach_the_version() -> None:
    store = Store()
    start = store.begin_list()
    assert not store.has_reached("written-elsewhere")
    store.replace([], "100")
    store.finish_list(start)
    assert not store.has_reached("written-elsewhere")
    # The next list began after the ask.
    store.finish_list(store.begin_list())
    assert store.has_reached("written-elsewhere")


def test_a_version_asked_about_stays_reached_while_the_history_moves_on() -> None:
    store = Store()
    store.set_resource_version("asked-about")
    store.set_resource_version("forgotten")
    for i in range(2 * HISTORY):
        store.set_resource_version(f"later-{i}")
        if i % 100 == 0:
            assert store.has_reached("asked-about")
    assert store.has_reached("asked-about")
    assert not store.has_reached("forgotten")


async def test_a_waiter_wakes_when_the_store_is_at_its_version() -> None:
    store = Store()
    store.set_resource_version("1")
    waiter = asyncio.ensure_future(store.wait_for_resource_version("3", timeout=5))
    await asyncio.sleep(0)  # lets the waiter register
    store.set_resource_version("4")
    await asyncio.sleep(0)
    assert not waiter.done()
    store.apply("ADDED", thing("a", "3"))
    await waiter


async def test_a_waiter_wakes_when_a_list_begun_after_its_ask_is_applied() -> None:
    store = Store()
    waiter = asyncio.ensure_future(store.wait_for_resource_version("elsewhere", timeout=5))
    await asyncio.sleep(0)
    start = store.begin_list()
    late = asyncio.ensure_future(store.wait_for_resource_version("later", timeout=0.05))
    store.replace([], "7")
    store.finish_list(start)
    await waiter
    with pytest.raises(StaleCache):
        await late  # asked after the list began: the list may predate its write


async def test_a_wait_times_out_with_what_the_cache_saw() -> None:
    store = Store()
    store.set_resource_version("5")
    with pytest.raises(StaleCache) as caught:
        await store.wait_for_resource_version("6", timeout=0.01)
    assert (caught.value.wanted, caught.value.seen) == ("6", "5")
    assert "did not reach resourceVersion 6" in str(caught.value)


# -- through the reflector, against the embedded API server -------------------------------------


async def write_outside_the_selection(kube: KubeClient) -> str:
    """The resourceVersion of a write the selection never shows; the server moves past it, so
    no list, event or bookmark ever carries it."""
    written = await kube.create(CONFIG_MAP, config_map("outside"))
    await kube.create(CONFIG_MAP, config_map("after"))
    return resource_version(written)


@asynccontextmanager
async def running(reflector: Reflector) -> AsyncIterator[Reflector]:
    task = asyncio.create_task(reflector.run())
    try:
        yield reflector
    finally:
        task.cancel()
        await asyncio.wait({task})


@pytest.mark.parametrize("streaming", [True, False], ids=["streaming-list", "paginated-list"])
async def test_an_informer_whose_first_list_began_after_the_ask_has_reached_the_write(
    server: EmbeddedApiServer, kube: KubeClient, streaming: bool
) -> None:
    outside = await write_outside_the_selection(kube)
    options = dataclasses.replace(FAST, streaming_list=streaming)
    informer = SharedInformer(kube, CONFIG_MAP, label_selector=SELECTED, options=options)
    assert not informer.store.has_reached(outside)
    waiter = asyncio.ensure_future(informer.store.wait_for_resource_version(outside, timeout=10))
    async with informer:
        await waiter
        assert informer.store.has_reached(outside)
        assert informer.store.resource_version != outside  # never at it, and yet reached
        assert informer.store.list() == []


async def test_a_relist_from_the_last_resource_version_does_not_reach_a_write_asked_about(
    server: EmbeddedApiServer, kube: KubeClient
) -> None:
    reflector = Reflector(kube, CONFIG_MAP, store=Store(), label_selector=SELECTED,
                          options=PAGINATED)
    async with running(reflector):
        await asyncio.wait_for(reflector.wait_for_sync(), 10)
    outside = await write_outside_the_selection(kube)
    assert not reflector.store.has_reached(outside)
    server.engine.faults.expire_next_watches = 1
    async with running(reflector):
        await eventually(lambda: reflector.stats.relists == 1)
        await reflector.store.wait_for_resource_version(server_resource_version(server), 10)
    # Data "not older than" the store's version may predate the write.
    assert not reflector.store.has_reached(outside)


async def test_a_relist_of_the_current_state_reaches_a_write_asked_about_before_it(
    server: EmbeddedApiServer, kube: KubeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    reflector = Reflector(kube, CONFIG_MAP, store=Store(), label_selector=SELECTED,
                          options=PAGINATED)
    async with running(reflector):
        await asyncio.wait_for(reflector.wait_for_sync(), 10)
    serve_list = server.engine.list_page

    def compacted(*args: Any, resource_version: str, **kwargs: Any) -> Any:
        if resource_version:
            raise expired(f"too old resource version: {resource_version}")
        return serve_list(*args, resource_version=resource_version, **kwargs)

    monkeypatch.setattr(server.engine, "list_page", compacted)
    outside = await write_outside_the_selection(kube)
    assert not reflector.store.has_reached(outside)
    server.engine.faults.expire_next_watches = 1
    async with running(reflector):
        await reflector.store.wait_for_resource_version(outside, timeout=10)
    assert reflector.stats.relists == 1

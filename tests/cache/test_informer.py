"""SharedInformer and InformerFactory against the embedded API server.

Tests taking the `compact` fixture run with both kinds of cache and expect the same results."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import anyio
import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.cache import (
    NAMESPACE_INDEX,
    CacheSyncTimeout,
    EventHandlerFuncs,
    InformerFactory,
    SharedInformer,
    StaleCache,
    drop_managed_fields,
)
from controllerkit.client import KubeClient, PatchType
from controllerkit.clock import FakeClock
from controllerkit.meta import CONFIG_MAP, NAMESPACE, JSONObject, resource_version
from controllerkit.testing import eventually

from .support import (
    FAST,
    EventRecorder,
    config_map,
    server_resource_version,
)


async def caught_up(informer: SharedInformer, server: EmbeddedApiServer) -> None:
    await informer.store.wait_for_resource_version(server_resource_version(server), timeout=10)


async def test_handlers_see_adds_updates_and_deletes_in_order(
    server: EmbeddedApiServer, kube: KubeClient, compact: bool
) -> None:
    recorder = EventRecorder()
    informer = SharedInformer(kube, CONFIG_MAP, compact=compact, namespace="default", options=FAST)
    informer.add_handler(recorder)
    async with informer:
        await informer.wait_for_sync(timeout=10)
        created = await kube.create(CONFIG_MAP, config_map("cm", v="1"))
        updated = await kube.patch(CONFIG_MAP, "cm", {"data": {"v": "2"}}, namespace="default")
        await kube.delete(CONFIG_MAP, "cm", namespace="default")
        await caught_up(informer, server)
    assert recorder.summary() == [("add", ("default", "cm")), ("update", ("default", "cm")),
                                  ("delete", ("default", "cm"))]
    add, update, delete = recorder.events
    assert add.object == created
    assert update.old == created and update.object == updated
    assert delete.object["data"] == {"v": "2"} and not delete.tombstone


async def test_a_handler_added_after_sync_first_gets_the_cached_state(
    server: EmbeddedApiServer, kube: KubeClient, compact: bool
) -> None:
    for name in ("a", "b"):
        await kube.create(CONFIG_MAP, config_map(name))
    async with SharedInformer(kube, CONFIG_MAP, compact=compact, namespace="default",
                              options=FAST) as informer:
        await informer.wait_for_sync(timeout=10)
        late = EventRecorder()
        informer.add_handler(late)
        assert sorted(late.summary()) == [("add", ("default", "a")), ("add", ("default", "b"))]
        await kube.create(CONFIG_MAP, config_map("c"))
        await caught_up(informer, server)
    assert late.summary()[-1] == ("add", ("default", "c"))


async def test_a_raising_handler_is_logged_and_the_informer_keeps_going(
    server: EmbeddedApiServer, kube: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(obj: JSONObject) -> None:
        raise RuntimeError(f"handler bug on {obj['metadata']['name']}")

    recorder = EventRecorder()
    informer = SharedInformer(kube, CONFIG_MAP, namespace="default", options=FAST)
    informer.add_handler(EventHandlerFuncs(add=explode))
    informer.add_handler(recorder)
    with caplog.at_level(logging.ERROR, logger="controllerkit.cache.informer"):
        async with informer:
            await informer.wait_for_sync(timeout=10)
            for name in ("a", "b"):
                await kube.create(CONFIG_MAP, config_map(name))
            await caught_up(informer, server)
            assert informer.is_running
    assert informer.handler_errors == 2
    assert "handler bug on a" in caplog.text
    assert recorder.summary() == [("add", ("default", "a")), ("add", ("default", "b"))]


async def test_an_async_handler_is_reported_instead_of_silently_dropped(
    server: EmbeddedApiServer, kube: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    class AsyncHandler:
        async def on_add(self, obj: JSONObject) -> None: ...

    informer = SharedInformer(kube, CONFIG_MAP, namespace="default", options=FAST)
    informer.add_handler(AsyncHandler())  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="controllerkit.cache.informer"):
        async with informer:
            await informer.wait_for_sync(timeout=10)
            await kube.create(CONFIG_MAP, config_map("a"))
            await caught_up(informer, server)
    assert informer.handler_errors == 1
    assert "handlers must be synchronous" in caplog.text


async def test_removed_handlers_get_nothing_more(
    server: EmbeddedApiServer, kube: KubeClient
) -> None:
    kept, removed = EventRecorder(), EventRecorder()
    async with SharedInformer(kube, CONFIG_MAP, namespace="default", options=FAST) as informer:
        informer.add_handler(kept)
        registration = informer.add_handler(removed)
        await informer.wait_for_sync(timeout=10)
        await kube.create(CONFIG_MAP, config_map("a"))
        await caught_up(informer, server)
        registration.remove()
        assert not registration.active
        await kube.create(CONFIG_MAP, config_map("b"))
        await caught_up(informer, server)
    assert [key for _, key in kept.summary()] == [("default", "a"), ("default", "b")]
    assert [key for _, key in removed.summary()] == [("default", "a")]


async def test_resync_redelivers_every_cached_object_as_an_update(
    server: EmbeddedApiServer, kube: KubeClient, compact: bool
) -> None:
    for name in ("a", "b"):
        await kube.create(CONFIG_MAP, config_map(name))
    clock = FakeClock()
    recorder = EventRecorder()
    informer = SharedInformer(kube, CONFIG_MAP, compact=compact, namespace="default",
                              resync_period=30, clock=clock, options=FAST)
    informer.add_handler(recorder)
    async with informer:
        await informer.wait_for_sync(timeout=10)
        await eventually(lambda: clock.next_deadline == 30.0)
        assert len(recorder.events) == 2
        clock.advance(29.9)
        await asyncio.sleep(0)
        assert len(recorder.events) == 2
        clock.advance(0.1)
        await eventually(lambda: len(recorder.events) == 4)
        resynced = recorder.events[2:]
        assert {e.key[1] for e in resynced} == {"a", "b"}
        assert all(e.type == "update" and e.old is e.object for e in resynced)
        clock.advance(30)
        await eventually(lambda: len(recorder.events) == 6)


async def test_indexes_answer_from_the_cache(
    server: EmbeddedApiServer, kube: KubeClient, compact: bool
) -> None:
    await kube.create(NAMESPACE, {"metadata": {"name": "other"}})
    owned = [("a", "default", "w1", "web"), ("b", "default", "w1", "db"),
             ("c", "other", "w2", "web")]
    for name, namespace, owner, app in owned:
        manifest = config_map(name, namespace, owner=owner)
        manifest["metadata"]["labels"] = {"app": app}
        await kube.create(CONFIG_MAP, manifest)
    informer = SharedInformer(kube, CONFIG_MAP, compact=compact, options=FAST)
    informer.add_index("owner", lambda obj: [obj.get("data", {}).get("owner", "")])
    async with informer:
        await informer.wait_for_sync(timeout=10)
        informer.add_index("app", lambda obj: [obj["metadata"].get("labels", {}).get("app", "")])

        def names(index: str, value: str) -> set[str]:
            return {o["metadata"]["name"] for o in informer.store.by_index(index, value)}

        assert names("owner", "w1") == {"a", "b"}
        assert names("app", "web") == {"a", "c"}
        assert names(NAMESPACE_INDEX, "other") == {"c"}
        await kube.patch(CONFIG_MAP, "b", {"metadata": {"labels": {"app": "web"}}},
                         namespace="default")
        await caught_up(informer, server)
        assert names("app", "web") == {"a", "b", "c"}
        assert names("app", "db") == set()


async def test_read_your_own_writes(
    server: EmbeddedApiServer, kube: KubeClient, compact: bool
) -> None:
    await kube.create(CONFIG_MAP, config_map("cm", v="0"))
    async with SharedInformer(kube, CONFIG_MAP, compact=compact, namespace="default",
                              options=FAST) as informer:
        await informer.wait_for_sync(timeout=10)
        for v in range(1, 6):
            written = await kube.patch(CONFIG_MAP, "cm", {"data": {"v": str(v)}},
                                       namespace="default")
            await informer.store.wait_for_resource_version(resource_version(written), timeout=5)
            cached = informer.store.get(("default", "cm"))
            assert cached is not None and cached["data"]["v"] == str(v)
    # A stopped informer never reaches a later write: the wait is bounded.
    written = await kube.patch(CONFIG_MAP, "cm", {"data": {"v": "late"}}, namespace="default")
    with pytest.raises(StaleCache):
        await informer.store.wait_for_resource_version(resource_version(written), timeout=0.05)


async def test_transform_drops_fields_before_caching(
    server: EmbeddedApiServer, kube: KubeClient, compact: bool
) -> None:
    applied = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"},
               "data": {"a": "b"}}
    await kube.patch(CONFIG_MAP, "applied", applied, namespace="default",
                     patch_type=PatchType.APPLY, field_manager="test")
    informer = SharedInformer(kube, CONFIG_MAP, compact=compact, namespace="default",
                              transform=drop_managed_fields, options=FAST)
    async with informer:
        await informer.wait_for_sync(timeout=10)
        cached = informer.store.get(("default", "applied"))
    assert cached is not None and cached["data"] == {"a": "b"}
    assert "managedFields" not in cached["metadata"]
    served = await kube.get(CONFIG_MAP, "applied", namespace="default")
    assert "managedFields" in served["metadata"]


async def test_wait_for_sync_reports_the_reason_it_cannot_sync(kube: KubeClient) -> None:
    from controllerkit.meta import ResourceKind

    missing = ResourceKind("example.com", "v1", "Gadget", "gadgets")
    async with SharedInformer(kube, missing, options=FAST) as informer:
        with pytest.raises(CacheSyncTimeout) as caught:
            await informer.wait_for_sync(timeout=0.3)
    assert "Gadget.example.com" in str(caught.value)
    assert "404" in str(caught.value)


async def test_a_compact_factory_gives_every_informer_a_compact_cache(
    server: EmbeddedApiServer, kube: KubeClient
) -> None:
    await kube.create(CONFIG_MAP, config_map("cm", v="1"))
    async with InformerFactory(kube, options=FAST, compact=True) as factory:
        informers = [factory.informer(CONFIG_MAP, namespace="default"),
                     factory.informer(CONFIG_MAP)]
        await factory.wait_for_sync(timeout=10)
        for informer in informers:
            assert informer.store.compact
            cached = informer.store.get(("default", "cm"))
            assert cached is not None and cached["data"] == {"v": "1"}
            assert informer.store.get(("default", "cm")) is not cached


async def test_factory_shares_one_informer_per_kind_and_scope(
    server: EmbeddedApiServer, kube: KubeClient
) -> None:
    async with InformerFactory(kube, options=FAST) as factory:
        first = factory.informer(CONFIG_MAP, namespace="default")
        assert factory.informer(CONFIG_MAP, namespace="default") is first
        other = factory.informer(CONFIG_MAP, namespace="default", label_selector="app=x")
        assert other is not first
        await factory.wait_for_sync(timeout=10)
        assert first.is_running and other.is_running
        watches = server.engine.requests.count("watch", "configmaps")
    assert watches == 2
    assert not first.is_running and not other.is_running


async def test_an_informer_can_be_stopped_and_removed_at_run_time(
    server: EmbeddedApiServer, kube: KubeClient, tmp_path: object
) -> None:
    recorder, survivor = EventRecorder(), EventRecorder()
    async with InformerFactory(kube, options=FAST) as factory:
        removed = factory.informer(CONFIG_MAP, namespace="default")
        kept = factory.informer(CONFIG_MAP)
        removed.add_handler(recorder)
        kept.add_handler(survivor)
        await factory.wait_for_sync(timeout=10)
        await kube.create(CONFIG_MAP, config_map("before"))
        await caught_up(removed, server)

        await factory.remove(removed)
        assert not removed.is_running
        assert factory.informers() == [kept]
        await kube.create(CONFIG_MAP, config_map("after"))
        await caught_up(kept, server)
        # Asking again gives a new informer, started at once.
        again = factory.informer(CONFIG_MAP, namespace="default")
        assert again is not removed
        await again.wait_for_sync(timeout=10)
        assert again.store.get(("default", "after")) is not None
    assert [key[1] for _, key in recorder.summary()] == ["before"]
    assert [key[1] for _, key in survivor.summary()] == ["before", "after"]
    assert removed.store.get(("default", "before")) is not None  # still readable


async def test_a_stopped_informer_resumes_where_it_stopped(
    server: EmbeddedApiServer, kube: KubeClient, compact: bool
) -> None:
    recorder = EventRecorder()
    informer = SharedInformer(kube, CONFIG_MAP, compact=compact, namespace="default", options=FAST)
    informer.add_handler(recorder)
    async with anyio.create_task_group() as tasks:
        await tasks.start(informer.run)
        await informer.wait_for_sync(timeout=10)
        informer.stop()
    await kube.create(CONFIG_MAP, config_map("while-stopped"))
    server.engine.requests.clear()
    async with anyio.create_task_group() as tasks:
        await tasks.start(informer.run)
        await caught_up(informer, server)
        informer.stop()
    assert recorder.summary() == [("add", ("default", "while-stopped"))]
    assert server.engine.requests.count("list", "configmaps") == 0
    assert all("sendInitialEvents" not in r.query for r in server.engine.requests.records)


@pytest.mark.parametrize("streaming", [True, False], ids=["streaming-list", "paginated-list"])
async def test_transform_runs_once_per_object_received(
    server: EmbeddedApiServer, kube: KubeClient, streaming: bool, compact: bool
) -> None:
    for index in range(7):
        await kube.create(CONFIG_MAP, config_map(f"c{index}"), namespace="default")
    seen: list[str] = []

    def counting(obj: JSONObject) -> JSONObject:
        seen.append(obj["metadata"]["name"])
        return obj

    options = dataclasses.replace(FAST, streaming_list=streaming, page_size=3)
    informer = SharedInformer(kube, CONFIG_MAP, compact=compact, namespace="default",
                              transform=counting, options=options)
    async with informer:
        await informer.wait_for_sync(timeout=10)
        assert sorted(seen) == [f"c{index}" for index in range(7)]
        await kube.create(CONFIG_MAP, config_map("live"), namespace="default")
        await caught_up(informer, server)
    assert sorted(seen) == sorted([f"c{index}" for index in range(7)] + ["live"])

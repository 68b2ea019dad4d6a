"""The Controller hooks sharding relies on: an ownership filter at enqueue and before each
reconcile, the keys in flight, cancelling them, and the keys of the primary cache."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from controllerkit.cache import InformerFactory
from controllerkit.client import KubeClient
from controllerkit.controller import Controller, ControllerBuilder
from controllerkit.meta import CONFIG_MAP, SECRET
from controllerkit.owners import set_controller_reference
from controllerkit.reconcile import Request, Result
from controllerkit.testing import eventually


def config_map(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default"}, "data": {}}


class Gated:
    """Counts reconciles; those of `blocked` keys wait for `gate` and note a cancellation."""

    def __init__(self, *blocked: str) -> None:
        self.blocked = set(blocked)
        self.gate = asyncio.Event()
        self.calls: Counter[str] = Counter()
        self.cancelled: list[str] = []

    async def reconcile(self, request: Request) -> Result:
        self.calls[request.name] += 1
        if request.name in self.blocked:
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.cancelled.append(request.name)
                raise
        return Result()


def build(informers: InformerFactory, reconciler: Gated) -> Controller:
    return ControllerBuilder(informers).for_(CONFIG_MAP, namespace="default").build(reconciler)


async def test_requests_the_filter_rejects_are_dropped_when_enqueued(kube: KubeClient) -> None:
    for name in ("theirs", "mine"):
        await kube.create(CONFIG_MAP, config_map(name), namespace="default")
    reconciler = Gated()
    async with InformerFactory(kube) as informers:
        controller = build(informers, reconciler)
        controller.set_ownership(lambda request: request.name != "theirs")
        async with controller:
            await eventually(lambda: reconciler.calls["mine"] == 1)
            assert len(controller.queue) == 0
    # "theirs" came first in the list: had it been queued, it would have gone first.
    assert reconciler.calls["theirs"] == 0


async def test_a_request_no_longer_owned_when_a_worker_takes_it_is_not_reconciled(
    kube: KubeClient,
) -> None:
    await kube.create(CONFIG_MAP, config_map("busy"), namespace="default")
    reconciler = Gated("busy")
    owned = {"busy", "queued"}
    async with InformerFactory(kube) as informers:
        controller = build(informers, reconciler)
        controller.set_ownership(lambda request: request.name in owned)
        async with controller:
            await eventually(lambda: reconciler.calls["busy"] == 1)
            controller.enqueue(Request("default", "queued"))  # waits: the one worker is busy
            owned.discard("queued")
            reconciler.gate.set()
            await eventually(lambda: controller.stats.not_owned == 1)
            assert len(controller.queue) == 0
    assert reconciler.calls["queued"] == 0


async def test_cancel_reconciles_ends_the_chosen_reconciles_and_the_worker_carries_on(
    kube: KubeClient,
) -> None:
    for name in ("moved", "kept"):
        await kube.create(CONFIG_MAP, config_map(name), namespace="default")
    reconciler = Gated("moved", "kept")
    async with InformerFactory(kube) as informers:
        controller = ControllerBuilder(informers).for_(CONFIG_MAP, namespace="default") \
            .with_options(max_concurrent_reconciles=2).build(reconciler)
        async with controller:
            both = {Request("default", "moved"), Request("default", "kept")}
            await eventually(lambda: controller.reconciling == both)

            cancelled = await controller.cancel_reconciles(lambda r: r.name == "moved")

            # Returned only once the reconcile had ended.
            assert cancelled == 1 and reconciler.cancelled == ["moved"]
            assert controller.reconciling == {Request("default", "kept")}
            assert controller.stats.results["cancelled"] == 1
            reconciler.gate.set()
            await eventually(lambda: controller.stats.results["success"] == 1)
            # The freed worker takes new work; the cancelled key is not retried.
            await kube.create(CONFIG_MAP, config_map("later"), namespace="default")
            await eventually(lambda: reconciler.calls["later"] == 1)
            assert reconciler.calls["moved"] == 1
            assert controller.queue.num_requeues(Request("default", "moved")) == 0


async def test_cancelling_the_controller_is_not_taken_for_a_handoff(kube: KubeClient) -> None:
    await kube.create(CONFIG_MAP, config_map("slow"), namespace="default")
    reconciler = Gated("slow")
    async with InformerFactory(kube) as informers:
        controller = build(informers, reconciler)
        running = asyncio.create_task(controller.run())
        await eventually(lambda: bool(controller.reconciling))
        handoff = asyncio.create_task(controller.cancel_reconciles(lambda _: True))
        await asyncio.sleep(0)
        running.cancel()
        await asyncio.wait({running, handoff})
    assert running.cancelled()
    assert handoff.result() == 1


async def test_primary_requests_are_the_keys_of_the_primary_cache_only(
    kube: KubeClient,
) -> None:
    owner = await kube.create(CONFIG_MAP, config_map("owner"), namespace="default")
    child: dict[str, Any] = {"metadata": {"name": "child", "namespace": "default"}}
    set_controller_reference(owner, child)
    await kube.create(SECRET, child, namespace="default")
    async with InformerFactory(kube) as informers:
        controller = (ControllerBuilder(informers).for_(CONFIG_MAP, namespace="default")
                      .owns(SECRET, namespace="default").build(Gated()))
        await informers.wait_for_sync(30)
        assert controller.primary_requests() == {Request("default", "owner")}


async def test_cancelling_one_reconcile_twice_still_spares_its_worker(kube: KubeClient) -> None:
    await kube.create(CONFIG_MAP, config_map("moved"), namespace="default")
    reconciler = Gated("moved")
    async with InformerFactory(kube) as informers:
        controller = build(informers, reconciler)
        async with controller:
            await eventually(lambda: bool(controller.reconciling))
            first = asyncio.create_task(controller.cancel_reconciles(lambda _: True))
            second = asyncio.create_task(controller.cancel_reconciles(lambda _: True))
            assert await first == await second == 1

            await kube.create(CONFIG_MAP, config_map("next"), namespace="default")
            await eventually(lambda: reconciler.calls["next"] == 1)
    assert controller.stats.results["cancelled"] == 1

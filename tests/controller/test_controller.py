"""Controller workers against the embedded API server: coalescing, retries, quarantine,
terminal errors, requeue_after, timeouts, owned objects and graceful stop."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta
from typing import Any

import anyio
import pytest

from controllerkit.cache import InformerFactory, Store
from controllerkit.client import KubeClient
from controllerkit.clock import FakeClock
from controllerkit.controller import (
    Controller,
    ControllerBuilder,
    QuarantinedItem,
    ReconcileHooks,
    ReconcileInfo,
)
from controllerkit.errors import Conflict
from controllerkit.meta import CONFIG_MAP, ResourceKind, resource_version
from controllerkit.owners import set_controller_reference
from controllerkit.reconcile import Request, Result, TerminalError
from controllerkit.testing import eventually
from controllerkit.workqueue import ItemExponentialFailureRateLimiter

from ..client.kinds import WIDGET

FAST_RETRIES = ItemExponentialFailureRateLimiter[Request](0.001, 0.004)


def config_map(name: str, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": data}


def widget(name: str, size: int = 1) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name},
            "spec": {"size": size}}


class Recorder:
    """Records each reconcile and the data it read; fails or blocks as a test asks."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: Counter[Request] = Counter()
        self.seen: dict[Request, list[dict[str, str]]] = {}
        self.gate: asyncio.Event | None = None
        self.requeue_after: timedelta | None = None

    async def reconcile(self, request: Request) -> Result:
        self.calls[request] += 1
        obj = self.store.get(request.key)
        data = dict(obj.get("data") or {}) if obj is not None else {}
        self.seen.setdefault(request, []).append(data)
        if self.gate is not None:
            await self.gate.wait()
        if data.get("fail") == "always":
            raise RuntimeError(f"cannot handle {request}")
        if data.get("valid") == "no":
            raise TerminalError(f"{request} has an invalid spec")
        if self.requeue_after is not None and self.calls[request] == 1:
            return Result(requeue_after=self.requeue_after)
        return Result()


class Parked(ReconcileHooks):
    """Records the keys its controller quarantines."""

    def __init__(self) -> None:
        self.items: list[QuarantinedItem] = []

    def quarantined(self, info: ReconcileInfo, item: QuarantinedItem) -> None:
        self.items.append(item)


class ConflictsFirst:
    """Raises `Conflict` on the first `conflicts` reconciles of each key, then succeeds."""

    def __init__(self, conflicts: int) -> None:
        self.conflicts = conflicts
        self.calls: Counter[Request] = Counter()

    async def reconcile(self, request: Request) -> Result:
        self.calls[request] += 1
        if self.calls[request] <= self.conflicts:
            raise Conflict("the object has been modified", code=409, reason="Conflict",
                           kind="ConfigMap", namespace=request.namespace, name=request.name)
        return Result()


async def test_conflicts_are_retried_quietly_and_never_quarantine_a_key(
    kube: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    await kube.create(CONFIG_MAP, config_map("raced"), namespace="default")
    reconciler = ConflictsFirst(conflicts=4)
    async with InformerFactory(kube) as informers:
        controller = (ControllerBuilder(informers).for_(CONFIG_MAP, namespace="default")
                      .with_options(rate_limiter=FAST_RETRIES, max_retries=1)
                      .build(reconciler))
        with caplog.at_level(logging.INFO):
            async with controller:
                await eventually(lambda: controller.stats.results["success"] == 1)

    assert controller.stats.results["conflict"] == 4
    assert controller.stats.errors == 0
    assert controller.quarantined() == []
    logged = [r for r in caplog.records if "changed while it was reconciled" in r.getMessage()]
    assert len(logged) == 4
    assert all(r.levelno == logging.INFO and r.exc_info is None for r in logged)


async def start(kube: KubeClient, informers: InformerFactory, **options: Any
                ) -> tuple[Controller, Recorder]:
    recorder = Recorder(informers.informer(CONFIG_MAP, namespace="default").store)
    controller = (ControllerBuilder(informers).for_(CONFIG_MAP, namespace="default")
                  .with_options(**options).build(recorder))
    return controller, recorder


async def test_burst_of_updates_coalesces_and_last_reconcile_sees_final_state(
    kube: KubeClient,
) -> None:
    await kube.create(CONFIG_MAP, config_map("hot", n="0"), namespace="default")
    async with InformerFactory(kube) as informers:
        controller, recorder = await start(kube, informers)
        recorder.gate = asyncio.Event()
        hot = Request("default", "hot")
        async with controller:
            await eventually(lambda: recorder.calls[hot] == 1)
            # The first reconcile is in flight while 50 updates arrive.
            for n in range(1, 51):
                written = await kube.patch(CONFIG_MAP, "hot", {"data": {"n": str(n)}},
                                           namespace="default")
            await recorder.store.wait_for_resource_version(resource_version(written), timeout=30)
            recorder.gate.set()
            await eventually(lambda: recorder.seen[hot][-1] == {"n": "50"})
            await eventually(lambda: controller.stats.active_workers == 0
                             and not len(controller.queue))
    assert recorder.calls[hot] == 2  # the first, and one for all 50 updates
    assert controller.stats.results["success"] == 2


@pytest.mark.usefixtures("widgets_installed")
async def test_core_kind_and_crd_kind_reconciled_through_the_same_code(
    kube: KubeClient,
) -> None:
    await kube.create(CONFIG_MAP, config_map("settings"), namespace="default")
    await kube.create(WIDGET, widget("gadget"), namespace="default")

    class Annotator:
        def __init__(self, kind: ResourceKind, store: Store) -> None:
            self.kind = kind
            self.store = store

        async def reconcile(self, request: Request) -> Result:
            obj = self.store.get(request.key)
            if obj is not None and "reconciled" not in obj["metadata"].get("annotations", {}):
                await kube.patch(self.kind, request.name, {"metadata": {
                    "annotations": {"reconciled": "yes"},
                    "resourceVersion": resource_version(obj)}}, namespace=request.namespace)
            return Result()

    async with InformerFactory(kube) as informers:
        controllers = [
            ControllerBuilder(informers).for_(kind, namespace="default").build(
                Annotator(kind, informers.informer(kind, namespace="default").store))
            for kind in (CONFIG_MAP, WIDGET)
        ]
        async with controllers[0], controllers[1]:
            for kind, name in ((CONFIG_MAP, "settings"), (WIDGET, "gadget")):
                for _ in range(600):
                    obj = await kube.get(kind, name, namespace="default")
                    if obj["metadata"].get("annotations", {}).get("reconciled") == "yes":
                        break
                    await asyncio.sleep(0.005)
                else:
                    raise AssertionError(f"{kind} {name} was not reconciled")
    assert [c.name for c in controllers] == ["configmaps", "widgets.example.com"]


async def test_always_failing_key_is_quarantined_while_others_flow_and_restarts_on_change(
    kube: KubeClient,
) -> None:
    await kube.create(CONFIG_MAP, config_map("poison", fail="always"), namespace="default")
    parked = Parked()
    async with InformerFactory(kube) as informers:
        controller, recorder = await start(
            kube, informers, rate_limiter=FAST_RETRIES, max_retries=3, hooks=[parked])
        poison = Request("default", "poison")
        async with controller:
            await eventually(lambda: bool(controller.quarantined()))
            [item] = controller.quarantined()
            assert item.request == poison and item.failures == 4  # the first try + 3 retries
            assert "RuntimeError: cannot handle default/poison" in item.last_error
            assert parked.items == [item]
            assert recorder.calls[poison] == 4
            assert controller.stats.results["error"] == 3
            assert controller.stats.results["quarantined"] == 1

            # Others keep flowing.
            for name in ("healthy-1", "healthy-2"):
                await kube.create(CONFIG_MAP, config_map(name), namespace="default")
            await eventually(lambda: controller.stats.results["success"] == 2)
            assert recorder.calls[poison] == 4

            # A change of the poisoned object gives it a fresh start.
            await kube.patch(CONFIG_MAP, "poison", {"data": {"fail": "no"}},
                             namespace="default")
            await eventually(lambda: controller.stats.results["success"] == 3)
            assert recorder.seen[poison][-1] == {"fail": "no"}
            assert controller.quarantined() == []


async def test_requeue_releases_a_quarantined_key_with_a_fresh_backoff(
    kube: KubeClient,
) -> None:
    await kube.create(CONFIG_MAP, config_map("poison", fail="always"), namespace="default")
    async with InformerFactory(kube) as informers:
        controller, recorder = await start(kube, informers, rate_limiter=FAST_RETRIES,
                                           max_retries=1)
        poison = Request("default", "poison")
        async with controller:
            await eventually(lambda: bool(controller.quarantined()))
            assert recorder.calls[poison] == 2
            assert controller.requeue(Request("default", "unknown")) is False
            assert controller.requeue(poison) is True
            await eventually(lambda: controller.stats.results["quarantined"] == 2)
            assert recorder.calls[poison] == 4


async def test_terminal_error_is_not_retried_until_the_object_changes(
    kube: KubeClient,
) -> None:
    await kube.create(CONFIG_MAP, config_map("invalid", valid="no"), namespace="default")
    async with InformerFactory(kube) as informers:
        controller, recorder = await start(kube, informers, rate_limiter=FAST_RETRIES)
        invalid = Request("default", "invalid")
        async with controller:
            await eventually(lambda: controller.stats.results["terminal_error"] == 1
                             and controller.stats.active_workers == 0)
            # Nothing is queued or scheduled for it: no retry will come.
            assert len(controller.queue) == 0 and controller.queue.delayed == 0
            assert controller.queue.num_requeues(invalid) == 0
            assert controller.quarantined() == []

            await kube.patch(CONFIG_MAP, "invalid", {"data": {"valid": "yes"}},
                             namespace="default")
            await eventually(lambda: controller.stats.results["success"] == 1)
            assert recorder.calls[invalid] == 2


async def test_requeue_after_reconciles_again_exactly_after_the_delay(
    kube: KubeClient,
) -> None:
    await kube.create(CONFIG_MAP, config_map("periodic"), namespace="default")
    clock = FakeClock()
    async with InformerFactory(kube) as informers:
        controller, recorder = await start(kube, informers, clock=clock)
        recorder.requeue_after = timedelta(seconds=30)
        periodic = Request("default", "periodic")
        async with controller:
            await eventually(lambda: controller.stats.results["requeue_after"] == 1
                             and controller.stats.active_workers == 0)
            assert controller.queue.delayed == 1
            clock.advance(29.999)
            assert controller.queue.delayed == 1 and len(controller.queue) == 0
            clock.advance(0.001)
            await eventually(lambda: recorder.calls[periodic] == 2)
            await eventually(lambda: controller.stats.results["success"] == 1)
            assert controller.queue.delayed == 0


async def test_a_reconcile_past_its_timeout_is_retried(kube: KubeClient) -> None:
    await kube.create(CONFIG_MAP, config_map("slow"), namespace="default")
    calls = 0

    class HangsOnce:
        async def reconcile(self, request: Request) -> Result:
            nonlocal calls
            calls += 1
            if calls == 1:
                await asyncio.Event().wait()  # never set
            return Result()

    async with InformerFactory(kube) as informers:
        controller = (ControllerBuilder(informers).for_(CONFIG_MAP, namespace="default")
                      .with_options(rate_limiter=FAST_RETRIES, reconcile_timeout=0.05)
                      .build(HangsOnce()))
        async with controller:
            await eventually(lambda: controller.stats.results["success"] == 1)
    assert controller.stats.results["error"] == 1
    assert calls == 2


@pytest.mark.usefixtures("widgets_installed")
async def test_owns_maps_a_child_change_to_its_controller_owner(kube: KubeClient) -> None:
    owner = await kube.create(WIDGET, widget("parent"), namespace="default")
    await kube.create(CONFIG_MAP, set_controller_reference(owner, config_map("child")),
                      namespace="default")
    await kube.create(CONFIG_MAP, config_map("orphan"), namespace="default")
    calls: Counter[Request] = Counter()

    class Counting:
        async def reconcile(self, request: Request) -> Result:
            calls[request] += 1
            return Result()

    async with InformerFactory(kube) as informers:
        controller = (ControllerBuilder(informers).for_(WIDGET).owns(CONFIG_MAP)
                      .build(Counting()))
        parent = Request("default", "parent")
        async with controller:
            await eventually(lambda: calls[parent] >= 1
                             and controller.stats.active_workers == 0
                             and not len(controller.queue))
            before = calls[parent]
            await kube.patch(CONFIG_MAP, "orphan", {"data": {"x": "1"}}, namespace="default")
            await kube.patch(CONFIG_MAP, "child", {"data": {"x": "1"}}, namespace="default")
            await eventually(lambda: calls[parent] == before + 1)
    assert set(calls) == {parent}  # neither child nor orphan became a request of their own


async def test_graceful_stop_lets_the_in_flight_reconcile_finish_and_starts_nothing(
    kube: KubeClient,
) -> None:
    for name in ("first", "second"):
        await kube.create(CONFIG_MAP, config_map(name), namespace="default")
    async with InformerFactory(kube) as informers:
        controller, recorder = await start(kube, informers)
        recorder.gate = asyncio.Event()
        async with anyio.create_task_group() as tasks:
            await tasks.start(controller.run)
            await eventually(lambda: sum(recorder.calls.values()) == 1)
            [in_flight] = controller.reconciling
            controller.stop()
            assert controller.queue.shutting_down
            assert controller.reconciling == {in_flight}
            recorder.gate.set()
        assert controller.stats.results["success"] == 1
        assert sum(recorder.calls.values()) == 1

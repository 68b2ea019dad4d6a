"""A toy controller over 500 objects converges: every object Ready at its latest generation."""

from __future__ import annotations

import asyncio

import pytest

from controllerkit.cache import InformerFactory
from controllerkit.client import KubeClient
from controllerkit.controller import ControllerBuilder
from controllerkit.testing import eventually

from ..client.kinds import WIDGET
from .toy import ReadyMarker, is_ready_at_latest_generation

OBJECTS = 500


@pytest.mark.usefixtures("widgets_installed")
async def test_toy_controller_over_500_objects_converges_at_latest_generation(
    kube: KubeClient,
) -> None:
    semaphore = asyncio.Semaphore(16)

    async def create(number: int) -> None:
        async with semaphore:
            await kube.create(WIDGET, {"apiVersion": "example.com/v1", "kind": "Widget",
                                       "metadata": {"name": f"w{number}"},
                                       "spec": {"size": 1}}, namespace="default")

    await asyncio.gather(*(create(n) for n in range(OBJECTS // 2)))
    async with InformerFactory(kube) as informers:
        store = informers.informer(WIDGET).store
        reconciler = ReadyMarker(kube, WIDGET, store)
        controller = (ControllerBuilder(informers).for_(WIDGET)
                      .with_options(max_concurrent_reconciles=8).build(reconciler))
        async with controller:
            # Half listed at start, half created live, and spec changes racing the workers.
            await asyncio.gather(*(create(n) for n in range(OBJECTS // 2, OBJECTS)))
            for number in range(0, OBJECTS, 10):
                await kube.patch(WIDGET, f"w{number}", {"spec": {"size": 2}},
                                 namespace="default")

            def converged() -> bool:
                objects = store.list()
                return len(objects) == OBJECTS and all(
                    is_ready_at_latest_generation(obj) for obj in objects)

            await eventually(converged, within=120)

    resized = store.get(("default", "w0"))
    assert resized is not None and resized["status"]["observedGeneration"] == 2
    assert controller.stats.results["success"] >= OBJECTS

"""A typed reconciler gets the pydantic model of the cached object (None once it is gone),
never a view into the cache, and an object the model cannot read fails terminally."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from controllerkit.cache import InformerFactory
from controllerkit.client import KubeClient
from controllerkit.controller import ControllerBuilder, TypedReconciler
from controllerkit.meta import CONFIG_MAP, KubeModel
from controllerkit.reconcile import Request, Result
from controllerkit.resource import CustomResource

from .conftest import eventually


class WidgetSpec(KubeModel):
    size: int
    colour: str = "red"
    free: Any = None


class WidgetStatus(KubeModel):
    phase: str | None = None
    observed_generation: int | None = None


class Widget(CustomResource[WidgetSpec, WidgetStatus], group="example.com", version="v1",
             kind="Widget", plural="widgets"):
    """The test CRD's widget."""


class BigWidgetSpec(KubeModel):
    size: int = Field(ge=10)


class BigWidget(CustomResource[BigWidgetSpec, WidgetStatus], group="example.com",
                version="v1", kind="Widget", plural="widgets"):
    """A model that refuses widgets smaller than 10."""


class Sizer:
    """Records the models it gets and marks each widget Ready at its generation."""

    def __init__(self, kube: KubeClient) -> None:
        self.widgets = kube.typed(Widget)
        self.seen: list[tuple[Request, Widget | None]] = []

    async def reconcile(self, obj: Widget | None, request: Request) -> Result:
        self.seen.append((request, obj))
        if obj is None:
            return Result()
        if obj.spec.free is not None:
            obj.spec.free["touched"] = True  # the model is a copy: the cache must not see this
        generation = obj.metadata.generation
        if obj.status is None or obj.status.observed_generation != generation:
            await self.widgets.patch_status(
                request.name, {"status": {"phase": f"size-{obj.spec.size}",
                                          "observedGeneration": generation}},
                namespace=request.namespace,
                resource_version=obj.metadata.resource_version or "")
        return Result()


def widget(name: str, size: int, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name},
            "spec": {"size": size, **spec}}


@pytest.mark.usefixtures("widgets_installed")
async def test_reconciler_gets_the_model_then_none_after_deletion(kube: KubeClient) -> None:
    widgets = kube.typed(Widget)
    await kube.create(Widget.__kind__, widget("w1", 2, free={"a": 1}), namespace="default")
    sizer = Sizer(kube)
    key = Request("default", "w1")
    async with InformerFactory(kube) as informers:
        informer = informers.informer(Widget.__kind__)
        controller = (ControllerBuilder(informers).for_(Widget.__kind__)
                      .build(TypedReconciler(Widget, informer, sizer)))
        async with controller:
            await eventually(lambda: any(obj is not None and obj.status is not None
                                         and obj.status.phase == "size-2"
                                         for _, obj in sizer.seen))
            first_request, first = sizer.seen[0]
            assert first_request == key
            assert isinstance(first, Widget) and first.spec.colour == "red"  # server default
            cached = informer.store.get(key.key)
            assert cached is not None and cached["spec"]["free"] == {"a": 1}

            current = await widgets.get("w1", namespace="default")
            current.spec.size = 7
            await widgets.update(current)
            await eventually(lambda: any(obj is not None and obj.status is not None
                                         and obj.status.phase == "size-7"
                                         for _, obj in sizer.seen))

            await kube.delete(Widget.__kind__, "w1", namespace="default")
            await eventually(lambda: sizer.seen[-1] == (key, None))
        assert controller.stats.errors == 0


@pytest.mark.usefixtures("widgets_installed")
async def test_object_the_model_cannot_read_fails_terminally_and_others_flow(
    kube: KubeClient,
) -> None:
    seen: list[int | None] = []

    class Recorder:
        async def reconcile(self, obj: BigWidget | None, request: Request) -> Result:
            seen.append(obj.spec.size if obj is not None else None)
            return Result()

    await kube.create(Widget.__kind__, widget("small", 3), namespace="default")
    await kube.create(Widget.__kind__, widget("big", 12), namespace="default")
    async with InformerFactory(kube) as informers:
        informer = informers.informer(Widget.__kind__)
        controller = (ControllerBuilder(informers).for_(Widget.__kind__)
                      .build(TypedReconciler(BigWidget, informer, Recorder())))
        async with controller:
            await eventually(lambda: controller.stats.results["terminal_error"] == 1
                             and seen == [12])
        assert controller.stats.results["error"] == 0


async def test_informer_of_another_kind_or_a_model_without_kind_is_refused(
    kube: KubeClient,
) -> None:
    class Plain(BaseModel):
        size: int

    class Nothing:
        async def reconcile(self, obj: Any, request: Request) -> Result:
            return Result()

    informers = InformerFactory(kube)
    with pytest.raises(ValueError, match="the informer caches v1 ConfigMap"):
        TypedReconciler(Widget, informers.informer(CONFIG_MAP), Nothing())
    with pytest.raises(TypeError, match="does not declare"):
        TypedReconciler(Plain, informers.informer(CONFIG_MAP), Nothing())

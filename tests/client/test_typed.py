"""Typed access: models in, models out, over the same client."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from controllerkit.client import KubeClient, PatchType, TypedClient
from controllerkit.errors import Conflict, NotFound
from controllerkit.kinds import ConfigMap
from controllerkit.meta import CONFIG_MAP, KubeModel, ObjectMeta, ResourceKind
from controllerkit.resource import CustomResource

from ..apiserver.manifests import GROUP


class WidgetSpec(KubeModel):
    size: int
    colour: str | None = None
    labels: dict[str, str] | None = None


class WidgetStatus(KubeModel):
    phase: str | None = None
    observed_generation: int | None = None


class Widget(CustomResource[WidgetSpec, WidgetStatus], group=GROUP, version="v1",
             kind="Widget", plural="widgets"):
    """A widget."""


def new_widget(name: str, size: int = 1) -> Widget:
    return Widget(metadata=ObjectMeta(name=name, namespace="default"),
                  spec=WidgetSpec(size=size))


@pytest.mark.usefixtures("widgets_installed")
async def test_custom_resource_round_trip(kube: KubeClient) -> None:
    widgets = kube.typed(Widget)
    created = await widgets.create(new_widget("w1", size=2))
    assert isinstance(created, Widget)
    assert created.spec == WidgetSpec(size=2, colour="red")
    assert created.metadata.uid and created.status is None

    created.spec.size = 3
    updated = await widgets.update(created)
    assert updated.spec.size == 3
    assert (updated.metadata.generation or 0) > (created.metadata.generation or 0)

    updated.status = WidgetStatus(phase="Ready", observed_generation=updated.metadata.generation)
    with_status = await widgets.update_status(updated)
    assert with_status.status == updated.status

    listed = await widgets.list(namespace="default")
    assert [w.metadata.name for w in listed] == ["w1"]
    assert listed[0] == with_status

    assert (await widgets.get("w1", namespace="default")) == with_status


@pytest.mark.usefixtures("widgets_installed")
async def test_typed_patches_return_models(kube: KubeClient) -> None:
    widgets = TypedClient(kube, Widget)
    created = await widgets.create(new_widget("w1"))

    merged = await widgets.patch("w1", {"spec": {"size": 4}}, namespace="default")
    assert merged.spec.size == 4

    status = await widgets.patch_status(
        "w1", {"status": {"phase": "Building"}}, namespace="default",
        resource_version=merged.metadata.resource_version or "",
    )
    assert status.status == WidgetStatus(phase="Building")

    with pytest.raises(Conflict):
        await widgets.patch_status(
            "w1", {"status": {"phase": "Stale"}}, namespace="default",
            resource_version=created.metadata.resource_version or "",
        )

    applied = await widgets.patch(
        "w1", new_widget("w1", size=9), namespace="default", patch_type=PatchType.APPLY,
        field_manager="tests", force=True,
    )
    assert applied.spec.size == 9


@pytest.mark.usefixtures("widgets_installed")
async def test_typed_delete_returns_the_object_while_finalizers_hold_it(
    kube: KubeClient,
) -> None:
    widgets = kube.typed(Widget)
    held = new_widget("w1")
    held.metadata.finalizers = ["example.com/hold"]
    await widgets.create(held)
    await widgets.create(new_widget("w2"))
    deleting = await widgets.delete("w1", namespace="default")
    assert deleting is not None and deleting.metadata.deletion_timestamp is not None
    assert await widgets.delete("w2", namespace="default") is None  # gone: a Status answer
    with pytest.raises(NotFound):
        await widgets.get("w2", namespace="default")


async def test_builtin_resource_round_trip(kube: KubeClient) -> None:
    configmaps = kube.typed(ConfigMap)
    created = await configmaps.create(
        ConfigMap(metadata=ObjectMeta(name="settings", namespace="default"), data={"a": "1"})
    )
    assert created.data == {"a": "1"}
    assert (await kube.get(CONFIG_MAP, "settings", namespace="default"))["data"] == {"a": "1"}
    assert await configmaps.delete("settings", namespace="default") is None  # a Status answer


class PlainNote(BaseModel):
    """Any pydantic model that declares `__kind__` works, without the Resource base."""

    model_config = ConfigDict(extra="allow")
    __kind__: ClassVar[ResourceKind] = CONFIG_MAP

    apiVersion: str = "v1"
    kind: str = "ConfigMap"
    metadata: dict[str, Any]
    data: dict[str, str] | None = None


async def test_any_pydantic_model_with_a_kind_is_served(kube: KubeClient) -> None:
    notes = kube.typed(PlainNote)
    created = await notes.create(PlainNote(metadata={"name": "n", "namespace": "default"},
                                           data={"text": "hi"}))
    assert created.data == {"text": "hi"}
    assert [n.data for n in await notes.list(namespace="default")] == [{"text": "hi"}]


def test_model_without_a_kind_is_refused(kube: KubeClient) -> None:
    class Unaddressable(BaseModel):
        name: str

    with pytest.raises(TypeError, match="__kind__"):
        kube.typed(Unaddressable)


async def test_answer_that_does_not_fit_the_model_raises_validation_error(
    kube: KubeClient,
) -> None:
    await kube.create(CONFIG_MAP, {"metadata": {"name": "no-spec"}}, namespace="default")

    class NeedsSpec(BaseModel):
        __kind__: ClassVar[ResourceKind] = CONFIG_MAP
        spec: dict[str, str]

    with pytest.raises(ValidationError):
        await kube.typed(NeedsSpec).get("no-spec", namespace="default")

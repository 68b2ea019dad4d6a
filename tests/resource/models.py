"""The typed models the resource tests declare: one of every shape `crd_for` must handle."""

from __future__ import annotations

import enum
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from controllerkit.meta import Condition, KubeModel
from controllerkit.resource import CustomResource, PrinterColumn


class Tier(enum.Enum):
    """How much the widget may use."""

    SMALL = "small"
    LARGE = "large"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Port(KubeModel):
    """A port the widget listens on, keyed by name."""

    __list_map_keys__ = ("name",)

    name: str
    port: int = Field(ge=1, le=65535)
    protocol: Literal["TCP", "UDP"] = "TCP"


class Limits(KubeModel):
    """Resource limits."""

    cpu_millis: int = Field(default=100, gt=0)
    """CPU in thousandths of a core."""
    memory: str | None = None
    burst: float = 1.5


class WidgetSpec(KubeModel):
    """What the user wants the widget to be."""

    image: str = Field(min_length=1, description="The container image to run.")
    replicas: int = Field(default=1, ge=0)
    tier: Tier = Tier.SMALL
    priority: Priority | None = None
    mode: Literal["fast", "safe"] = "safe"
    ports: list[Port] = []
    limits: Limits = Limits()
    backup_limits: Limits | None = None
    selector: dict[str, str] = {}
    config: dict[str, Any] | None = None
    anything: Any = None
    tags: set[str] = set()
    paused: bool | None = None
    target_port: int | str = 80
    start_after: AwareDatetime | None = None


class WidgetStatus(KubeModel):
    """What the controller last observed."""

    phase: Literal["Pending", "Ready", "Failed"] | None = None
    observed_generation: int | None = None
    conditions: list[Condition] = []
    ready_replicas: int = 0


class Widget(
    CustomResource[WidgetSpec, WidgetStatus],
    group="example.com", version="v1", kind="Widget", plural="widgets",
    short_names=("wd",), categories=("gadgets",),
    printer_columns=[
        PrinterColumn("Replicas", ".spec.replicas", "integer"),
        PrinterColumn("Phase", ".status.phase"),
        PrinterColumn("Tier", ".spec.tier", priority=1, description="Size class"),
    ],
):
    """A widget: a small thing a controller keeps running."""


class ClusterGadgetSpec(KubeModel):
    colour: str = "red"


class ClusterGadgetStatus(KubeModel):
    ready: bool = False


class ClusterGadget(
    CustomResource[ClusterGadgetSpec, ClusterGadgetStatus],
    group="example.com", version="v1alpha1", kind="ClusterGadget", plural="clustergadgets",
    namespaced=False,
):
    pass

"""Shard metrics, computed when scraped from what the coordinator holds at that moment.

- `controllerkit_shard_members{name}`: replicas in the view this replica has published
  (itself included; 0 before it first published one).
- `controllerkit_shard_owned_keys{name, controller}`: keys of the controller's primary cache
  this replica may reconcile now.
- `controllerkit_shard_active{name}`: 1 while this replica may reconcile anything at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["ShardMetrics", "ShardSnapshot"]


@dataclass(frozen=True, slots=True)
class ShardSnapshot:
    """What the metrics report: members, whether active, owned keys per controller."""

    members: int
    active: bool
    owned_keys: Sequence[tuple[str, int]]


class ShardMetrics(Collector):
    """Registers itself in `registry` (if given) and reports `snapshot()` on each scrape."""

    def __init__(self, name: str, snapshot: Callable[[], ShardSnapshot],
                 registry: CollectorRegistry | None) -> None:
        self.name = name
        self._snapshot = snapshot
        if registry is not None:
            registry.register(self)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = self._snapshot()
        members = GaugeMetricFamily(
            "controllerkit_shard_members",
            "Replicas in the view this replica published, itself included", labels=["name"])
        members.add_metric([self.name], snapshot.members)
        active = GaugeMetricFamily(
            "controllerkit_shard_active",
            "1 while this replica may reconcile keys of the ring", labels=["name"])
        active.add_metric([self.name], 1 if snapshot.active else 0)
        owned = GaugeMetricFamily(
            "controllerkit_shard_owned_keys",
            "Keys of the controller's primary cache this replica may reconcile now",
            labels=["name", "controller"])
        for controller, count in snapshot.owned_keys:
            owned.add_metric([self.name, controller], count)
        yield from (members, active, owned)

"""Replicas of one sharded ConfigMap controller in the test's process, on one `FakeClock`.

Each `Replica` has its own informers, controller and `ShardCoordinator`; all share the
embedded API server (over HTTP) and a timeline of what their reconciles did, so a test can
check the order in which replicas started, finished or gave up keys. Lease time moves only
when a test calls `advance`, which lets every coordinator renew at each retry period, as
running replicas would.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from controllerkit.cache import InformerFactory
from controllerkit.client import KubeClient
from controllerkit.clock import FakeClock
from controllerkit.controller import Controller, ControllerBuilder
from controllerkit.meta import CONFIG_MAP
from controllerkit.reconcile import Request, Result
from controllerkit.sharding import ShardCoordinator, ShardingConfig, owner_of
from controllerkit.sharding.shard_lease import ShardLease
from controllerkit.testing import eventually

RING = "ring"
NAMESPACE = "default"
RETRY_PERIOD = 2.0


def key(name: str) -> str:
    return f"{NAMESPACE}/{name}"


def names_owned(identity: str, members: set[str], names: list[str]) -> list[str]:
    """The names among `names` whose key `identity` owns under `members`."""
    return [name for name in names if owner_of(key(name), members) == identity]


@dataclass
class Timeline:
    """(replica, event, name) in the order things happened; events: start, end, cancelled."""

    events: list[tuple[str, str, str]] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)  # names whose reconciles wait for `gate`
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def of(self, replica: str, event: str) -> list[str]:
        return [name for who, what, name in self.events if who == replica and what == event]

    def index(self, replica: str, event: str, name: str) -> int:
        return self.events.index((replica, event, name))


class Recorder:
    """Notes each reconcile in the shared timeline; blocked names wait for its gate."""

    def __init__(self, replica: str, timeline: Timeline) -> None:
        self.replica = replica
        self.timeline = timeline

    async def reconcile(self, request: Request) -> Result:
        events = self.timeline.events
        events.append((self.replica, "start", request.name))
        if request.name in self.timeline.blocked:
            try:
                await self.timeline.gate.wait()
            except asyncio.CancelledError:
                events.append((self.replica, "cancelled", request.name))
                raise
        events.append((self.replica, "end", request.name))
        return Result()


class Replica:
    """One replica: informers, a ConfigMap controller and its coordinator."""

    def __init__(self, kube: KubeClient, identity: str, clock: FakeClock, timeline: Timeline,
                 **coordinator_options: Any) -> None:
        self.identity = identity
        self.informers = InformerFactory(kube)
        self.controller: Controller = (
            ControllerBuilder(self.informers).for_(CONFIG_MAP, namespace=NAMESPACE)
            .with_options(max_concurrent_reconciles=4).build(Recorder(identity, timeline)))
        self.config = ShardingConfig(RING, NAMESPACE, identity=identity,
                                     retry_period=RETRY_PERIOD)
        self.coordinator = ShardCoordinator(kube, self.config, clock=clock,
                                            **coordinator_options)
        self.coordinator.attach(self.controller)
        self.task: asyncio.Task[None] | None = None
        self._components: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    async def start(self) -> None:
        ready = asyncio.Event()
        # One task enters and leaves the informers and the controller: their task groups
        # must be left by the task that entered them.
        self._components = asyncio.get_running_loop().create_task(self._run_components(ready))
        await eventually(lambda: ready.is_set() or self._components_failed())
        self.task = asyncio.get_running_loop().create_task(self.coordinator.run())

    async def _run_components(self, ready: asyncio.Event) -> None:
        async with self.informers:
            await self.informers.wait_for_sync(30)
            with contextlib.suppress(Exception):
                async with self.controller:
                    ready.set()
                    await self._closing.wait()

    def _components_failed(self) -> bool:
        components = self._components
        if components is not None and components.done():
            components.result()
            raise RuntimeError(f"{self.identity}: informers and controller ended early")
        return False

    def owned(self, names: list[str]) -> set[str]:
        return {name for name in names if self.coordinator.owns(Request(NAMESPACE, name))}

    async def leave(self) -> None:
        """Stop the coordinator as a clean shutdown does (cancel), and wait for it."""
        assert self.task is not None
        self.task.cancel()
        await asyncio.wait({self.task})

    async def close(self) -> None:
        if self.task is not None and not self.task.done():
            await self.leave()
        self._closing.set()
        if self._components is not None:
            await self._components


def _all_renewed_after(leases: list[ShardLease], moment: float) -> bool:
    """Whether each Lease's next renewal is due after `moment` (it renewed at `moment`)."""
    return all(lease.renewed_at is not None and lease.renewed_at + RETRY_PERIOD > moment
               for lease in leases)


class Ring:
    """The replicas of a test, a clock they share and their timeline; closes them all."""

    def __init__(self, kube: KubeClient) -> None:
        self.kube = kube
        self.clock = FakeClock()
        self.timeline = Timeline()
        self.replicas: list[Replica] = []

    async def start(self, identity: str, **options: Any) -> Replica:
        replica = Replica(self.kube, identity, self.clock, self.timeline, **options)
        self.replicas.append(replica)
        await replica.start()
        return replica

    async def advance(self, seconds: float) -> None:
        """Move the clock by `seconds`, one retry period at a time, letting every running
        coordinator that holds its Lease renew at each step."""
        end = self.clock.monotonic() + seconds
        while self.clock.monotonic() < end:
            self.clock.advance(min(RETRY_PERIOD, end - self.clock.monotonic()))
            now = self.clock.monotonic()
            holding = [r.coordinator.lease for r in self.replicas
                       if r.task is not None and not r.task.done()
                       and r.coordinator.lease.renewed_at is not None]
            await eventually(functools.partial(_all_renewed_after, holding, now))

    async def create(self, *names: str) -> None:
        for name in names:
            await self.kube.create(CONFIG_MAP, {"metadata": {"name": name}},
                                   namespace=NAMESPACE)


@pytest.fixture
async def ring(kube: KubeClient) -> AsyncIterator[Ring]:
    created = Ring(kube)
    try:
        yield created
    finally:
        for replica in reversed(created.replicas):
            await replica.close()

"""Managers with leader election (and one with sharding) against one embedded API server.

Two replicas, `alice` and `bob`, share a clock the test moves: `alice` starts first and
takes the Lease on her first attempt; `bob` stands by until the test lets time pass.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import KubeClient
from controllerkit.clock import FakeClock
from controllerkit.leaderelection import LeaderElectionConfig, LeadershipLost, LeaseLock
from controllerkit.leaderelection.lease import LeaseRecord
from controllerkit.manager import Manager
from controllerkit.meta import CONFIG_MAP, LEASE
from controllerkit.reconcile import Request, Result
from controllerkit.sharding import ShardingConfig
from controllerkit.testing import eventually

from ..client.kinds import configmap
from ..leaderelection.partition import Partition, partitioned_client
from .test_manager import get, scrape

KEYS = [f"cm-{number}" for number in range(4)]


class Recorder:
    """Records reconciles; blocks while `gate` is clear; notes when one is cancelled."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.reconciled: list[str] = []
        self.cancelled_at: list[float] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()

    async def reconcile(self, request: Request) -> Result:
        self.started.set()
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled_at.append(self.clock.monotonic())
            raise
        self.reconciled.append(request.name)
        return Result()


def replica(kube: KubeClient, clock: FakeClock, identity: str, **options: Any
            ) -> tuple[Manager, Recorder]:
    config = LeaderElectionConfig("widgets-leader", "default", identity=identity)
    manager = Manager(kube, metrics_bind_address="0", health_probe_bind_address="0",
                      clock=clock, leader_election=config, **options)
    recorder = Recorder(clock)
    (manager.controller_builder().named("configmaps").for_(CONFIG_MAP, namespace="default")
     .build(recorder))
    return manager, recorder


@contextlib.asynccontextmanager
async def running(manager: Manager) -> AsyncIterator[asyncio.Task[None]]:
    """`manager.run()` in a task; stopped (and awaited, errors ignored) when the block ends."""
    task = asyncio.get_running_loop().create_task(manager.run())
    try:
        await eventually(lambda: _done_or(task, manager.ready))
        yield task
    finally:
        manager.stop()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, 30)


def _done_or(task: asyncio.Task[None], condition: bool) -> bool:
    if task.done():
        task.result()
    return condition


async def drive(clock: FakeClock, condition: Callable[[], bool], *, step: float = 0.5,
                limit: float = 30.0) -> float:
    """Advance `clock` by `step` until `condition` holds; the fake seconds it took."""
    start = clock.monotonic()
    while not condition():
        if clock.monotonic() - start > limit:
            raise AssertionError(f"condition not met within {limit} fake seconds")
        clock.advance(step)
        await asyncio.sleep(0.01)
    return clock.monotonic() - start


async def create_configmaps(kube: KubeClient) -> None:
    for name in KEYS:
        await kube.create(CONFIG_MAP, configmap(name), namespace="default")


async def readyz(manager: Manager) -> tuple[int, list[str]]:
    status, body = await get(f"{manager.health_probe_url}/readyz")
    return status, body.splitlines()


async def test_only_the_leader_reconciles_while_the_standby_keeps_its_cache_warm(
    kube: KubeClient,
) -> None:
    clock = FakeClock()
    alice, alice_recorder = replica(kube, clock, "alice")
    bob, bob_recorder = replica(kube, clock, "bob")
    await create_configmaps(kube)
    async with running(alice):
        await eventually(lambda: sorted(alice_recorder.reconciled) == KEYS)
        async with running(bob):
            assert bob.elector is not None
            await eventually(lambda: bob.elector is not None and bob.elector.leader == "alice")
            await drive(clock, lambda: clock.monotonic() >= 10)
            assert bob_recorder.reconciled == []
            [informer] = bob.informers.informers()
            assert sorted(obj["metadata"]["name"] for obj in informer.store.list()) == KEYS
            assert alice.is_leader and not bob.is_leader


async def test_readyz_and_the_metric_say_who_leads(kube: KubeClient) -> None:
    clock = FakeClock()
    alice, _ = replica(kube, clock, "alice")
    bob, _ = replica(kube, clock, "bob")
    async with running(alice), running(bob):
        await eventually(lambda: bob.elector is not None and bob.elector.leader == "alice")
        assert await readyz(alice) == (200, [
            "ok", "lease: default/widgets-leader", "identity: alice", "leader: alice",
            "leading: true"])
        assert await readyz(bob) == (200, [
            "ok", "lease: default/widgets-leader", "identity: bob", "leader: alice",
            "leading: false"])
        status = ("leader_election_master_status", (("name", "widgets-leader"),))
        assert (await scrape(alice))[status] == 1
        assert (await scrape(bob))[status] == 0


async def test_graceful_stop_of_the_leader_hands_over_at_once_to_a_warm_standby(
    kube: KubeClient,
) -> None:
    clock = FakeClock()
    alice, alice_recorder = replica(kube, clock, "alice")
    bob, bob_recorder = replica(kube, clock, "bob")
    await create_configmaps(kube)
    async with running(alice) as alice_task, running(bob):
        await eventually(lambda: len(alice_recorder.reconciled) == len(KEYS))
        await eventually(lambda: bob.elector is not None and bob.elector.leader == "alice")
        alice.stop()
        await alice_task
        # alice released the Lease; bob's watch sees it and he takes over at once (the clock
        # stands still: no retry period, let alone the 15 s of an expiry, passes).
        await eventually(lambda: bob.is_leader)
        await eventually(lambda: sorted(bob_recorder.reconciled) == KEYS)
        assert clock.monotonic() == 0


async def test_runnables_that_need_leadership_run_only_on_the_leader(
    kube: KubeClient,
) -> None:
    clock = FakeClock()
    ran: list[str] = []
    managers = []
    for identity in ("alice", "bob"):
        manager, _ = replica(kube, clock, identity)
        for needs in (True, False):
            async def record(identity: str = identity, needs: bool = needs) -> None:
                ran.append(f"{identity} {'leader' if needs else 'everywhere'}")
            manager.add_runnable(record, needs_leader_election=needs)
        managers.append(manager)
    async with running(managers[0]), running(managers[1]):
        await eventually(lambda: len(ran) == 3)
        await drive(clock, lambda: clock.monotonic() >= 5)
    assert sorted(ran) == ["alice everywhere", "alice leader", "bob everywhere"]


async def test_controllers_built_without_needing_leadership_run_on_every_replica(
    kube: KubeClient,
) -> None:
    clock = FakeClock()
    await create_configmaps(kube)
    recorders = []
    managers = []
    for identity in ("alice", "bob"):
        manager = Manager(kube, metrics_bind_address="", health_probe_bind_address="",
                          clock=clock, leader_election=LeaderElectionConfig(
                              "widgets-leader", "default", identity=identity))
        recorder = Recorder(clock)
        (manager.controller_builder().named("everywhere").for_(CONFIG_MAP, namespace="default")
         .build(recorder, needs_leader_election=False))
        managers.append(manager)
        recorders.append(recorder)
    async with running(managers[0]), running(managers[1]):
        await eventually(lambda: all(sorted(r.reconciled) == KEYS for r in recorders))
        assert managers[0].is_leader != managers[1].is_leader


async def test_leader_that_sees_another_holder_cancels_its_reconciles_and_raises(
    kube: KubeClient,
) -> None:
    clock = FakeClock()
    alice, recorder = replica(kube, clock, "alice")
    recorder.gate.clear()
    await create_configmaps(kube)
    async with running(alice) as task:
        await eventually(recorder.started.is_set)
        lock = LeaseLock(kube, "default", "widgets-leader")
        found = await lock.get()
        assert found is not None
        await lock.update(LeaseRecord("mallory", 15, None, None, 1), found[1])
        await drive(clock, task.done)
        with pytest.raises(LeadershipLost, match="held by mallory"):
            await task
    assert recorder.cancelled_at and recorder.reconciled == []
    assert not alice.ready


async def test_leader_cut_off_from_the_server_cancels_its_reconciles_at_the_renew_deadline(
    kube: KubeClient, relay: tuple[Partition, KubeClient],
) -> None:
    partition, partitioned_kube = relay
    clock = FakeClock()
    alice, recorder = replica(partitioned_kube, clock, "alice")
    recorder.gate.clear()
    await create_configmaps(kube)
    async with running(alice) as task:
        await eventually(recorder.started.is_set)
        partition.cut = True
        for tenth in range(1, 100):
            clock.advance_to(tenth / 10)
            await asyncio.sleep(0.002)
        assert not task.done() and recorder.cancelled_at == []
        clock.advance_to(10.0)
        with pytest.raises(LeadershipLost, match="renew deadline"):
            await asyncio.wait_for(asyncio.shield(task), 10)
    # Cancelled at the deadline, 5 s before anyone else may take the Lease.
    assert recorder.cancelled_at == [10.0]


async def test_sharded_manager_reconciles_its_keys_and_hands_them_over_when_stopped(
    kube: KubeClient,
) -> None:
    sharding = ShardingConfig("configmaps", "default", identity="solo", lease_duration=2.0,
                              renew_deadline=1.5, retry_period=0.3)
    manager = Manager(kube, metrics_bind_address="0", health_probe_bind_address="0",
                      sharding=sharding)
    recorder = Recorder(FakeClock())
    (manager.controller_builder().named("configmaps").for_(CONFIG_MAP, namespace="default")
     .build(recorder))
    await create_configmaps(kube)
    async with running(manager):
        await eventually(lambda: sorted(recorder.reconciled) == KEYS)
        status, lines = await readyz(manager)
        assert status == 200
        assert lines[1:] == ["shard: default/configmaps-shard-solo", "shard active: true",
                             "shard members: 1"]
        assert (await kube.list(LEASE, namespace="default")).items
    assert (await kube.list(LEASE, namespace="default")).items == []


@pytest.fixture
async def relay(server: EmbeddedApiServer) -> AsyncIterator[tuple[Partition, KubeClient]]:
    async with partitioned_client(server) as relayed:
        yield relayed

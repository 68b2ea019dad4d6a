"""`LeaderElector` against the embedded API server, on a clock the tests move."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from controllerkit.client import KubeClient
from controllerkit.leaderelection import (
    LeaderElectionMetrics,
    LeaderElector,
    LeadershipLost,
    LeaseLock,
    LeaseRecord,
)
from controllerkit.testing import eventually

from .conftest import SteppedClock, campaigning, config
from .partition import Partition

BASE = datetime(2030, 1, 1, tzinfo=UTC)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def wall_clock(clock: SteppedClock) -> datetime:
    return BASE + timedelta(seconds=clock.monotonic())


def elector(kube: KubeClient, clock: SteppedClock, identity: str, **options: object
            ) -> LeaderElector:
    timings = {key: options.pop(key) for key in list(options)
               if key in ("lease_duration", "renew_deadline", "retry_period",
                          "release_on_cancel")}
    return LeaderElector(kube, config(identity, **timings), clock=clock,
                         wall_clock=lambda: wall_clock(clock), **options)  # type: ignore[arg-type]


async def lease_of(kube: KubeClient) -> LeaseRecord:
    found = await LeaseLock(kube, "default", "ctl").get()
    assert found is not None
    return found[0]


async def held_by_ghost(kube: KubeClient, *, transitions: int = 3) -> str:
    """A Lease whose holder is gone; its renewTime is decades old."""
    return await LeaseLock(kube, "default", "ctl").create(LeaseRecord(
        holder_identity="ghost", lease_duration_seconds=15, acquire_time=LONG_AGO,
        renew_time=LONG_AGO, lease_transitions=transitions))


async def step_to(clock: SteppedClock, moment: float, *, sleepers: int = 1,
                  step: float = 1.0) -> None:
    while clock.monotonic() < moment:
        await clock.step(min(step, moment - clock.monotonic()), sleepers)


async def test_first_candidate_creates_the_lease_and_leads(
    kube: KubeClient, clock: SteppedClock
) -> None:
    events: list[str] = []
    alice = elector(kube, clock, "alice", on_started_leading=lambda: events.append("started"),
                    on_new_leader=lambda who: events.append(f"leader {who}"))
    async with campaigning(alice):
        await alice.wait_until_leading()
        record = await lease_of(kube)
        assert (record.holder_identity, record.lease_duration_seconds,
                record.lease_transitions) == ("alice", 15, 0)
        assert record.acquire_time == record.renew_time == BASE
        assert alice.leader == "alice"
        assert events == ["leader alice", "started"]


async def test_candidate_waits_lease_duration_from_its_own_observation_not_remote_time(
    kube: KubeClient, clock: SteppedClock
) -> None:
    await held_by_ghost(kube)
    bob = elector(kube, clock, "bob")
    async with campaigning(bob):
        await clock.settle(1)
        assert bob.leader == "ghost"  # seen at 0 s, though renewed in the year 2000
        await step_to(clock, 14.9)
        assert not bob.is_leader
        # The wake-up at expiry is at most 0.1 x retry_period late.
        await clock.step(0.5)
        assert bob.is_leader
        record = await lease_of(kube)
        assert (record.holder_identity, record.lease_transitions) == ("bob", 4)
        assert record.acquire_time == BASE + timedelta(seconds=clock.monotonic())


async def test_a_renewal_seen_through_the_watch_restarts_the_standby_countdown_at_once(
    kube: KubeClient, clock: SteppedClock
) -> None:
    version = await held_by_ghost(kube)
    bob = elector(kube, clock, "bob")
    async with campaigning(bob):
        await clock.settle(1)
        await step_to(clock, 10.0)
        renewed = LONG_AGO + timedelta(seconds=10)
        await LeaseLock(kube, "default", "ctl").update(
            LeaseRecord("ghost", 15, LONG_AGO, renewed, 3), version)
        # Seen at 10 s without an attempt of bob's: the clock does not move meanwhile.
        await eventually(lambda: bob.observed is not None
                         and bob.observed.renew_time == renewed)
        await step_to(clock, 24.9)
        assert not bob.is_leader
        await clock.step(0.4)
        assert bob.is_leader


async def test_leader_renews_every_retry_period_and_keeps_its_acquire_time(
    kube: KubeClient, clock: SteppedClock
) -> None:
    alice = elector(kube, clock, "alice")
    async with campaigning(alice):
        await alice.wait_until_leading()
        await clock.settle(1)
        for seconds in (2, 4, 6):
            await clock.step(2)
            record = await lease_of(kube)
            assert record.renew_time == BASE + timedelta(seconds=seconds)
            assert record.acquire_time == BASE
            assert alice.is_leader


async def test_two_candidates_writing_at_once_resolve_through_a_conflict(
    kube: KubeClient, partitioned_kube: KubeClient, partition: Partition,
    clock: SteppedClock, caplog: pytest.LogCaptureFixture,
) -> None:
    await held_by_ghost(kube)
    alice = elector(kube, clock, "alice")
    bob = elector(partitioned_kube, clock, "bob")
    partition.hold_writes = True
    caplog.set_level(logging.DEBUG, "controllerkit.leaderelection")
    async with campaigning(alice), campaigning(bob):
        await clock.settle(2)
        # Both see the ghost's Lease expire; alice writes while bob's write is held back,
        # so bob's write carries the resourceVersion alice's write replaced.
        clock.advance(16)
        await eventually(lambda: alice.is_leader and partition.writes_held == 1)
        partition.release_writes()
        await clock.settle(2)
        assert alice.is_leader and not bob.is_leader
        assert "bob: another candidate wrote Lease default/ctl first" in caplog.text
        await clock.step(4.4, 2)
        assert bob.leader == "alice" and not bob.is_leader
        record = await lease_of(kube)
        assert (record.holder_identity, record.lease_transitions) == ("alice", 4)


async def test_many_candidates_starting_together_elect_exactly_one(
    kube: KubeClient, clock: SteppedClock
) -> None:
    candidates = [elector(kube, clock, f"candidate-{n}") for n in range(5)]
    tasks = [asyncio.get_running_loop().create_task(c.run()) for c in candidates]
    try:
        await clock.settle(5)
        for _ in range(10):
            await clock.step(1, 5)
            leaders = [c.identity for c in candidates if c.is_leader]
            assert len(leaders) == 1
            assert {c.leader for c in candidates} <= {*leaders, None}
        # Losers learn who won on their next read, at most 2.2 x retry_period later.
        assert {c.leader for c in candidates} == set(leaders)
        assert (await lease_of(kube)).lease_transitions == 0
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)


async def test_leader_that_sees_another_holder_stops_at_once(
    kube: KubeClient, clock: SteppedClock
) -> None:
    stopped: list[float] = []
    alice = elector(kube, clock, "alice", on_stopped_leading=lambda: stopped.append(1))
    async with campaigning(alice) as task:
        await alice.wait_until_leading()
        await clock.settle(1)
        found = await LeaseLock(kube, "default", "ctl").get()
        assert found is not None
        await LeaseLock(kube, "default", "ctl").update(
            LeaseRecord("mallory", 15, BASE, BASE, 1), found[1])
        clock.advance(2)
        with pytest.raises(LeadershipLost) as lost:
            await task
        assert lost.value.new_leader == "mallory"
        assert "held by mallory" in str(lost.value)
        assert not alice.is_leader and stopped == [1]


async def test_partitioned_leader_stops_at_its_renew_deadline_before_a_standby_takes_over(
    kube: KubeClient, partitioned_kube: KubeClient, partition: Partition, clock: SteppedClock
) -> None:
    timeline: list[tuple[str, float]] = []
    alice = elector(partitioned_kube, clock, "alice",
                    on_stopped_leading=lambda: timeline.append(("alice stops",
                                                                clock.monotonic())))
    bob = elector(kube, clock, "bob",
                  on_started_leading=lambda: timeline.append(("bob starts",
                                                              clock.monotonic())))
    async with campaigning(alice) as alice_task:
        await alice.wait_until_leading()
        async with campaigning(bob):
            await clock.settle(2)
            partition.cut = True  # alice's renewals now hang
            for tenth in range(1, 100):
                clock.advance_to(tenth / 10)
                await asyncio.sleep(0.002)
            assert alice.is_leader and not alice_task.done()
            clock.advance_to(10.0)
            with pytest.raises(LeadershipLost, match=r"renew deadline of 10\.0 s"):
                await asyncio.wait_for(asyncio.shield(alice_task), 5)
            assert timeline == [("alice stops", 10.0)]
            await step_to(clock, 20)
            assert bob.is_leader
    (_, stopped_at), (who, started_at) = timeline
    assert who == "bob starts" and started_at >= 15 and stopped_at < started_at


async def test_cancelling_the_leader_releases_the_lease_for_an_immediate_takeover(
    kube: KubeClient, clock: SteppedClock
) -> None:
    alice = elector(kube, clock, "alice")
    bob = elector(kube, clock, "bob")
    async with campaigning(alice) as alice_task:
        await alice.wait_until_leading()
        async with campaigning(bob):
            await clock.settle(2)
            alice_task.cancel()
            # bob's watch sees the release and he takes the Lease at once: the clock
            # does not move, so neither his next attempt nor an expiry comes into it.
            await eventually(lambda: bob.is_leader)
            assert (await lease_of(kube)).lease_transitions == 1


async def test_without_release_on_cancel_the_lease_stays_held_until_it_expires(
    kube: KubeClient, clock: SteppedClock
) -> None:
    alice = elector(kube, clock, "alice", release_on_cancel=False)
    async with campaigning(alice):
        await alice.wait_until_leading()
    assert (await lease_of(kube)).holder_identity == "alice"


async def test_master_status_metric_is_one_on_the_leader_and_zero_on_standbys(
    kube: KubeClient, clock: SteppedClock
) -> None:
    registries = {name: CollectorRegistry() for name in ("alice", "bob")}
    electors = {name: elector(kube, clock, name,
                              metrics=LeaderElectionMetrics(registries[name]))
                for name in registries}

    def status(name: str) -> float | None:
        return registries[name].get_sample_value("leader_election_master_status",
                                                 {"name": "ctl"})

    async with campaigning(electors["alice"]) as alice_task:
        await electors["alice"].wait_until_leading()
        async with campaigning(electors["bob"]):
            await clock.settle(2)
            assert (status("alice"), status("bob")) == (1, 0)
            alice_task.cancel()
            await asyncio.wait({alice_task})
            assert status("alice") == 0
            await eventually(lambda: status("bob") == 1)

"""The shard protocol against the embedded API server, on a fake clock: who owns which key,
joins and clean leaves, silent replicas, the renew deadline and left-over Leases."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from controllerkit.client import KubeClient
from controllerkit.leaderelection import LeaseLock, LeaseRecord
from controllerkit.meta import LEASE
from controllerkit.sharding import (
    SHARD_OF_LABEL,
    SHARD_VIEW_ANNOTATION,
    ShardingConfig,
    ShardLeaseLost,
)
from controllerkit.testing import eventually

from .conftest import NAMESPACE, RING, Ring, names_owned

NAMES = [f"object-{number}" for number in range(30)]


async def ghost_lease(kube: KubeClient, identity: str, view: str | None) -> LeaseLock:
    """A peer's shard Lease that nobody renews (a replica that died), with `view` published."""
    lock = LeaseLock(kube, NAMESPACE, ShardingConfig(RING, NAMESPACE,
                                                     identity=identity).lease_name)
    await lock.create(LeaseRecord(
        holder_identity=identity, lease_duration_seconds=15, acquire_time=None,
        renew_time=None, lease_transitions=0, labels={SHARD_OF_LABEL: RING},
        annotations={} if view is None else {SHARD_VIEW_ANNOTATION: view}))
    return lock


async def test_a_lone_replica_publishes_itself_and_reconciles_every_key(
    ring: Ring, kube: KubeClient
) -> None:
    await ring.create(*NAMES)
    alone = await ring.start("alone")

    await eventually(lambda: sorted(ring.timeline.of("alone", "end")) == sorted(NAMES))
    assert alone.coordinator.members == {"alone"}
    lease = await kube.get(LEASE, alone.config.lease_name, namespace=NAMESPACE)
    assert lease["metadata"]["labels"] == {SHARD_OF_LABEL: RING}
    assert lease["metadata"]["annotations"] == {SHARD_VIEW_ANNOTATION: '["alone"]'}
    assert lease["spec"]["holderIdentity"] == "alone"


async def test_two_replicas_split_the_keys_by_rendezvous_hashing(ring: Ring) -> None:
    await ring.create(*NAMES)
    a, b = await ring.start("a"), await ring.start("b")

    await eventually(lambda: a.coordinator.members == b.coordinator.members == {"a", "b"}
                     and len(a.owned(NAMES)) + len(b.owned(NAMES)) == len(NAMES))
    assert a.owned(NAMES) == set(names_owned("a", {"a", "b"}, NAMES))
    assert b.owned(NAMES) == set(names_owned("b", {"a", "b"}, NAMES))
    await eventually(lambda: set(ring.timeline.of("b", "end")) == b.owned(NAMES))
    # "a" may have reconciled everything before "b" joined; "b" only ever had its own keys.
    assert set(ring.timeline.of("b", "start")) == b.owned(NAMES)


async def test_a_joiner_starts_a_key_only_after_the_old_owner_cancelled_its_reconcile(
    ring: Ring,
) -> None:
    moving = names_owned("b", {"a", "b"}, NAMES)[0]
    ring.timeline.blocked.add(moving)
    await ring.create(*NAMES)
    a = await ring.start("a")
    await eventually(lambda: moving in ring.timeline.of("a", "start"))

    b = await ring.start("b")

    await eventually(lambda: moving in ring.timeline.of("b", "start"))
    timeline = ring.timeline
    assert timeline.index("a", "cancelled", moving) < timeline.index("b", "start", moving)
    assert moving not in a.owned(NAMES) and moving in b.owned(NAMES)


async def test_a_replica_that_leaves_cleanly_hands_its_keys_over_at_once(
    ring: Ring, kube: KubeClient
) -> None:
    b_keys = set(names_owned("b", {"a", "b"}, NAMES))
    busy = sorted(b_keys)[0]
    await ring.create(*NAMES)
    a = await ring.start("a")
    await eventually(lambda: len(ring.timeline.of("a", "end")) == len(NAMES))
    ring.timeline.blocked.add(busy)  # from now on its reconciles hang until cancelled
    b = await ring.start("b")
    await eventually(lambda: busy in ring.timeline.of("b", "start"))
    reconciled_by_a = len(ring.timeline.of("a", "end"))

    await b.leave()  # the clock does not move: nothing waits for an expiry

    assert b.task is not None and b.task.cancelled()
    await eventually(lambda: a.owned(NAMES) == set(NAMES) and a.coordinator.members == {"a"})
    await eventually(lambda: b_keys - {busy} <= set(ring.timeline.of("a", "end")[
        reconciled_by_a:]) and ring.timeline.of("a", "start").count(busy) == 2)
    # b's reconcile of the busy key had ended before a started it again.
    timeline = ring.timeline
    second_start = [i for i, event in enumerate(timeline.events)
                    if event == ("a", "start", busy)][1]
    assert timeline.index("b", "cancelled", busy) < second_start
    assert (await kube.list(LEASE, namespace=NAMESPACE)).items[0]["spec"][
        "holderIdentity"] == "a"


async def test_a_silent_replica_keeps_its_keys_until_its_lease_expires_then_is_deleted(
    ring: Ring, kube: KubeClient
) -> None:
    await ring.create(*NAMES)
    ghost = await ghost_lease(kube, "ghost", '["a","ghost"]')
    a = await ring.start("a")
    ghost_keys = set(names_owned("ghost", {"a", "ghost"}, NAMES))
    await eventually(lambda: a.owned(NAMES) == set(NAMES) - ghost_keys)

    await ring.advance(14)
    assert a.owned(NAMES) == set(NAMES) - ghost_keys
    assert await ghost.get() is not None

    await ring.advance(2)
    await eventually(lambda: a.owned(NAMES) == set(NAMES))
    assert await ghost.get() is None
    await eventually(lambda: ghost_keys <= set(ring.timeline.of("a", "end")))


async def test_a_peer_that_keeps_renewing_never_expires(ring: Ring, kube: KubeClient) -> None:
    ghost = await ghost_lease(kube, "ghost", '["a","ghost"]')
    a = await ring.start("a")
    await eventually(lambda: a.coordinator.members == {"a", "ghost"})
    for _ in range(4):  # 40 s in all, renewed every 10 s
        await ring.advance(10)
        found = await ghost.get()
        assert found is not None
        record, version = found
        await ghost.update(replace(record, renew_time=datetime.now(UTC)), version)

    await ring.advance(10)
    assert a.coordinator.members == {"a", "ghost"}


async def test_a_joiner_that_has_not_published_a_view_blocks_nobody(
    ring: Ring, kube: KubeClient
) -> None:
    await ring.create(*NAMES)
    await ghost_lease(kube, "newcomer", view=None)
    a = await ring.start("a")

    await eventually(lambda: a.owned(NAMES) == set(NAMES))
    assert a.coordinator.members == {"a"}


async def test_a_replica_past_its_renew_deadline_stops_its_reconciles_then_raises(
    ring: Ring,
) -> None:
    ring.timeline.blocked.add(NAMES[0])
    await ring.create(NAMES[0])
    a = await ring.start("a")
    await eventually(lambda: NAMES[0] in ring.timeline.of("a", "start"))

    ring.clock.advance(10)  # in one step: the deadline comes before any renewal could

    assert a.task is not None
    with pytest.raises(ShardLeaseLost, match="renew_deadline"):
        await a.task
    assert ring.timeline.of("a", "cancelled") == [NAMES[0]]
    assert a.owned(NAMES) == set() and not a.coordinator.active


async def test_a_replica_whose_lease_is_deleted_stops_its_reconciles_then_raises(
    ring: Ring, kube: KubeClient
) -> None:
    ring.timeline.blocked.add(NAMES[0])
    await ring.create(NAMES[0])
    a = await ring.start("a")
    await eventually(lambda: NAMES[0] in ring.timeline.of("a", "start"))

    await kube.delete(LEASE, a.config.lease_name, namespace=NAMESPACE)

    assert a.task is not None
    with pytest.raises(ShardLeaseLost, match="deleted"):
        await a.task
    assert ring.timeline.of("a", "cancelled") == [NAMES[0]]


async def test_a_lease_left_by_an_earlier_process_is_taken_over_once_it_expired(
    ring: Ring, kube: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    await ring.create(*NAMES)
    left_over = await ghost_lease(kube, "a", '["a"]')
    a = await ring.start("a")
    await eventually(lambda: "left by an earlier process" in caplog.text)  # seen at 0 s
    await ring.advance(14)
    assert not a.coordinator.active and a.coordinator.lease.renewed_at is None
    found = await left_over.get()
    assert found is not None and found[0].renew_time is None  # untouched

    for _ in range(3):  # each step lets the waiting replica read the Lease again
        await ring.advance(2)
        if a.coordinator.lease.renewed_at is not None:
            break
        await asyncio.sleep(0.05)

    await eventually(lambda: a.owned(NAMES) == set(NAMES))
    renewed_at = a.coordinator.lease.renewed_at
    assert renewed_at is not None and renewed_at >= 15  # created after the 15 s expiry


async def test_metrics_report_members_activity_and_owned_keys(ring: Ring) -> None:
    await ring.create(*NAMES)
    registry = CollectorRegistry()
    a = await ring.start("a", registry=registry)
    await ring.start("b")
    owned = len(names_owned("a", {"a", "b"}, NAMES))
    await eventually(lambda: len(a.owned(NAMES)) == owned
                     and a.coordinator.members == {"a", "b"})

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, {"name": RING, **labels})

    assert sample("controllerkit_shard_members") == 2
    assert sample("controllerkit_shard_active") == 1
    assert sample("controllerkit_shard_owned_keys", controller="configmaps") == owned


async def test_attaching_a_controller_after_the_start_is_refused(ring: Ring) -> None:
    a = await ring.start("a")
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="before"):
        a.coordinator.attach(a.controller)

"""Three `controllerkit run --leader-elect` processes against one embedded API server.

Timings are short (Lease 2 s, renew deadline 1.5 s, retry 0.5 s) so a failover takes a
couple of seconds. The replicas journal every reconcile (`le_app`); the journal shows that
no key was ever reconciled by two replicas at once, across a crash and a clean handover.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from controllerkit.client import KubeClient
from controllerkit.leaderelection import LeaseLock, LeaseRecord
from controllerkit.meta import CONFIG_MAP
from controllerkit.testing import eventually

from ..client.kinds import configmap
from .journal import overlapping, read_intervals, reconcilers_of
from .replicas import LEASE_DURATION, Replica

KEYS = [f"le-{number}" for number in range(12)]
SERVING_PROBES = re.compile(r"serving probes on (http://\S+)")


class LeaderReplica(Replica):
    """One `controllerkit run tests.ha.le_app:build --leader-elect` process."""

    app = "tests.ha.le_app:build"
    flags = ("--leader-elect", "--leader-election-id", "le-test")
    env_prefix = "LE"
    identity = ""  # its name in the Lease, once it has reported ready

    async def readyz(self) -> dict[str, str]:
        """The `key: value` lines of `/readyz` (and `status`), once it answers 200."""
        answer = await self.fetch(SERVING_PROBES, "/readyz")
        if answer is None or answer[0] != 200:
            return {}
        return dict(line.split(": ", 1) for line in answer[1].splitlines()[1:])


@pytest.fixture
def replica_type() -> type[Replica]:
    return LeaderReplica


async def holder(kube: KubeClient) -> str | None:
    found = await LeaseLock(kube, "default", "le-test").get()
    return found[0].holder_identity if found is not None else None


async def wait_for_holder(kube: KubeClient, accept: Callable[[str | None], bool]) -> str:
    """Poll the Lease every 10 ms until its holder is accepted; the holder."""
    current: str | None = None

    async def accepted() -> bool:
        nonlocal current
        current = await holder(kube)
        return accept(current)

    await eventually(accepted, message="a new Lease holder")
    assert current is not None
    return current


async def readiness(replicas: list[LeaderReplica]) -> list[dict[str, str]]:
    return [await replica.readyz() for replica in replicas]


async def exactly_one_leads(replicas: list[LeaderReplica]) -> LeaderReplica:
    """Every live replica is ready and names the same leader, the one replica that leads."""
    states: list[dict[str, str]] = []

    async def agreed() -> bool:
        nonlocal states
        states = await readiness(replicas)
        return (all(states) and len({state["leader"] for state in states}) == 1
                and [state["leading"] for state in states].count("true") == 1)

    await eventually(agreed, message="agreement on one leader")
    for replica, state in zip(replicas, states, strict=True):
        replica.identity = state["identity"]
    [leader] = [replica for replica, state in zip(replicas, states, strict=True)
                if state["leading"] == "true"]
    assert all(state["leader"] == leader.identity for state in states)
    return leader


async def busy(leader: LeaderReplica, journal: Path) -> None:
    """Wait until `leader` has reconciled every key three times: work goes on when the
    leadership changes hands next."""
    await eventually(lambda: sum(interval.replica == leader.name
                                 for interval in read_intervals(journal)) >= 3 * len(KEYS),
                     message=f"three rounds of reconciles by {leader.name}")


async def test_three_replicas_fail_over_on_crash_and_hand_over_on_sigterm_without_overlap(
    kube: KubeClient, start_replica: Callable[[str], LeaderReplica], tmp_path: Path,
) -> None:
    for name in KEYS:
        manifest = configmap(name)
        manifest["metadata"]["labels"] = {"le-test": "yes"}
        await kube.create(CONFIG_MAP, manifest, namespace="default")
    replicas = [start_replica(name) for name in ("a", "b", "c")]
    journal = tmp_path / "journal"

    first = await exactly_one_leads(replicas)
    await busy(first, journal)
    assert set(reconcilers_of(read_intervals(journal))) == {f"default/{key}" for key in KEYS}
    assert set().union(*reconcilers_of(read_intervals(journal)).values()) == {first.name}

    # kill -9: nobody releases the Lease; a standby takes it once it expires.
    first.process.send_signal(signal.SIGKILL)
    killed_at = time.time()
    first.process.wait()
    # How soon is a figure of `python -m benchmarks.ha`, not a test: a loaded machine delays it.
    second_identity = await wait_for_holder(
        kube, lambda identity: identity not in (None, first.identity))
    survivors = [replica for replica in replicas if replica is not first]
    second = await exactly_one_leads(survivors)
    assert second.identity == second_identity

    # SIGTERM: the leader finishes its reconciles, releases the Lease, the last one takes it.
    await busy(second, journal)
    second.process.send_signal(signal.SIGTERM)
    terminated_at = time.time()
    [third] = [replica for replica in survivors if replica is not second]
    await wait_for_holder(kube, lambda identity: identity == third.identity)
    # Released, not expired: sooner than the Lease could have run out.
    assert time.time() - terminated_at < LEASE_DURATION
    assert second.process.wait(timeout=30) == 0
    await busy(third, journal)

    third.process.send_signal(signal.SIGTERM)
    assert third.process.wait(timeout=30) == 0
    intervals = read_intervals(journal, died_at={first.name: killed_at})
    assert {interval.replica for interval in intervals} == {"a", "b", "c"}
    assert overlapping(intervals) == []


async def test_a_replica_that_loses_its_lease_exits_non_zero(
    kube: KubeClient, start_replica: Callable[[str], LeaderReplica],
) -> None:
    replica = start_replica("solo")
    await exactly_one_leads([replica])
    lock = LeaseLock(kube, "default", "le-test")
    found = await lock.get()
    assert found is not None
    await lock.update(LeaseRecord("usurper", 2, None, None, 9), found[1])

    assert await asyncio.to_thread(replica.process.wait, 30) == 1
    assert ("lost leadership of Lease default/le-test as " in replica.log()
            and "the Lease is held by usurper now; all work stopped, exiting with status 1"
            in replica.log())

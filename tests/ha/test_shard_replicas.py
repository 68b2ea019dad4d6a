"""Three sharded `controllerkit run --shard-name` processes over 3,000 ConfigMaps.

Timings are short (Lease 2 s, renew deadline 1.5 s, retry 0.5 s). The replicas journal
every reconcile (`shard_app`) and reconcile every key again every 1.5 s, so the journal
shows who worked on which key when: each key by one replica at a time, through a `kill -9`
and a replica joining again.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from controllerkit.client import KubeClient
from controllerkit.meta import CONFIG_MAP, LEASE
from controllerkit.sharding import SHARD_OF_LABEL
from controllerkit.testing import eventually as poll

from .journal import overlapping, read_intervals, reconcilers_of
from .replicas import LEASE_DURATION, Replica
from .shard_app import CONTROLLER

RING = "shard-test"
OBJECTS = 3000
KEYS = {f"default/shard-{number:04d}" for number in range(OBJECTS)}
SERVING_METRICS = re.compile(r"serving metrics on (http://\S+)")

eventually = partial(poll, within=60.0, interval=0.05)
"""Waits up to a minute (3,000 keys take their time), checking every 50 ms unless told."""


class ShardReplica(Replica):
    """One `controllerkit run tests.ha.shard_app:build --shard-name` process."""

    app = "tests.ha.shard_app:build"
    flags = ("--shard-name", RING)
    env_prefix = "SHARD"

    async def shard(self) -> dict[str, float]:
        """`members`, `active` and `owned` from the replica's metrics ({} until it serves)."""
        answer = await self.fetch(SERVING_METRICS, "/metrics")
        if answer is None:
            return {}
        _, text = answer
        values: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.labels.get("name") != RING:
                    continue
                if sample.name == "controllerkit_shard_members":
                    values["members"] = sample.value
                elif sample.name == "controllerkit_shard_active":
                    values["active"] = sample.value
                elif (sample.name == "controllerkit_shard_owned_keys"
                      and sample.labels.get("controller") == CONTROLLER):
                    values["owned"] = sample.value
        return values


@pytest.fixture
def replica_type() -> type[Replica]:
    return ShardReplica


class JournalTail:
    """The first reconcile of each key started from now on, read incrementally: the test
    polls it often, and re-parsing the whole journal would slow the API server it shares
    the process with."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Any record written after this offset was timed after `since` (the order matters).
        self.offset = path.stat().st_size if path.exists() else 0
        self.since = time.time()
        self.firsts: dict[str, tuple[float, str]] = {}

    def first_starts(self) -> dict[str, tuple[float, str]]:
        """For each key, its first reconcile started at or after `since`: (time, replica)."""
        if self.path.exists():
            with self.path.open("rb") as journal:
                journal.seek(self.offset)
                chunk = journal.read()
            complete = chunk.rfind(b"\n") + 1
            self.offset += complete
            for line in chunk[:complete].splitlines():
                record = json.loads(line)
                if (record["event"] == "start" and record["t"] >= self.since
                        and record["key"] not in self.firsts):
                    self.firsts[record["key"]] = (record["t"], record["replica"])
        return self.firsts


async def balanced(replicas: list[ShardReplica], objects: int) -> dict[str, float] | None:
    """Each replica's owned keys once all of them agree on all of them and own every key."""
    states = [await replica.shard() for replica in replicas]
    if not all(state.get("members") == len(replicas) and state.get("active") == 1
               for state in states):
        return None
    owned = {replica.name: state["owned"] for replica, state in zip(replicas, states,
                                                                      strict=True)}
    return owned if sum(owned.values()) == objects else None


async def wait_balanced(replicas: list[ShardReplica], objects: int = OBJECTS) -> dict[str, float]:
    owned: dict[str, float] | None = None

    async def agreed() -> bool:
        nonlocal owned
        owned = await balanced(replicas, objects)
        return owned is not None

    await eventually(agreed, message=f"{[r.name for r in replicas]} sharing every key")
    assert owned is not None
    return owned


async def create_objects(kube: KubeClient) -> None:
    parallel = asyncio.Semaphore(32)

    async def create(key: str) -> None:
        async with parallel:
            await kube.create(CONFIG_MAP, {"metadata": {
                "name": key.split("/")[1], "labels": {"shard-test": "yes"}}},
                namespace="default")

    await asyncio.gather(*(create(key) for key in sorted(KEYS)))


def assert_spread(owned: dict[str, float]) -> None:
    for name, count in owned.items():
        assert 0.20 <= count / OBJECTS <= 0.45, f"{name} owns {count} of {OBJECTS} keys"


async def test_three_sharded_replicas_share_keys_through_a_crash_and_a_rejoin_without_overlap(
    kube: KubeClient, start_replica: Callable[[str], ShardReplica], tmp_path: Path,
) -> None:
    await create_objects(kube)
    journal = tmp_path / "journal"
    a, b, c = (start_replica(name) for name in "abc")

    assert_spread(await wait_balanced([a, b, c]))
    settled = JournalTail(journal)
    await eventually(lambda: len(settled.first_starts()) == OBJECTS,
                     interval=0.2, message="every key reconciled after the split")
    split = reconcilers_of(read_intervals(journal), since=settled.since)
    assert all(len(replicas) == 1 for replicas in split.values()), "a key with two owners"
    keys_of_c = {key for key, replicas in split.items() if replicas == {"c"}}

    # kill -9: c cannot release; its keys move once its Lease expires on the others' clocks.
    after_kill = JournalTail(journal)
    c.process.send_signal(signal.SIGKILL)
    killed_at = time.time()
    c.process.wait()
    await eventually(lambda: keys_of_c <= after_kill.first_starts().keys(),
                     interval=0.02, message="c's keys reconciled by the survivors")
    # How soon is a figure of `python -m benchmarks.ha`, not a test: a loaded machine delays it.
    firsts = after_kill.first_starts()
    assert {firsts[key][1] for key in keys_of_c} == {"a", "b"}
    await wait_balanced([a, b])

    # c comes back (a new process, a new identity): the keys spread over three again.
    d = start_replica("d")
    owned = await wait_balanced([a, b, d])
    assert_spread(owned)
    rebalanced = JournalTail(journal)
    await eventually(lambda: len(rebalanced.first_starts()) == OBJECTS,
                     interval=0.2, message="every key reconciled after the rejoin")
    resplit = reconcilers_of(read_intervals(journal), since=rebalanced.since)
    assert all(len(replicas) == 1 for replicas in resplit.values()), "a key with two owners"
    assert sum(replicas == {"d"} for replicas in resplit.values()) == owned["d"]

    # SIGTERM: d stops its reconciles, deletes its Lease; the others take its keys at once.
    keys_of_d = {key for key, replicas in resplit.items() if replicas == {"d"}}
    after_stop = JournalTail(journal)
    d.process.send_signal(signal.SIGTERM)
    terminated_at = time.time()
    await eventually(lambda: keys_of_d <= after_stop.first_starts().keys(),
                     interval=0.02, message="d's keys reconciled by the others")
    # Handed over, not expired: sooner than d's Lease could have run out.
    handover = max(after_stop.first_starts()[key][0] for key in keys_of_d) - terminated_at
    assert handover < LEASE_DURATION
    assert await asyncio.to_thread(d.process.wait, 30) == 0

    for replica in (a, b):
        replica.process.send_signal(signal.SIGTERM)
    for replica in (a, b):
        assert await asyncio.to_thread(replica.process.wait, 30) == 0
    intervals = read_intervals(journal, died_at={"c": killed_at})
    assert overlapping(intervals) == []


async def test_a_replica_whose_shard_lease_is_deleted_stops_and_exits_non_zero(
    kube: KubeClient, start_replica: Callable[[str], ShardReplica],
) -> None:
    replica = start_replica("solo")
    await wait_balanced([replica], objects=0)
    [lease] = (await kube.list(LEASE, namespace="default",
                               label_selector=f"{SHARD_OF_LABEL}={RING}")).items

    await kube.delete(LEASE, lease["metadata"]["name"], namespace="default")

    assert await asyncio.to_thread(replica.process.wait, 30) == 1
    log = replica.log_path.read_text()
    assert "the Lease was deleted; all work on its keys stopped" in log

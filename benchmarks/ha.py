"""Sharded throughput and failover times of a status-writing controller, over real processes.

    python -m benchmarks.ha              # 3,000 Gadgets; 1, 2 and 3 shards; failovers
    python -m benchmarks.ha --quick      # 300 Gadgets, one repetition: a smoke run

One API server process is loaded with N Gadgets. Each replica is a `controllerkit run
benchmarks.ha_app:build` process (a controller that writes `status.observedGeneration` from
its cache). This process watches the Gadgets with an informer and knows at every moment which
ones lag (status behind generation).

- Throughput with 1, 2 and 3 sharded replicas: after the replicas have caught up and their
  membership settled, every Gadget's spec is changed (a new generation) and the clock runs
  until all of them are reconciled again; reconciles/s = N / that time, and the ratio to one
  shard. Every replica, the server and this process share the machine's CPUs.
- Shard failover (3 replicas): one replica is killed (SIGKILL, then in another round SIGTERM),
  a sample of Gadgets is changed at once, and the clock runs until all of them are reconciled:
  the keys of the replica that went away wait for the others to take them over (SIGKILL: the
  lease must expire; SIGTERM: the replica releases its lease on the way out).
- Leader failover (3 leader-elected replicas): the leader is killed the same two ways, and
  the clock runs until a changed sample is reconciled by the new leader.

Leases are short here (2 s duration, 1.5 s renew deadline, 0.3 s retry) so rounds are quick;
failover times scale with them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from controllerkit.cache import DeletedFinalStateUnknown, SharedInformer
from controllerkit.client import KubeClient
from controllerkit.errors import AlreadyExists
from controllerkit.meta import CUSTOM_RESOURCE_DEFINITION, LEASE, JSONObject, object_key
from controllerkit.sharding import SHARD_OF_LABEL, SHARD_VIEW_ANNOTATION

from .ha_app import GADGET
from .report import Figure, environment, run_and_print
from .resources import NAMESPACE, crd
from .server_process import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 2.0, 1.5, 0.3
TIMING = ("--lease-duration", str(LEASE_DURATION), "--renew-deadline", str(RENEW_DEADLINE),
          "--retry-period", str(RETRY_PERIOD))
FAILOVER_SAMPLE = 150
ROUND_TIMEOUT = 180.0


@dataclass(frozen=True)
class Settings:
    objects: int
    repeat: int
    shard_counts: tuple[int, ...]


def parse_args(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ha", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds per figure")
    parser.add_argument("--quick", action="store_true", help="300 objects, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        return Settings(objects=300, repeat=1, shard_counts=(1, 3))
    return Settings(objects=args.objects, repeat=args.repeat, shard_counts=(1, 2, 3))


class Lag:
    """Which Gadgets' status lags their generation, from this process's informer."""

    def __init__(self) -> None:
        self.lagging: set[tuple[str, str]] = set()
        self.observed: dict[tuple[str, str], int] = {}
        self._changed = asyncio.Event()

    def _see(self, obj: JSONObject) -> None:
        generation = obj["metadata"].get("generation", 1)
        observed = (obj.get("status") or {}).get("observedGeneration")
        key = object_key(obj)
        self.observed[key] = observed or 0
        if observed == generation:
            self.lagging.discard(key)
        else:
            self.lagging.add(key)
        self._changed.set()

    def on_add(self, obj: JSONObject) -> None:
        self._see(obj)

    def on_update(self, old: JSONObject, new: JSONObject) -> None:
        self._see(new)

    def on_delete(self, obj: JSONObject | DeletedFinalStateUnknown) -> None:
        key = obj.key if isinstance(obj, DeletedFinalStateUnknown) else object_key(obj)
        self.lagging.discard(key)

    async def caught_up(self, timeout: float = ROUND_TIMEOUT) -> None:  # noqa: ASYNC109
        """Wait until no Gadget lags."""
        async with asyncio.timeout(timeout):
            while self.lagging:
                self._changed.clear()
                await self._changed.wait()

    async def reconciled(self, generations: dict[tuple[str, str], int],
                         timeout: float = ROUND_TIMEOUT) -> None:  # noqa: ASYNC109
        """Wait until each Gadget's status observed at least the generation given."""
        async with asyncio.timeout(timeout):
            while any(self.observed.get(key, 0) < generation
                      for key, generation in generations.items()):
                self._changed.clear()
                await self._changed.wait()


class Replica:
    """One `controllerkit run benchmarks.ha_app:build` process."""

    def __init__(self, kubeconfig: Path, log: Path, identity: str, *options: str) -> None:
        self.identity = identity
        self.command = [sys.executable, "-m", "controllerkit.cli", "run",
                        "benchmarks.ha_app:build", "--kubeconfig", str(kubeconfig),
                        "--identity", identity, *options]
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *self.command, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=out,
                stderr=out)

    async def stop(self, signum: int = signal.SIGTERM) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


async def load(client: KubeClient, count: int) -> None:
    with contextlib.suppress(AlreadyExists):
        await client.create(CUSTOM_RESOURCE_DEFINITION, crd())
    for _ in range(100):  # the CRD is served once it is established
        try:
            await client.list(GADGET, namespace=NAMESPACE, limit=1)
            break
        except Exception:
            await asyncio.sleep(0.1)
    names = iter(range(count))

    async def creator() -> None:
        for index in names:
            await client.create(GADGET, {
                "apiVersion": GADGET.api_version, "kind": "Gadget",
                "metadata": {"name": f"gadget-{index:05d}", "namespace": NAMESPACE},
                "spec": {"replicas": 0, "image": "bench"}}, namespace=NAMESPACE)

    async with asyncio.TaskGroup() as group:
        for _ in range(8):
            group.create_task(creator())


async def change(client: KubeClient,
                 keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Give each Gadget a new generation; returns the generations."""
    pending = iter(list(keys))
    stamp = time.monotonic_ns() % 1_000_000
    generations: dict[tuple[str, str], int] = {}

    async def patcher() -> None:
        for namespace, name in pending:
            changed = await client.patch(GADGET, name, {"spec": {"replicas": stamp}},
                                         namespace=namespace)
            generations[(namespace, name)] = changed["metadata"]["generation"]

    async with asyncio.TaskGroup() as group:
        for _ in range(8):
            group.create_task(patcher())
    return generations


class Bench:
    def __init__(self, client: KubeClient, kubeconfig: Path, logs: Path, lag: Lag,
                 keys: list[tuple[str, str]]) -> None:
        self.client, self.kubeconfig, self.logs, self.lag = client, kubeconfig, logs, lag
        self.keys = keys
        self._started = 0

    def replica(self, *options: str) -> Replica:
        self._started += 1
        identity = f"replica-{self._started}"
        return Replica(self.kubeconfig, self.logs / f"{identity}.log", identity, *options)

    async def settle(self, shard_name: str | None = None, members: int = 0) -> None:
        """Wait for the replicas to catch up and, when sharded, for all `members` of the
        ring to publish a view of all of them."""
        await self.lag.caught_up()
        if shard_name is not None:
            for _ in range(int(ROUND_TIMEOUT / RETRY_PERIOD)):
                if await self.ring_settled(shard_name, members):
                    break
                await asyncio.sleep(RETRY_PERIOD)
            else:
                raise RuntimeError(f"the ring {shard_name} did not settle on {members} members")
        await asyncio.sleep(2 * RETRY_PERIOD)
        await self.lag.caught_up()

    async def ring_settled(self, shard_name: str, members: int) -> bool:
        leases = await self.client.list(LEASE, namespace=NAMESPACE,
                                        label_selector=f"{SHARD_OF_LABEL}={shard_name}")
        views = [json.loads((lease["metadata"].get("annotations") or {}).get(
            SHARD_VIEW_ANNOTATION, "[]")) for lease in leases.items]
        return len(views) == members and all(len(view) == members for view in views)

    async def timed_round(self, keys: list[tuple[str, str]]) -> float:
        started = time.perf_counter()
        await self.lag.reconciled(await change(self.client, keys))
        return time.perf_counter() - started

    async def throughput(self, shards: int, repeat: int, figure: Figure) -> None:
        replicas = [self.replica("--shard-name", f"bench-{shards}", *TIMING)
                    for _ in range(shards)]
        try:
            for replica in replicas:
                await replica.start()
            await self.settle(f"bench-{shards}", shards)
            for _ in range(repeat):
                figure.add(len(self.keys) / await self.timed_round(self.keys))
        finally:
            for replica in replicas:
                await replica.stop()

    async def shard_failover(self, repeat: int, figures: dict[signal.Signals, Figure]) -> None:
        replicas = [self.replica("--shard-name", "bench-failover", *TIMING) for _ in range(3)]
        try:
            for replica in replicas:
                await replica.start()
            await self.settle("bench-failover", len(replicas))
            for round_number in range(repeat):
                for signum, figure in figures.items():
                    victim = replicas[round_number % len(replicas)]
                    await victim.stop(signum)
                    sample = random.sample(self.keys, min(FAILOVER_SAMPLE, len(self.keys)))
                    figure.add(await self.timed_round(sample))
                    await victim.start()
                    await self.settle("bench-failover", len(replicas))
        finally:
            for replica in replicas:
                await replica.stop()

    async def leader(self, lease_name: str, replicas: list[Replica]) -> Replica:
        """The replica whose identity holds the lease."""
        for _ in range(200):
            with contextlib.suppress(Exception):
                lease = await self.client.get(LEASE, lease_name, namespace=NAMESPACE)
                holder = (lease.get("spec") or {}).get("holderIdentity") or ""
                for replica in replicas:
                    if replica.proc is not None and holder == replica.identity:
                        return replica
            await asyncio.sleep(RETRY_PERIOD)
        raise RuntimeError(f"no replica holds the lease {lease_name}")

    async def leader_failover(self, repeat: int, figures: dict[signal.Signals, Figure]) -> None:
        lease_name = "bench-leader"
        options = ("--leader-elect", "--leader-election-id", lease_name,
                   "--leader-election-namespace", NAMESPACE, *TIMING)
        replicas = [self.replica(*options) for _ in range(3)]
        try:
            for replica in replicas:
                await replica.start()
            await self.leader(lease_name, replicas)
            await asyncio.sleep(LEASE_DURATION)  # the standbys' caches sync meanwhile
            for _ in range(repeat):
                for signum, figure in figures.items():
                    victim = await self.leader(lease_name, replicas)
                    await victim.stop(signum)
                    sample = random.sample(self.keys, min(FAILOVER_SAMPLE, len(self.keys)))
                    figure.add(await self.timed_round(sample))
                    await victim.start()
                    await asyncio.sleep(LEASE_DURATION)
        finally:
            for replica in replicas:
                await replica.stop()


async def run(settings: Settings) -> list[Figure]:
    throughput = {n: Figure(f"reconciles/s, {n} shard{'s' if n > 1 else ''}", "objects/s")
                  for n in settings.shard_counts}
    shard_failover = {
        signal.SIGKILL: Figure("shard failover after SIGKILL", "s"),
        signal.SIGTERM: Figure("shard failover after SIGTERM", "s"),
    }
    leader_failover = {
        signal.SIGKILL: Figure("leader failover after SIGKILL", "s"),
        signal.SIGTERM: Figure("leader failover after SIGTERM", "s"),
    }
    with tempfile.TemporaryDirectory(prefix="ha-bench-") as scratch:
        work = Path(scratch)
        kubeconfig = work / "kubeconfig"
        async with ServerProcess(kubeconfig_out=kubeconfig) as server, \
                KubeClient.from_url(server.url) as client:
            await load(client, settings.objects)
            lag = Lag()
            informer = SharedInformer(client, GADGET, namespace=NAMESPACE)
            informer.add_handler(lag)
            async with informer:
                await informer.wait_for_sync(60)
                keys = sorted(object_key(obj) for obj in informer.store.list())
                bench = Bench(client, kubeconfig, work, lag, keys)
                try:
                    for shards in settings.shard_counts:
                        await bench.throughput(shards, settings.repeat, throughput[shards])
                    await bench.shard_failover(settings.repeat, shard_failover)
                    await bench.leader_failover(settings.repeat, leader_failover)
                except BaseException:
                    print_replica_logs(work)
                    raise
    figures = list(throughput.values())
    base = throughput[settings.shard_counts[0]].values
    for shards in settings.shard_counts[1:]:
        ratio = Figure(f"ratio {shards} shards / {settings.shard_counts[0]}", "x")
        for single, many in zip(base, throughput[shards].values, strict=True):
            ratio.add(many / single)
        figures.append(ratio)
    return figures + list(shard_failover.values()) + list(leader_failover.values())


def print_replica_logs(work: Path) -> None:
    """The end of each replica's log, to say why a round did not finish."""
    for log in sorted(work.glob("replica-*.log")):
        tail = log.read_text(errors="replace").splitlines()[-15:]
        print(f"--- {log.name}", *tail, sep="\n", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    print("controllerkit high-availability benchmark")
    print(environment())
    print(f"{settings.objects} Gadgets; lease {LEASE_DURATION} s, renew deadline "
          f"{RENEW_DEADLINE} s, retry {RETRY_PERIOD} s; {settings.repeat} round(s) a figure; "
          f"median, min and max", flush=True)
    return run_and_print(run(settings))


if __name__ == "__main__":
    sys.exit(main())

"""One round of the controller benchmark: one contender against one fresh API server.

`Round.measure()` starts an API server process (the floor and kopf patch status without a
resourceVersion, which it accepts as a real server does), installs the Gadget CRD, starts a
watcher in this process and the contender process, waits for a warm-up Gadget to become Ready
(so imports, login and cache syncs are not measured), then creates the Gadgets while the
contender works and returns what it measured. Every process it starts is stopped before it
returns or raises; `RoundFailed` says the contender exited or missed a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import aiohttp
import orjson

from .contender_process import ContenderProcess
from .controller_contenders.job import COLLECTION, GROUP, NAMESPACE, VERSION, crd, is_ready
from .report import percentile
from .resources import Client, install_crd
from .server_process import ServerProcess

ResultT = TypeVar("ResultT")

WARM_UP_TIMEOUT = 120.0
IDLE_WINDOW, IDLE_CPU, IDLE_TIMEOUT = 0.5, 0.02, 15.0
WARM_UP_NAME = "warm-up"


@dataclass(frozen=True)
class Load:
    """The Gadgets a round creates: how many, by how many concurrent clients, at what rate
    (Gadgets/s; 0 for as fast as possible)."""

    objects: int
    loaders: int
    rate: float

    @property
    def job_timeout(self) -> float:
        """Seconds the contender gets to make every Gadget Ready."""
        return 60.0 + self.objects / 20


@dataclass(frozen=True)
class Measurement:
    """What one round of one contender measured."""

    objects_per_second: float
    cpu_seconds: float
    peak_rss_bytes: int
    latency_p50: float
    latency_p99: float


class RoundFailed(Exception):
    """The contender exited, or missed a deadline."""


def gadget(name: str) -> dict[str, object]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Gadget",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"replicas": 1, "image": "registry.example/gadget:1"}}


class ReadyWatcher:
    """When each Gadget was first seen Ready, from a watch of the collection in this process."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.ready: dict[str, float] = {}
        self._changed = asyncio.Event()

    async def run(self, resource_version: str) -> None:
        """Watch from `resource_version` until cancelled, resuming when the server ends it."""
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        while True:
            params = {"watch": "1", "timeoutSeconds": "3600",
                      "resourceVersion": resource_version}
            async with self.client.session.get(self.client.base + COLLECTION, params=params,
                                               timeout=timeout) as response:
                response.raise_for_status()
                async for line in response.content:
                    if not line.strip():
                        continue
                    event = orjson.loads(line)
                    if event["type"] == "ERROR":
                        raise RuntimeError(f"the watcher's watch failed: {event['object']}")
                    resource_version = self.seen(event["object"])

    def seen(self, obj: dict[str, object]) -> str:
        metadata = obj["metadata"]
        assert isinstance(metadata, dict)
        if metadata["name"] not in self.ready and is_ready(obj):
            self.ready[metadata["name"]] = time.perf_counter()
            self._changed.set()
        return str(metadata["resourceVersion"])

    async def wait_for(self, count: int) -> None:
        """Until `count` Gadgets have been seen Ready."""
        while len(self.ready) < count:
            self._changed.clear()
            await self._changed.wait()


class Round:
    """The contender `module` against one fresh API server; `measure()` is the round.

    `work` is a scratch directory for the kubeconfig and the contender's log.
    """

    def __init__(self, module: str, load: Load, work: Path) -> None:
        self.load = load
        self.kubeconfig = work / "kubeconfig"
        self.process = ContenderProcess(module, self.kubeconfig, work / "contender.log")

    async def measure(self) -> Measurement:
        connector = aiohttp.TCPConnector(limit=0)
        async with ServerProcess(kubeconfig_out=self.kubeconfig) as server, \
                aiohttp.ClientSession(connector=connector) as session:
            client = Client(session, server.url)
            await install_crd(client, crd())
            listed = await client.call("GET", COLLECTION, 200)
            watcher = ReadyWatcher(client)
            watching = asyncio.create_task(watcher.run(listed["metadata"]["resourceVersion"]))
            try:
                await self.process.start()
                measurement = await self.job(client, watcher, watching)
            finally:
                watching.cancel()
                code = await asyncio.shield(self.process.stop())
                await asyncio.gather(watching, return_exceptions=True)
        if code != 0:
            raise RoundFailed(f"exited with status {code} when stopped")
        return measurement

    async def job(self, client: Client, watcher: ReadyWatcher,
                  watching: asyncio.Task[None]) -> Measurement:
        await client.call("POST", COLLECTION, 201, gadget(WARM_UP_NAME))
        await self.until(watcher.wait_for(1), watching, WARM_UP_TIMEOUT,
                         "before the warm-up Gadget was Ready")

        async def created_and_ready() -> dict[str, float]:
            created = await self.create_gadgets(client)
            await watcher.wait_for(1 + self.load.objects)
            return created

        cpu_before = self.process.cpu_seconds()
        started = time.perf_counter()
        created = await self.until(created_and_ready(), watching, self.load.job_timeout,
                                   "before every Gadget was Ready")
        finished = max(watcher.ready[name] for name in created)
        cpu_after = await self.idle_cpu_seconds()
        latencies = [max(0.0, watcher.ready[name] - at) for name, at in created.items()]
        return Measurement(
            objects_per_second=self.load.objects / (finished - started),
            cpu_seconds=cpu_after - cpu_before,
            peak_rss_bytes=self.process.peak_rss_bytes(),
            latency_p50=percentile(latencies, 0.50),
            latency_p99=percentile(latencies, 0.99),
        )

    async def create_gadgets(self, client: Client) -> dict[str, float]:
        """Create the Gadgets; when each create returned."""
        created: dict[str, float] = {}
        indexes = iter(range(self.load.objects))
        started = time.perf_counter()
        rate = self.load.rate

        async def creator() -> None:
            for index in indexes:  # shared: each index goes to one creator
                if rate:
                    await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
                name = f"gadget-{index:06d}"
                await client.call("POST", COLLECTION, 201, gadget(name))
                created[name] = time.perf_counter()

        async with asyncio.TaskGroup() as group:
            for _ in range(self.load.loaders):
                group.create_task(creator())
        return created

    async def until(self, waiting: Awaitable[ResultT], watching: asyncio.Task[None],
                    timeout: float, what: str) -> ResultT:  # noqa: ASYNC109
        """`waiting`'s result, unless the contender exits, the watcher fails, or `timeout`
        seconds pass first (RoundFailed)."""
        work = asyncio.ensure_future(waiting)
        exited = asyncio.ensure_future(self.process.exited())
        try:
            done, _ = await asyncio.wait({work, exited, watching}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (work, exited):
                task.cancel()
            await asyncio.gather(work, exited, return_exceptions=True)
        if work in done:
            return work.result()
        if exited in done:
            raise RoundFailed(f"exited with status {exited.result()} {what}")
        if watching in done:
            watching.result()  # raises the watcher's error
            raise RuntimeError("the watcher stopped")
        raise RoundFailed(f"timed out after {timeout:.0f} s {what}")

    async def idle_cpu_seconds(self) -> float:
        """The contender's CPU time once it is idle (or after IDLE_TIMEOUT seconds)."""
        deadline = time.monotonic() + IDLE_TIMEOUT
        before = self.process.cpu_seconds()
        while time.monotonic() < deadline:
            await asyncio.sleep(IDLE_WINDOW)
            now = self.process.cpu_seconds()
            if now - before <= IDLE_CPU:
                return now
            before = now
        return before

"""Watch fan-out: many watch streams on one resource, and how fast writes reach all of them."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from .report import percentile
from .resources import COLLECTION, StatusWriter, concurrently

WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class FanoutResult:
    latency_median: float  # seconds, write response to delivery to the last watcher
    latency_p95: float
    events_per_second: float  # events delivered, summed over watchers


class Delivery:
    """When each event (by resourceVersion) has reached every watcher."""

    def __init__(self, watchers: int) -> None:
        self.watchers = watchers
        self.counts: dict[str, int] = {}
        self.completed: dict[str, float] = {}
        self._waiting: dict[str, asyncio.Future[float]] = {}

    def seen(self, version: str, now: float) -> None:
        count = self.counts.get(version, 0) + 1
        self.counts[version] = count
        if count == self.watchers:
            self.completed[version] = now
            waiter = self._waiting.pop(version, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(now)

    async def all_seen(self, version: str) -> float:
        if version in self.completed:
            return self.completed[version]
        waiter = self._waiting.setdefault(version, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(waiter, WAIT_SECONDS)
        except TimeoutError:
            seen = self.counts.get(version, 0)
            raise RuntimeError(f"event {version} reached {seen} of {self.watchers} watchers "
                               f"within {WAIT_SECONDS:.0f} s") from None


async def watch_stream(session: aiohttp.ClientSession, url: str, ready: asyncio.Event,
                       delivery: Delivery) -> None:
    async with session.get(url) as resp:
        if resp.status != 200:
            raise RuntimeError(f"watch: HTTP {resp.status}: {(await resp.read())[:300]!r}")
        ready.set()
        pending = b""
        async for chunk in resp.content.iter_any():
            now = time.perf_counter()
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                event = json.loads(line)
                if event["type"] == "ERROR":
                    raise RuntimeError(f"watch: error event {event['object']}")
                delivery.seen(str(event["object"]["metadata"]["resourceVersion"]), now)


async def watch_fanout(base: str, writer: StatusWriter, names: list[str], *, watchers: int,
                       events: int, burst: int, clients: int) -> FanoutResult:
    """Open `watchers` streams; time `events` sequential writes, then `burst` concurrent ones.

    Writes are status patches of `names`, cycled; `burst` must not exceed `len(names)` so that
    concurrent writes never race on one object.
    """
    listed = await writer.client.call("GET", f"{COLLECTION}?limit=1", 200)
    start_version = listed["metadata"]["resourceVersion"]
    url = f"{base}{COLLECTION}?watch=1&resourceVersion={start_version}&timeoutSeconds=900"
    delivery = Delivery(watchers)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        readies = [asyncio.Event() for _ in range(watchers)]
        streams = [asyncio.create_task(watch_stream(session, url, ready, delivery))
                   for ready in readies]
        opened = asyncio.ensure_future(asyncio.gather(*(r.wait() for r in readies)))
        try:
            started: list[asyncio.Future[Any]] = [opened, *streams]
            await asyncio.wait(started, timeout=WAIT_SECONDS,
                               return_when=asyncio.FIRST_COMPLETED)
            for task in streams:
                if task.done():
                    task.result()  # a watch that failed or ended early raises here
                    raise RuntimeError("a watch stream ended early")
            if not opened.done():
                raise RuntimeError(f"the watches did not all open within {WAIT_SECONDS:.0f} s")

            # Latency: one write at a time, from its response to the last watcher's delivery.
            latencies: list[float] = []
            for i in range(events):
                version = await writer.patch(names[i % len(names)])
                answered = time.perf_counter()
                latencies.append((await delivery.all_seen(version)) - answered)

            # Delivery rate: a burst of concurrent writes over distinct objects.
            written: list[str] = []

            async def write(name: str) -> None:
                written.append(await writer.patch(name))

            targets = [names[i % len(names)] for i in range(burst)]
            start = time.perf_counter()
            await concurrently(clients, iter(targets), write)
            last = max([await delivery.all_seen(version) for version in written])
            return FanoutResult(
                latency_median=percentile(latencies, 0.5),
                latency_p95=percentile(latencies, 0.95),
                events_per_second=len(written) * watchers / (last - start),
            )
        finally:
            opened.cancel()
            for task in streams:
                task.cancel()
            await asyncio.gather(opened, *streams, return_exceptions=True)



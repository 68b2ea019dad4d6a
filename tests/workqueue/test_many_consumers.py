"""100 consumers on one queue: no item processed twice at once, exactly once per add-generation."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from controllerkit.clock import FakeClock
from controllerkit.workqueue import QueueShutDown, RateLimitingQueue

CONSUMERS = 100
KEYS = [f"default/widget-{index}" for index in range(500)]


class Consumers:
    """Consumer tasks that record what they process and check nobody else holds it."""

    def __init__(self, queue: RateLimitingQueue[str], rng: random.Random) -> None:
        self.queue = queue
        self.rng = rng
        self.in_flight: set[str] = set()
        self.processed: Counter[str] = Counter()
        self.overlaps: list[str] = []
        self.idle = asyncio.Event()

    async def consume(self) -> None:
        while True:
            try:
                item = await self.queue.get()
            except QueueShutDown:
                return
            if item in self.in_flight:
                self.overlaps.append(item)
            self.in_flight.add(item)
            for _ in range(self.rng.randrange(3)):  # interleave with the other consumers
                await asyncio.sleep(0)
            self.processed[item] += 1
            self.in_flight.discard(item)
            self.queue.done(item)
            if not self.in_flight and not len(self.queue):
                self.idle.set()

    async def wait_idle(self) -> None:
        while self.in_flight or len(self.queue):
            self.idle.clear()
            await asyncio.wait_for(self.idle.wait(), 10)


async def test_each_key_is_processed_exactly_once_per_add_generation() -> None:
    queue: RateLimitingQueue[str] = RateLimitingQueue(clock=FakeClock())
    consumers = Consumers(queue, random.Random(7))
    tasks = [asyncio.create_task(consumers.consume()) for _ in range(CONSUMERS)]
    for generation in range(1, 6):
        for key in KEYS:
            queue.add(key)
            queue.add(key)  # duplicates while queued collapse
        await consumers.wait_idle()
        assert set(consumers.processed.values()) == {generation}
    await queue.shutdown_with_drain()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert consumers.overlaps == []


async def test_adds_during_processing_are_coalesced_and_never_lost() -> None:
    queue: RateLimitingQueue[str] = RateLimitingQueue(clock=FakeClock())
    rng = random.Random(11)
    consumers = Consumers(queue, rng)
    tasks = [asyncio.create_task(consumers.consume()) for _ in range(CONSUMERS)]
    adds: Counter[str] = Counter()
    processed_at_last_add: dict[str, int] = {}
    for _ in range(20):
        for key in rng.sample(KEYS, 100):
            queue.add(key)
            adds[key] += 1
            processed_at_last_add[key] = consumers.processed[key]
        await asyncio.sleep(0)  # let consumers take some, so later adds hit items in flight
    await consumers.wait_idle()
    await queue.shutdown_with_drain()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)

    assert consumers.overlaps == []
    for key, count in adds.items():
        # processed after its last add, and never more often than it was added
        assert consumers.processed[key] > processed_at_last_add[key], key
        assert consumers.processed[key] <= count, key
    assert set(consumers.processed) == set(adds)

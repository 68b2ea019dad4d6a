"""Work-queue benchmark: add+get+done throughput, memory per queued key, priority latency.

Every figure is measured on distinct keys shaped like controller keys ("namespace/name"), in
one process, on the real clock. Throughput: all keys are added, then handed out and marked
done (the shape of controller-runtime's `BenchmarkAddGetDone`), time from the first add to
the last done. "awaiting per item" consumers await once per item (`asyncio.sleep(0)`, the
least a reconcile does) so that several consumers really interleave; the 16-consumer figure
has a 1-consumer twin under the same condition. Priority: a normal-priority item added
behind a queued low-priority backlog; the time from its add to its `get`, and how many
backlog items were handed out before it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass

from controllerkit.workqueue import (
    LOW_PRIORITY,
    Queue,
    RateLimitingQueue,
    WorkqueueMetrics,
)

from .report import Figure, environment, run_and_print

BATCH = 1_000  # keys added between yields when several consumers run


@dataclass(frozen=True)
class Settings:
    keys: int
    backlog: int
    repeat: int


def make_keys(count: int, prefix: str = "widget") -> list[str]:
    return [f"default/{prefix}-{index:06d}" for index in range(count)]


async def tight_loop(queue: Queue[str], keys: list[str]) -> float:
    """One consumer, no awaits but `get`: items per second."""
    start = time.perf_counter()
    add, get, done = queue.add, queue.get, queue.done
    for key in keys:
        add(key)
    for _ in range(len(keys)):
        done(await get())
    elapsed = time.perf_counter() - start
    assert len(queue) == 0
    return len(keys) / elapsed


async def with_consumers(queue: Queue[str], keys: list[str], consumers: int) -> float:
    """`consumers` tasks that await once per item, fed in batches: items per second."""
    remaining = len(keys)
    finished = asyncio.Event()

    async def consume() -> None:
        nonlocal remaining
        while True:
            item = await queue.get()
            await asyncio.sleep(0)
            queue.done(item)
            remaining -= 1
            if remaining == 0:
                finished.set()

    start = time.perf_counter()
    tasks = [asyncio.create_task(consume()) for _ in range(consumers)]
    for offset in range(0, len(keys), BATCH):
        for key in keys[offset:offset + BATCH]:
            queue.add(key)
        await asyncio.sleep(0)
    await finished.wait()
    elapsed = time.perf_counter() - start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return len(keys) / elapsed


def memory_per_key(keys: list[str]) -> float:
    """Bytes the queue allocates per queued key (the keys themselves excluded)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        queue: RateLimitingQueue[str] = RateLimitingQueue()
        for key in keys:
            queue.add(key)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(queue) == len(keys)
    return (after - before) / len(keys)


async def behind_backlog(backlog: list[str], samples: int = 101) -> tuple[float, int]:
    """New normal items, one at a time, behind a low-priority backlog.

    Returns the median microseconds from an add to the `get` that hands it out, and how many
    backlog items were handed out before the new ones (in total).
    """
    queue: RateLimitingQueue[str] = RateLimitingQueue()
    for key in backlog:
        queue.add(key, LOW_PRIORITY)
    waits: list[float] = []
    served_before = 0
    for index in range(samples):
        new = f"default/new-object-{index}"
        start = time.perf_counter()
        queue.add(new)
        while (item := await queue.get()) != new:
            queue.done(item)
            served_before += 1
        waits.append(time.perf_counter() - start)
        queue.done(item)
    return statistics.median(waits) * 1e6, served_before


def new_figures(settings: Settings) -> dict[str, Figure]:
    keys = f"{settings.keys:,} keys"
    return {
        "rl_1": Figure("add+get+done 1 consumer", f"items/s (RateLimitingQueue, {keys})"),
        "plain_1": Figure("add+get+done 1 consumer, Queue", f"items/s (plain Queue, {keys})"),
        "metrics_1": Figure("add+get+done 1 consumer, metrics on",
                            f"items/s (RateLimitingQueue + Prometheus, {keys})"),
        "await_1": Figure("add+get+done 1 consumer awaiting", f"items/s (await per item, {keys})"),
        "await_16": Figure("add+get+done 16 consumers awaiting",
                           f"items/s (await per item, {keys})"),
        "memory": Figure("memory per queued key", f"bytes (tracemalloc, {keys})"),
        "backlog_wait": Figure("new item behind low backlog",
                               f"us add to get (median of 101, {settings.backlog:,} "
                               f"low-priority queued)"),
        "backlog_before": Figure("served before the new items",
                                 "backlog items (0: new items go first)"),
    }


async def repetition(settings: Settings, figures: dict[str, Figure], run: int) -> None:
    keys = make_keys(settings.keys, prefix=f"r{run}")
    figures["rl_1"].add(await tight_loop(RateLimitingQueue(), keys))
    figures["plain_1"].add(await tight_loop(Queue(), keys))
    metrics = WorkqueueMetrics(registry=None)  # unregistered families: nothing is exported
    figures["metrics_1"].add(await tight_loop(
        RateLimitingQueue(name=f"bench-{run}", metrics=metrics), keys))
    figures["await_1"].add(await with_consumers(RateLimitingQueue(), keys, 1))
    figures["await_16"].add(await with_consumers(RateLimitingQueue(), keys, 16))
    figures["memory"].add(memory_per_key(keys))
    wait, before = await behind_backlog(make_keys(settings.backlog, prefix=f"old{run}"))
    figures["backlog_wait"].add(wait)
    figures["backlog_before"].add(before)


async def run(settings: Settings) -> list[Figure]:
    figures = new_figures(settings)
    for index in range(settings.repeat):
        print(f"repetition {index + 1}/{settings.repeat}", file=sys.stderr, flush=True)
        await repetition(settings, figures, index)
    return list(figures.values())


def parse_args(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workqueue",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run: 10,000 keys, once")
    parser.add_argument("--repeat", type=int, help="repetitions per figure (5; quick: 1)")
    parser.add_argument("--keys", type=int, help="distinct keys per throughput run (100000)")
    parser.add_argument("--backlog", type=int, help="low-priority backlog (100000)")
    args = parser.parse_args(argv)

    def pick(given: int | None, normal: int, smoke: int) -> int:
        return given if given is not None else (smoke if args.quick else normal)

    settings = Settings(keys=pick(args.keys, 100_000, 10_000),
                        backlog=pick(args.backlog, 100_000, 10_000),
                        repeat=pick(args.repeat, 5, 1))
    if min(settings.keys, settings.backlog, settings.repeat) < 1:
        parser.error("counts must be positive")
    return settings


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    print("controllerkit work-queue benchmark")
    print(environment())
    runs = "1 repetition" if settings.repeat == 1 else f"{settings.repeat} repetitions"
    print(f"{runs}; median, min and max over them", flush=True)
    return run_and_print(run(settings))


if __name__ == "__main__":
    sys.exit(main())

"""Metrics: client-go's names and meaning, labelled by queue name, measured on the queue's clock."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from controllerkit.clock import FakeClock
from controllerkit.workqueue import RateLimitingQueue, WorkqueueMetrics

NAMES = (
    "workqueue_depth",
    "workqueue_adds_total",
    "workqueue_queue_duration_seconds",
    "workqueue_work_duration_seconds",
    "workqueue_unfinished_work_seconds",
    "workqueue_longest_running_processor_seconds",
    "workqueue_retries_total",
)


def new_queue(name: str = "widgets") -> tuple[RateLimitingQueue[str], FakeClock,
                                                CollectorRegistry]:
    registry = CollectorRegistry()
    clock = FakeClock()
    queue: RateLimitingQueue[str] = RateLimitingQueue(
        name=name, clock=clock, metrics=WorkqueueMetrics(registry))
    return queue, clock, registry


def value(registry: CollectorRegistry, sample: str, name: str = "widgets") -> float:
    found = registry.get_sample_value(sample, {"name": name})
    assert found is not None, f"no sample {sample}{{name={name!r}}}"
    return found


async def test_every_client_go_metric_is_exported_for_the_queue() -> None:
    queue, _, registry = new_queue()
    queue.add("a")
    queue.add_after("b", 1.0)
    queue.done(await queue.get())
    exported = {family.name for family in registry.collect()}
    # prometheus-client reports counters without their `_total` suffix
    assert exported == {name.removesuffix("_total") for name in NAMES}


async def test_depth_and_adds_count_dirty_items_not_duplicates() -> None:
    queue, _, registry = new_queue()
    for item in ["a", "b", "a"]:
        queue.add(item)
    assert value(registry, "workqueue_depth") == 2
    assert value(registry, "workqueue_adds_total") == 2
    item = await queue.get()
    queue.add(item)  # held while processing: still dirty, counted
    assert value(registry, "workqueue_depth") == 2
    assert value(registry, "workqueue_adds_total") == 3
    queue.done(item)  # queued again: no new add
    assert value(registry, "workqueue_adds_total") == 3


async def test_queue_and_work_durations_are_measured_on_the_queue_clock() -> None:
    queue, clock, registry = new_queue()
    queue.add("a")
    clock.advance(2.0)
    item = await queue.get()
    clock.advance(0.5)
    queue.done(item)
    assert value(registry, "workqueue_queue_duration_seconds_sum") == 2.0
    assert value(registry, "workqueue_queue_duration_seconds_count") == 1
    assert value(registry, "workqueue_work_duration_seconds_sum") == 0.5


async def test_unfinished_work_and_longest_processor_reflect_items_in_flight() -> None:
    queue, clock, registry = new_queue()
    queue.add("a")
    queue.add("b")
    await queue.get()
    clock.advance(3.0)
    await queue.get()
    clock.advance(1.0)
    assert value(registry, "workqueue_unfinished_work_seconds") == 5.0
    assert value(registry, "workqueue_longest_running_processor_seconds") == 4.0
    queue.done("a")
    queue.done("b")
    assert value(registry, "workqueue_unfinished_work_seconds") == 0.0


async def test_retries_count_delayed_adds() -> None:
    queue, _, registry = new_queue()
    queue.add_rate_limited("a")
    queue.add_after("b", 1.0)
    queue.add("c")
    assert value(registry, "workqueue_retries_total") == 2


async def test_two_running_queues_cannot_share_a_name() -> None:
    registry = CollectorRegistry()
    metrics = WorkqueueMetrics(registry)
    first: RateLimitingQueue[str] = RateLimitingQueue(name="widgets", metrics=metrics)
    with pytest.raises(ValueError, match="'widgets' is already recording metrics"):
        RateLimitingQueue(name="widgets", metrics=metrics)
    first.shutdown()
    RateLimitingQueue(name="widgets", metrics=metrics)  # a restarted controller


def test_a_queue_with_metrics_needs_a_name() -> None:
    with pytest.raises(ValueError, match="needs a name"):
        RateLimitingQueue(metrics=WorkqueueMetrics(CollectorRegistry()))

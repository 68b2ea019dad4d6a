"""Queue: dedup, one processor per item, FIFO, waiting consumers, shutdown."""

from __future__ import annotations

import asyncio

import pytest

from controllerkit.clock import FakeClock
from controllerkit.workqueue import Queue, QueueShutDown


async def yield_to_loop(times: int = 3) -> None:
    """Let woken tasks run (a few loop iterations; no time passes)."""
    for _ in range(times):
        await asyncio.sleep(0)


def new_queue() -> Queue[str]:
    return Queue(clock=FakeClock())


async def test_an_item_added_twice_while_queued_is_handed_out_once() -> None:
    queue = new_queue()
    queue.add("a")
    queue.add("a")
    assert len(queue) == 1
    assert await queue.get() == "a"
    assert len(queue) == 0


async def test_items_are_handed_out_in_the_order_they_were_added() -> None:
    queue = new_queue()
    for item in ["c", "a", "b", "a"]:
        queue.add(item)
    assert [await queue.get() for _ in range(3)] == ["c", "a", "b"]


async def test_an_item_added_while_processing_is_held_until_done() -> None:
    queue = new_queue()
    queue.add("a")
    assert await queue.get() == "a"
    queue.add("a")
    queue.add("a")
    assert len(queue) == 0  # held, not handed to a second consumer

    second = asyncio.ensure_future(queue.get())
    await yield_to_loop()
    assert not second.done()

    queue.done("a")
    assert await asyncio.wait_for(second, 1) == "a"
    queue.done("a")
    assert len(queue) == 0  # two adds while processing: queued again once


async def test_done_without_a_pending_add_does_not_queue_again() -> None:
    queue = new_queue()
    queue.add("a")
    queue.done(await queue.get())
    assert len(queue) == 0


async def test_a_held_item_goes_to_the_back_of_the_queue() -> None:
    queue = new_queue()
    queue.add("a")
    assert await queue.get() == "a"
    queue.add("a")
    queue.add("b")
    queue.done("a")
    assert [await queue.get(), await queue.get()] == ["b", "a"]


async def test_get_waits_for_an_add() -> None:
    queue = new_queue()
    getter = asyncio.ensure_future(queue.get())
    await yield_to_loop()
    assert not getter.done()
    queue.add("a")
    assert await asyncio.wait_for(getter, 1) == "a"


async def test_each_waiting_consumer_gets_a_different_item() -> None:
    queue = new_queue()
    getters = [asyncio.ensure_future(queue.get()) for _ in range(3)]
    await yield_to_loop()
    for item in ["a", "b", "c"]:
        queue.add(item)
    results = await asyncio.wait_for(asyncio.gather(*getters), 1)
    assert sorted(results) == ["a", "b", "c"]


async def test_a_cancelled_get_loses_no_item() -> None:
    queue = new_queue()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await yield_to_loop()
    queue.add("a")  # wakes `first` ...
    first.cancel()  # ... which is cancelled before it runs: the wake-up passes on
    assert await asyncio.wait_for(second, 1) == "a"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_done_for_an_item_not_being_processed_is_an_error() -> None:
    queue = new_queue()
    queue.add("a")
    with pytest.raises(ValueError, match=r"'a'.*not being processed"):
        queue.done("a")


async def test_shutdown_wakes_waiting_consumers_with_queue_shut_down() -> None:
    queue: Queue[str] = Queue(name="widgets", clock=FakeClock())
    getter = asyncio.ensure_future(queue.get())
    await yield_to_loop()
    queue.shutdown()
    with pytest.raises(QueueShutDown, match="widgets"):
        await asyncio.wait_for(getter, 1)
    assert queue.shutting_down


async def test_after_shutdown_queued_items_are_dropped_and_adds_ignored() -> None:
    queue = new_queue()
    queue.add("a")
    queue.shutdown()
    queue.add("b")
    assert len(queue) == 0
    with pytest.raises(QueueShutDown):
        await queue.get()


async def test_items_in_flight_can_be_done_after_shutdown_without_requeue() -> None:
    queue = new_queue()
    queue.add("a")
    assert await queue.get() == "a"
    queue.add("a")  # held
    queue.shutdown()
    queue.done("a")
    assert len(queue) == 0


async def test_shutdown_with_drain_waits_for_items_in_flight() -> None:
    queue = new_queue()
    queue.add("a")
    queue.add("b")
    assert await queue.get() == "a"
    drain = asyncio.ensure_future(queue.shutdown_with_drain())
    await yield_to_loop()
    assert not drain.done()
    with pytest.raises(QueueShutDown):
        await queue.get()  # no new work during the drain: "b" is dropped
    queue.done("a")
    await asyncio.wait_for(drain, 1)


async def test_shutdown_with_drain_returns_at_once_when_nothing_is_in_flight() -> None:
    queue = new_queue()
    queue.add("a")
    await asyncio.wait_for(queue.shutdown_with_drain(), 1)


async def test_shutdown_ends_a_pending_drain() -> None:
    queue = new_queue()
    queue.add("a")
    await queue.get()
    drain = asyncio.ensure_future(queue.shutdown_with_drain())
    await yield_to_loop()
    queue.shutdown()
    await asyncio.wait_for(drain, 1)


def test_priority_aging_must_be_a_positive_number() -> None:
    for aging in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="priority_aging"):
            Queue(priority_aging=aging)

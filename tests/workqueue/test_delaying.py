"""DelayingQueue: exact deadlines on a fake clock, merged delays, one timer."""

from __future__ import annotations

import asyncio

from controllerkit.clock import SYSTEM_CLOCK, FakeClock
from controllerkit.workqueue import LOW_PRIORITY, DelayingQueue


def new_queue() -> tuple[DelayingQueue[str], FakeClock]:
    clock = FakeClock()
    return DelayingQueue(clock=clock), clock


async def test_an_item_is_added_exactly_at_its_deadline() -> None:
    queue, clock = new_queue()
    queue.add_after("a", 2.5)
    assert (len(queue), queue.delayed) == (0, 1)
    clock.advance(2.4999)
    assert len(queue) == 0
    clock.advance_to(2.5)
    assert (len(queue), queue.delayed) == (1, 0)
    assert await queue.get() == "a"


async def test_items_with_different_delays_arrive_in_deadline_order() -> None:
    queue, clock = new_queue()
    queue.add_after("late", 3.0)
    queue.add_after("early", 1.0)
    queue.add_after("middle", 2.0)
    clock.advance(10.0)
    assert [await queue.get() for _ in range(3)] == ["early", "middle", "late"]


async def test_the_earliest_of_several_delays_wins() -> None:
    queue, clock = new_queue()
    queue.add_after("a", 5.0)
    queue.add_after("a", 1.0)
    queue.add_after("a", 3.0)
    assert queue.delayed == 1
    clock.advance(1.0)
    assert len(queue) == 1
    queue.done(await queue.get())
    clock.advance(10.0)
    assert len(queue) == 0  # the later delays were merged into the first, not stacked


async def test_a_zero_or_negative_delay_adds_at_once() -> None:
    queue, _ = new_queue()
    queue.add_after("a", 0.0)
    queue.add_after("b", -1.0)
    assert len(queue) == 2


async def test_an_immediate_add_replaces_a_pending_delay() -> None:
    queue, clock = new_queue()
    queue.add_after("a", 5.0, LOW_PRIORITY)
    queue.add("a")
    assert (len(queue), queue.delayed) == (1, 0)
    queue.done(await queue.get())
    clock.advance(5.0)
    assert len(queue) == 0


async def test_a_delayed_add_of_a_queued_item_changes_nothing_but_priority() -> None:
    queue, clock = new_queue()
    queue.add("a")
    queue.add_after("a", 5.0)
    assert (len(queue), queue.delayed) == (1, 0)
    queue.done(await queue.get())
    clock.advance(5.0)
    assert len(queue) == 0


async def test_an_item_due_while_processing_is_held_until_done() -> None:
    queue, clock = new_queue()
    queue.add("a")
    assert await queue.get() == "a"
    queue.add_after("a", 1.0)  # e.g. a reconcile asking to look again later
    clock.advance(1.0)
    assert len(queue) == 0
    queue.done("a")
    assert len(queue) == 1


async def test_one_timer_serves_many_delayed_items() -> None:
    queue, clock = new_queue()
    for index in range(100):
        queue.add_after(f"item-{index}", 1.0 + index)
    assert clock.pending_timers == 1
    assert clock.next_deadline == 1.0
    clock.advance(50.0)
    assert len(queue) == 50
    assert clock.pending_timers == 1


async def test_an_earlier_delay_rearms_the_timer() -> None:
    queue, clock = new_queue()
    queue.add_after("late", 10.0)
    queue.add_after("early", 2.0)
    assert clock.next_deadline == 2.0
    assert clock.pending_timers == 1


async def test_shutdown_cancels_the_timer_and_drops_delayed_items() -> None:
    queue, clock = new_queue()
    queue.add_after("a", 1.0)
    queue.shutdown()
    assert clock.pending_timers == 0
    queue.add_after("b", 1.0)
    clock.advance(5.0)
    assert (len(queue), queue.delayed) == (0, 0)


async def test_churn_on_delayed_items_does_not_grow_the_heap_without_bound() -> None:
    queue, _ = new_queue()
    for _ in range(1000):
        queue.add_after("a", 100.0)
        queue.add("a")  # leaves a stale heap entry behind each time
        queue.done(await queue.get())
    assert len(queue._heap) < 100


async def test_a_delay_on_the_real_clock_is_delivered() -> None:
    queue: DelayingQueue[str] = DelayingQueue(clock=SYSTEM_CLOCK)
    queue.add_after("a", 0.001)
    assert len(queue) == 0
    assert await asyncio.wait_for(queue.get(), 5) == "a"

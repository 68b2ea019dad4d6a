"""Priorities: live changes before a backlog, raised priorities, and aging (no starvation)."""

from __future__ import annotations

from controllerkit.clock import FakeClock
from controllerkit.workqueue import LOW_PRIORITY, NORMAL_PRIORITY, Queue


async def drain(queue: Queue[str]) -> list[str]:
    served = []
    while len(queue):
        item = await queue.get()
        queue.done(item)
        served.append(item)
    return served


async def test_a_new_normal_item_is_served_before_a_low_priority_backlog() -> None:
    clock = FakeClock()
    queue: Queue[str] = Queue(clock=clock)
    for index in range(100_000):
        queue.add(f"old-{index}", LOW_PRIORITY)
    clock.advance(5.0)
    queue.add("new")
    assert await queue.get() == "new"
    assert await queue.get() == "old-0"


async def test_higher_priority_first_then_fifo_within_a_priority() -> None:
    queue: Queue[str] = Queue(clock=FakeClock())
    queue.add("low-1", LOW_PRIORITY)
    queue.add("normal-1")
    queue.add("high-1", 10)
    queue.add("low-2", LOW_PRIORITY)
    queue.add("normal-2")
    assert await drain(queue) == ["high-1", "normal-1", "normal-2", "low-1", "low-2"]


async def test_adding_a_queued_item_at_a_higher_priority_moves_it_up() -> None:
    clock = FakeClock()
    queue: Queue[str] = Queue(clock=clock)
    for item in ["a", "b", "c"]:
        queue.add(item, LOW_PRIORITY)
    queue.add("n")
    clock.advance(1.0)
    queue.add("c", NORMAL_PRIORITY)  # a live change to an object in the backlog
    assert len(queue) == 4
    assert await drain(queue) == ["n", "c", "a", "b"]


async def test_adding_a_queued_item_at_a_lower_priority_keeps_its_place() -> None:
    queue: Queue[str] = Queue(clock=FakeClock())
    queue.add("a")
    queue.add("b")
    queue.add("a", LOW_PRIORITY)
    assert await drain(queue) == ["a", "b"]


async def test_an_aged_item_keeps_its_place_when_added_again_at_a_higher_priority() -> None:
    clock = FakeClock()
    queue: Queue[str] = Queue(clock=clock, priority_aging=1.0)
    queue.add("old", LOW_PRIORITY)  # virtual time 0 + 100
    clock.advance(150.0)
    queue.add("fresh")  # virtual time 150
    queue.add("old")  # normal now would be 150: later than its aged place, so it stays
    assert await drain(queue) == ["old", "fresh"]


async def test_an_item_held_while_processing_keeps_the_highest_priority_it_was_added_with() -> None:
    queue: Queue[str] = Queue(clock=FakeClock())
    queue.add("a", LOW_PRIORITY)
    assert await queue.get() == "a"
    queue.add("a", LOW_PRIORITY)
    queue.add("a", NORMAL_PRIORITY)
    queue.add("b", LOW_PRIORITY)
    queue.done("a")
    assert await drain(queue) == ["a", "b"]


async def test_a_low_priority_item_overtakes_normal_items_added_after_its_handicap() -> None:
    """The documented bound: priority p at time t goes before priority q after t + (q-p)*aging."""
    clock = FakeClock()
    queue: Queue[str] = Queue(clock=clock, priority_aging=0.5)
    queue.add("low", LOW_PRIORITY)  # handicap: 100 points * 0.5 s = 50 s
    clock.advance(49.0)
    queue.add("normal-at-49")
    clock.advance(2.0)
    queue.add("normal-at-51")
    assert await drain(queue) == ["normal-at-49", "low", "normal-at-51"]


async def test_a_low_priority_item_is_not_starved_by_a_continuous_stream_of_normal_adds() -> None:
    """Saturation: two normal adds per item served, forever; the low item still gets served.

    Bound (defaults, aging 1 s a point): it goes before every normal item added more than
    100 s after it, so it is served once the normal items of its first 100 s are.
    """
    clock = FakeClock()
    queue: Queue[str] = Queue(clock=clock)
    queue.add("low", LOW_PRIORITY)
    added_at: dict[str, float] = {}
    served: list[str] = []
    step = 0
    while "low" not in served:
        for lane in ("x", "y"):
            name = f"{lane}-{step}"
            added_at[name] = clock.monotonic()
            queue.add(name)
        item = await queue.get()
        queue.done(item)
        served.append(item)
        clock.advance(0.1)
        step += 1
        assert step < 10_000, "the low-priority item starved"

    # exactly the normal items added within its 100 s handicap went first (a tie goes to the
    # higher priority), and it was served within a bounded number of steps
    assert set(served[:-1]) == {name for name, at in added_at.items() if at <= 100.0}
    assert len(served) > 1000


async def test_on_equal_virtual_times_the_higher_priority_goes_first() -> None:
    clock = FakeClock()
    queue: Queue[str] = Queue(clock=clock, priority_aging=1.0)
    queue.add("low", LOW_PRIORITY)  # virtual time 0 + 100
    clock.advance(100.0)
    queue.add("normal")  # virtual time 100
    assert await drain(queue) == ["normal", "low"]


async def test_an_item_moved_up_and_added_again_at_the_same_instant_keeps_fifo_order() -> None:
    queue: Queue[str] = Queue(clock=FakeClock())  # the clock never moves
    queue.add("w", LOW_PRIORITY)
    queue.add("x", LOW_PRIORITY)
    queue.add("x", NORMAL_PRIORITY)  # moves up; its old low-priority entry is left behind
    assert await queue.get() == "x"
    queue.done("x")
    queue.add("y", LOW_PRIORITY)
    queue.add("x", LOW_PRIORITY)  # same priority, same instant as the entry left behind
    assert await drain(queue) == ["w", "y", "x"]

"""Clocks: the fake one fires timers exactly at their deadlines; the real one fires at all."""

from __future__ import annotations

import asyncio

import pytest

from controllerkit.clock import SYSTEM_CLOCK, Clock, FakeClock


def test_timers_fire_in_deadline_order_with_the_clock_at_their_deadline() -> None:
    clock = FakeClock(start=10.0)
    fired: list[tuple[str, float]] = []
    clock.call_at(12.0, lambda: fired.append(("b", clock.monotonic())))
    clock.call_at(11.0, lambda: fired.append(("a", clock.monotonic())))
    clock.call_at(12.0, lambda: fired.append(("c", clock.monotonic())))
    clock.advance(1.5)
    assert fired == [("a", 11.0)]
    clock.advance(10.0)
    assert fired == [("a", 11.0), ("b", 12.0), ("c", 12.0)]
    assert clock.monotonic() == 21.5


def test_a_timer_set_by_a_callback_fires_within_the_same_advance() -> None:
    clock = FakeClock()
    fired: list[float] = []

    def first() -> None:
        fired.append(clock.monotonic())
        clock.call_at(clock.monotonic() + 1.0, lambda: fired.append(clock.monotonic()))

    clock.call_at(1.0, first)
    clock.advance(5.0)
    assert fired == [1.0, 2.0]


def test_a_cancelled_timer_never_fires() -> None:
    clock = FakeClock()
    fired: list[str] = []
    timer = clock.call_at(1.0, lambda: fired.append("x"))
    assert (clock.pending_timers, clock.next_deadline) == (1, 1.0)
    timer.cancel()
    assert (clock.pending_timers, clock.next_deadline) == (0, None)
    clock.advance(2.0)
    assert fired == []


def test_the_fake_clock_cannot_go_back() -> None:
    clock = FakeClock(start=5.0)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1.0)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance_to(4.0)


async def test_sleep_returns_once_the_clock_is_advanced_past_it() -> None:
    clock = FakeClock()
    sleeper = asyncio.ensure_future(clock.sleep(3.0))
    await asyncio.sleep(0)
    clock.advance(2.0)
    await asyncio.sleep(0)
    assert not sleeper.done()
    clock.advance(1.0)
    await asyncio.wait_for(sleeper, 1)


async def test_a_cancelled_sleep_leaves_no_timer_behind() -> None:
    clock = FakeClock()
    sleeper = asyncio.ensure_future(clock.sleep(3.0))
    await asyncio.sleep(0)
    sleeper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeper
    assert clock.pending_timers == 0


async def test_the_system_clock_fires_a_timer_on_the_running_loop() -> None:
    clock: Clock = SYSTEM_CLOCK
    fired = asyncio.Event()
    clock.call_at(clock.monotonic() + 0.001, fired.set)
    await asyncio.wait_for(fired.wait(), 5)

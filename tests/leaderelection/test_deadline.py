"""`before_deadline` on a clock the tests move."""

from __future__ import annotations

import asyncio

import pytest

from controllerkit.clock import FakeClock
from controllerkit.leaderelection.deadline import before_deadline


async def test_work_that_ends_before_the_deadline_gives_its_result() -> None:
    clock = FakeClock()
    asleep = asyncio.Event()

    async def quick() -> str:
        asleep.set()
        await clock.sleep(1)  # its timer is set before the test resumes
        return "done"

    task = asyncio.ensure_future(before_deadline(clock, 2.0, quick()))
    await asleep.wait()
    clock.advance(1)
    assert await task == "done"
    assert clock.pending_timers == 0


async def test_work_still_running_at_the_deadline_is_cancelled_with_a_timeout() -> None:
    clock = FakeClock()
    cancelled = asyncio.Event()

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    task = asyncio.ensure_future(before_deadline(clock, 2.0, stuck()))
    await asyncio.sleep(0)
    clock.advance(1.999)
    await asyncio.sleep(0)
    assert not task.done()
    clock.advance(0.001)
    with pytest.raises(TimeoutError):
        await task
    assert cancelled.is_set()


async def test_a_deadline_already_passed_does_not_start_the_work() -> None:
    clock = FakeClock(start=5.0)
    started = False

    async def work() -> None:
        nonlocal started
        started = True

    with pytest.raises(TimeoutError):
        await before_deadline(clock, 5.0, work())
    assert not started


async def test_cancelling_the_caller_is_a_cancellation_not_a_timeout() -> None:
    clock = FakeClock()
    task = asyncio.ensure_future(before_deadline(clock, 2.0, asyncio.Event().wait()))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

"""`before_deadline`: await something, but no later than a deadline on a `Clock`.

`asyncio.timeout` counts on the event loop's clock; leases count on an injected `Clock`, so a
test that moves a `FakeClock` sees a renewal cut off exactly at its deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from ..clock import Clock

__all__ = ["before_deadline"]

T = TypeVar("T")


async def before_deadline(clock: Clock, deadline: float, work: Coroutine[Any, Any, T]) -> T:
    """Await `work`, cancelling it when `clock` reaches `deadline` (then `TimeoutError`).

    `work` runs as a task; it has ended (or was cancelled and is ending) when this returns
    or raises. A deadline already passed raises at once without running `work`. Cancelling
    the caller cancels `work` and raises `CancelledError`, not `TimeoutError`, even while
    the caller is already being cancelled (a cleanup bounded by a deadline).
    """
    if clock.monotonic() >= deadline:
        work.close()
        raise TimeoutError
    task = asyncio.ensure_future(work)
    current = asyncio.current_task()
    # Cancellations of the caller already under way (a release during shutdown) are not ours.
    cancelling = current.cancelling() if current is not None else 0
    timed_out = False

    def expire() -> None:
        nonlocal timed_out
        timed_out = True
        task.cancel()

    timer = clock.call_at(deadline, expire)
    try:
        return await task
    except asyncio.CancelledError:
        if timed_out and (current is None or current.cancelling() == cancelling):
            raise TimeoutError from None
        raise
    finally:
        timer.cancel()
        if not task.done():
            task.cancel()

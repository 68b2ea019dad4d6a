"""`before_deadline`: await something, but no later than a deadline on a `Clock`.

`anyio.fail_after` counts on the event loop's clock; leases count on an injected `Clock`, so
a test that moves a `FakeClock` sees a renewal cut off exactly at its deadline.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

import anyio

from ..clock import Clock

__all__ = ["before_deadline"]

T = TypeVar("T")


async def before_deadline(clock: Clock, deadline: float, work: Coroutine[Any, Any, T]) -> T:
    """Await `work`, cancelling it when `clock` reaches `deadline` (then `TimeoutError`).

    `work` runs in the caller's task, in a cancel scope that a timer on `clock` cancels at
    the deadline; it has ended when this returns or raises. A deadline already passed raises
    at once without running `work`. Cancelling the caller cancels `work` and raises the
    cancellation, not `TimeoutError`; a caller shielded from cancellation (a cleanup bounded
    by a deadline) still gets `TimeoutError` at the deadline.
    """
    if clock.monotonic() >= deadline:
        work.close()
        raise TimeoutError
    with anyio.CancelScope() as scope:
        timer = clock.call_at(deadline, scope.cancel)
        try:
            return await work
        finally:
            timer.cancel()
    # Only the deadline cancels this scope, and the scope caught its cancellation.
    raise TimeoutError

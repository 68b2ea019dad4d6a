"""Time as the cache sees it: a monotonic clock that can sleep, injectable for tests.

The reflector's backoff, the informer's resync period and the checkpoint writer read time only
through a `Clock`, so tests drive them with `controllerkit.clock.FakeClock` instead of sleeping.
The cache needs less than the runtime-wide `controllerkit.clock.Clock` (no timers), so any
object with `monotonic()` and `sleep()` will do; the real clock is the runtime's.
"""

from __future__ import annotations

from typing import Protocol

from ..clock import SYSTEM_CLOCK, SystemClock

__all__ = ["SYSTEM_CLOCK", "Clock", "SystemClock"]


class Clock(Protocol):
    """A monotonic time source (seconds) and a way to wait on it."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

"""Time for the whole runtime: a monotonic clock that can sleep and fire timers, and a fake one.

Everything that waits or measures (work-queue delays and backoffs, token buckets, metrics,
reflector backoff, leases) reads time only through a `Clock`, so tests drive it with a
`FakeClock` and never sleep for real to check timing.

The protocol is a superset of `controllerkit.cache.clock.Clock` (`monotonic` and `sleep`):
every clock here can be handed to the cache as well.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["SYSTEM_CLOCK", "Clock", "FakeClock", "SystemClock", "Timer"]


class Timer(Protocol):
    """A pending `call_at`; `cancel()` makes sure the callback will not run (idempotent)."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """A monotonic time source in seconds, a way to sleep on it, and one-shot timers.

    Contract: `monotonic()` never decreases. `call_at(deadline, callback)` runs `callback` once
    on the event loop no earlier than `monotonic()` reaches `deadline` (at once, on the next
    loop iteration or inside `FakeClock.advance`, if the deadline has passed), unless the
    returned timer is cancelled first. Callbacks must not block and should not raise.
    """

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def call_at(self, deadline: float, callback: Callable[[], object]) -> Timer: ...


class SystemClock:
    """The real clock: `time.monotonic`, `asyncio.sleep` and the running loop's timers.

    `call_at` needs a running event loop (it schedules on it).
    """

    # A builtin, not a method: the work queue reads the time on every add.
    monotonic = staticmethod(time.monotonic)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def call_at(self, deadline: float, callback: Callable[[], object]) -> Timer:
        delay = max(0.0, deadline - time.monotonic())
        return asyncio.get_running_loop().call_later(delay, callback)


SYSTEM_CLOCK = SystemClock()


class _FakeTimer:
    __slots__ = ("callback", "cancelled", "deadline")

    def __init__(self, deadline: float, callback: Callable[[], object]) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock that moves only when told to: `advance(seconds)` or `advance_to(deadline)`.

    Advancing fires every due timer synchronously, in deadline order (ties in the order they
    were set), with `monotonic()` equal to that timer's deadline while its callback runs; timers
    set by a callback for a time inside the advanced span fire in the same call. So a delay is
    observable exactly at its deadline, never a little later. Tasks blocked in `sleep` are
    woken (their futures resolved) but only run once the caller yields to the event loop.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def call_at(self, deadline: float, callback: Callable[[], object]) -> Timer:
        timer = _FakeTimer(deadline, callback)
        heapq.heappush(self._timers, (deadline, next(self._order), timer))
        return timer

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced by `seconds` (yields once if `seconds` <= 0)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        timer = self.call_at(self._now + seconds, wake)
        try:
            await woken
        finally:
            timer.cancel()

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` (>= 0), firing every timer that falls due."""
        if seconds < 0:
            raise ValueError(f"a monotonic clock cannot go back ({seconds} s)")
        self.advance_to(self._now + seconds)

    def advance_to(self, deadline: float) -> None:
        """Move time forward to `deadline` (not before now), firing every timer due by then."""
        if deadline < self._now:
            raise ValueError(
                f"a monotonic clock cannot go back (now {self._now}, asked {deadline})")
        timers = self._timers
        while timers and timers[0][0] <= deadline:
            due, _, timer = heapq.heappop(timers)
            if timer.cancelled:
                continue
            self._now = max(self._now, due)
            timer.callback()
        self._now = deadline

    @property
    def next_deadline(self) -> float | None:
        """The earliest deadline of a timer that has not fired or been cancelled, if any."""
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    @property
    def pending_timers(self) -> int:
        """How many timers are set and neither fired nor cancelled."""
        return sum(1 for _, _, timer in self._timers if not timer.cancelled)

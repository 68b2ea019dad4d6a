"""The work queue: deduplicating, one processor per item, priorities that age.

Semantics follow client-go's `util/workqueue` (dirty and processing sets), with the
priorities controller-runtime added, minus their starvation: priority is a head start in time,
so waiting raises an item's effective priority until it overtakes newer, higher-priority work.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

from ..clock import SYSTEM_CLOCK, Clock
from .metrics import QueueMetrics, WorkqueueMetrics

__all__ = ["LOW_PRIORITY", "NORMAL_PRIORITY", "Queue", "QueueShutDown"]

T = TypeVar("T", bound=Hashable)

NORMAL_PRIORITY = 0
"""The priority of live changes, and of every add that names none."""

LOW_PRIORITY = -100
"""The priority of objects from an initial list or a resync: unchanged, so less urgent.

The value is controller-runtime's `handler.LowPriority`.
"""

DEFAULT_PRIORITY_AGING = 1.0
"""Seconds of waiting worth one priority point: a LOW item gets a 100 s handicap."""

# How queued items are kept: each priority level holds two parallel FIFO deques, the items and
# their stamps (virtual times, floats), and `Queue._queued` maps each queued item to the stamp
# of its one live entry. An entry whose stamp is not that very object is stale (its item was
# handed out, or moved to a level that serves it sooner) and is skipped. Identity, not
# equality: every add computes a new float object, and a stale stamp stays referenced by its
# deque, so two entries never share one, even when the clock has not moved between them.
# Floats and plain deques keep per-item memory small and create nothing the cyclic garbage
# collector has to traverse, however long the queue.


class QueueShutDown(Exception):
    """Raised by `get` once the queue is shut down: the consumer should stop."""

    def __init__(self, name: str) -> None:
        self.queue_name = name
        super().__init__(f"work queue {name!r} is shut down" if name else "work queue is shut down")


class _Level(Generic[T]):
    """The queued entries of one priority, in the order they were queued (FIFO)."""

    __slots__ = ("items", "offset", "priority", "stamps")

    def __init__(self, priority: int, aging: float) -> None:
        self.priority = priority
        # virtual time = queued-at + offset: higher priority, earlier virtual time
        self.offset = -priority * aging
        self.items: deque[T] = deque()
        self.stamps: deque[float] = deque()


class Queue(Generic[T]):
    """An asyncio work queue with client-go's guarantees and priorities that age.

    Guarantees:

    - *Dedup*: an item added while it waits in the queue is not queued twice.
    - *One processor per item*: `get` never hands out an item that was handed out and not yet
      `done`; an item added meanwhile is held and queued again when `done` is called, once,
      however many times it was added.
    - *No lost adds*: every item added after its last `get` is handed out again.
    - *Order*: each queued item has a virtual time, `queued_at - priority * priority_aging`;
      `get` hands out the smallest (ties: the higher priority, then first queued). Within one
      priority that is FIFO. Across priorities it bounds waiting: an item of priority p queued
      at time t is handed out before every item of priority q queued after
      `t + (q - p) * priority_aging`. With the defaults a LOW_PRIORITY item is overtaken only
      by NORMAL_PRIORITY items queued less than 100 s after it, so it cannot starve.
    - Adding an item that is already queued keeps its earlier position unless the new
      priority would serve it sooner (the highest effective priority wins).

    Not guaranteed: anything across `shutdown` (queued items are dropped), thread safety (use
    it from the event loop's thread), or an order between consumers waiting in `get`.
    """

    def __init__(
        self,
        *,
        name: str = "",
        clock: Clock = SYSTEM_CLOCK,
        metrics: WorkqueueMetrics | None = None,
        priority_aging: float = DEFAULT_PRIORITY_AGING,
    ) -> None:
        """`name` labels the metrics; `metrics=None` (the default) records none, at no cost.

        `priority_aging` is how many seconds of waiting are worth one priority point.
        """
        if not (0 < priority_aging < math.inf):
            raise ValueError(f"priority_aging must be a positive number of seconds, "
                             f"not {priority_aging!r}")
        if metrics is not None and not name:
            raise ValueError("a queue with metrics needs a name to label them")
        self._name = name
        self._clock = clock
        self._now = clock.monotonic
        self._aging = priority_aging
        self._queued: dict[T, float] = {}  # item -> stamp of its live entry
        self._held: dict[T, int] = {}  # added while processing: priority to queue it with
        self._processing: set[T] = set()
        self._levels: list[_Level[T]] = []  # highest priority first
        self._level_of: dict[int, _Level[T]] = {}
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        self._drained: list[asyncio.Future[None]] = []
        self._metrics: QueueMetrics[T] | None = (
            None if metrics is None else metrics.for_queue(name, clock, self._dirty_count)
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def shutting_down(self) -> bool:
        """True once `shutdown` or `shutdown_with_drain` was called."""
        return self._shutting_down

    def __len__(self) -> int:
        """How many items are ready to be handed out (not those held or delayed)."""
        return len(self._queued)

    def add(self, item: T, priority: int = NORMAL_PRIORITY) -> None:
        """Mark `item` as needing processing, at `priority` (higher is sooner). Never blocks.

        Ignored after shutdown.
        """
        if self._shutting_down:
            return
        if item in self._processing:
            self._hold(item, priority)
            return
        if item in self._queued:
            self._reprioritise(item, priority)
            return
        # inlined `_append`: this is the hot path
        level = self._level_of.get(priority) or self._new_level(priority)
        stamp = self._now() + level.offset
        self._queued[item] = stamp
        level.items.append(item)
        level.stamps.append(stamp)
        if self._metrics is not None:
            self._metrics.added(item)
        if self._getters:
            self._wake_one_getter()

    async def get(self) -> T:
        """Wait for the next item and hand it out; call `done(item)` when finished with it.

        Raises `QueueShutDown` once the queue is shut down (at once, even if items are queued).
        Cancelling a waiting `get` loses nothing.
        """
        while not self._queued:
            if self._shutting_down:
                raise QueueShutDown(self._name)
            getter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                with contextlib.suppress(ValueError):
                    self._getters.remove(getter)
                # woken, then cancelled before it ran: pass the wake-up on
                if self._queued and not getter.cancelled():
                    self._wake_one_getter()
                raise
        return self._take()

    def done(self, item: T) -> None:
        """Mark `item` as finished; if it was added while being processed, queue it again.

        Raises `ValueError` if `item` is not being processed (handed out and not yet done).
        """
        try:
            self._processing.remove(item)
        except KeyError:
            raise ValueError(f"done({item!r}): the item is not being processed") from None
        if self._metrics is not None:
            self._metrics.done(item)
        if self._held:
            priority = self._held.pop(item, None)
            if priority is not None:
                self._append(item, priority)  # counted as an add when it was held
        if self._shutting_down and not self._processing:
            self._release_drain_waiters()

    def shutdown(self) -> None:
        """Stop: ignore adds, drop queued items, make every `get` raise `QueueShutDown`.

        Items being processed may still be passed to `done`. Idempotent; also ends the wait
        of a pending `shutdown_with_drain`.
        """
        self._stop()
        self._release_drain_waiters()

    async def shutdown_with_drain(self) -> None:
        """Shut down as `shutdown` does, then wait until every item handed out is `done`.

        Consumers must call `done` for what they hold, or this waits forever; a concurrent
        `shutdown()` ends the wait at once.
        """
        self._stop()
        if not self._processing:
            return
        drained: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._drained.append(drained)
        await drained

    # internals

    def _dirty_count(self) -> int:
        return len(self._queued) + len(self._held)

    def _new_level(self, priority: int) -> _Level[T]:
        level: _Level[T] = _Level(priority, self._aging)
        self._level_of[priority] = level
        priorities = [-lv.priority for lv in self._levels]
        self._levels.insert(bisect.bisect(priorities, -priority), level)
        return level

    def _append(self, item: T, priority: int) -> None:
        level = self._level_of.get(priority) or self._new_level(priority)
        stamp = self._now() + level.offset
        self._queued[item] = stamp
        level.items.append(item)
        level.stamps.append(stamp)
        if self._getters:
            self._wake_one_getter()

    def _hold(self, item: T, priority: int) -> None:
        held = self._held.get(item)
        if held is None:
            self._held[item] = priority
            if self._metrics is not None:
                self._metrics.added(item)
        elif priority > held:
            self._held[item] = priority

    def _reprioritise(self, item: T, priority: int) -> None:
        level = self._level_of.get(priority) or self._new_level(priority)
        stamp = self._now() + level.offset
        if stamp < self._queued[item]:
            # the old entry stays in its level, stale; `_take` skips it
            self._queued[item] = stamp
            level.items.append(item)
            level.stamps.append(stamp)

    def _take(self) -> T:
        queued = self._queued
        levels = self._levels
        if len(levels) == 1:
            items, stamps = levels[0].items, levels[0].stamps
            item, stamp = items.popleft(), stamps.popleft()
            while queued.get(item) is not stamp:
                item, stamp = items.popleft(), stamps.popleft()
        else:
            best: _Level[T] | None = None
            best_stamp = math.inf
            for level in levels:
                items, stamps = level.items, level.stamps
                while items and queued.get(items[0]) is not stamps[0]:
                    items.popleft()
                    stamps.popleft()
                # strict `<`: on a tie the level seen first, the higher priority, wins
                if items and stamps[0] < best_stamp:
                    best, best_stamp = level, stamps[0]
            assert best is not None, "a queued item has no live entry"
            item = best.items.popleft()
            best.stamps.popleft()
        del queued[item]
        self._processing.add(item)
        if self._metrics is not None:
            self._metrics.got(item)
        return item

    def _wake_one_getter(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return

    def _stop(self) -> None:
        if self._shutting_down:
            return
        self._shutting_down = True
        self._queued.clear()
        self._held.clear()
        for level in self._levels:
            level.items.clear()
            level.stamps.clear()
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
        if self._metrics is not None:
            self._metrics.stop()

    def _release_drain_waiters(self) -> None:
        waiters, self._drained = self._drained, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

"""A work queue that can add an item later: `add_after(item, delay)`.

Delayed items wait in a heap ordered by deadline. One timer, owned by the queue, is armed for
the earliest deadline; when it fires it queues everything due and re-arms itself. Shutdown
cancels it, so nothing outlives the queue.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Hashable
from typing import Any, TypeVar

from ..clock import SYSTEM_CLOCK, Clock, Timer
from .metrics import WorkqueueMetrics
from .queue import DEFAULT_PRIORITY_AGING, NORMAL_PRIORITY, Queue

__all__ = ["DelayingQueue"]

T = TypeVar("T", bound=Hashable)

# [deadline, order, item, priority]: a list so a later add can raise the priority in place;
# `order` breaks deadline ties first-come-first-served and keeps items out of comparisons.
# The list's identity marks an item's one live entry; superseded entries stay in the heap,
# stale, until they surface or the heap is compacted.
_Waiting = list[Any]

# Compact the heap when stale entries outnumber live ones by this much.
_COMPACTION_SLACK = 64


class DelayingQueue(Queue[T]):
    """A `Queue` with `add_after`: the item is added once `delay` seconds have passed.

    An item has at most one pending add, so delays merge rather than stack:

    - `add_after` of an item already waiting keeps the earlier deadline and the higher
      priority (the earliest of several delays wins).
    - `add` (or `add_after` with `delay <= 0`) of a waiting item adds it now and forgets the
      delay; `add_after` of an item that is already queued, or held while being processed,
      only raises its priority: it is due sooner than the delay asks.
    - An item being processed (and not added meanwhile) can wait: when its deadline comes it
      is held until `done`, as any add is.

    Delays are measured on the queue's clock; an item is added no earlier than its deadline
    (with `FakeClock`, exactly at it). Delayed items do not count in `len()`; see `delayed`.
    """

    def __init__(
        self,
        *,
        name: str = "",
        clock: Clock = SYSTEM_CLOCK,
        metrics: WorkqueueMetrics | None = None,
        priority_aging: float = DEFAULT_PRIORITY_AGING,
    ) -> None:
        super().__init__(name=name, clock=clock, metrics=metrics, priority_aging=priority_aging)
        self._waiting: dict[T, _Waiting] = {}
        self._heap: list[_Waiting] = []
        self._order = itertools.count()
        self._stale = 0
        self._timer: Timer | None = None
        self._timer_deadline = math.inf

    @property
    def delayed(self) -> int:
        """How many items wait for their deadline."""
        return len(self._waiting)

    def add(self, item: T, priority: int = NORMAL_PRIORITY) -> None:
        if self._waiting:
            waiting = self._waiting.pop(item, None)
            if waiting is not None:
                self._stale += 1
                if waiting[3] > priority:
                    priority = waiting[3]
                self._compact_if_mostly_stale()
        Queue.add(self, item, priority)

    def add_after(self, item: T, delay: float, priority: int = NORMAL_PRIORITY) -> None:
        """Add `item` at `priority` once `delay` seconds have passed (now if `delay <= 0`).

        Counts a retry in the metrics. Ignored after shutdown.
        """
        if self._shutting_down:
            return
        if self._metrics is not None:
            self._metrics.retried()
        if delay <= 0:
            self.add(item, priority)
            return
        if item in self._queued or item in self._held:
            Queue.add(self, item, priority)
            return
        deadline = self._now() + delay
        waiting = self._waiting.get(item)
        if waiting is None:
            self._push([deadline, next(self._order), item, priority])
        elif deadline < waiting[0]:
            self._stale += 1
            self._push([deadline, next(self._order), item, max(priority, waiting[3])])
            self._compact_if_mostly_stale()
        elif priority > waiting[3]:
            waiting[3] = priority

    # internals

    def _push(self, entry: _Waiting) -> None:
        self._waiting[entry[2]] = entry
        heapq.heappush(self._heap, entry)
        if entry[0] < self._timer_deadline:
            self._arm()

    def _arm(self) -> None:
        """Set the timer for the earliest live deadline (or none), replacing the current one."""
        heap, waiting = self._heap, self._waiting
        while heap and waiting.get(heap[0][2]) is not heap[0]:
            heapq.heappop(heap)
            self._stale -= 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_deadline = math.inf
        if heap:
            self._timer_deadline = heap[0][0]
            self._timer = self._clock.call_at(self._timer_deadline, self._release_due)

    def _release_due(self) -> None:
        """The timer fired: queue every item whose deadline has come, then re-arm."""
        self._timer = None
        self._timer_deadline = math.inf
        now = self._now()
        heap, waiting = self._heap, self._waiting
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            item = entry[2]
            if waiting.get(item) is entry:
                del waiting[item]
                Queue.add(self, item, entry[3])
            else:
                self._stale -= 1
        self._arm()

    def _compact_if_mostly_stale(self) -> None:
        # Stale entries surface only at their deadline (up to the longest backoff); under
        # churn they would pile up, so rebuild the heap from the live entries instead.
        if self._stale > len(self._waiting) + _COMPACTION_SLACK:
            self._heap = list(self._waiting.values())
            heapq.heapify(self._heap)
            self._stale = 0

    def _stop(self) -> None:
        if self._shutting_down:
            return
        super()._stop()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_deadline = math.inf
        self._waiting.clear()
        self._heap.clear()
        self._stale = 0

"""A deliberately simple model of the rate-limiting queue, to check the real one against.

Plain dicts and linear scans, no heaps, no stale entries, no timers: each state an item can be
in is spelled out. The order it predicts is the documented one: the smallest virtual time
(`queued_at - priority * aging`), then the higher priority, then the earlier add.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field


@dataclass
class Ready:
    stamp: float
    priority: int
    order: int


@dataclass
class Waiting:
    deadline: float
    priority: int
    order: int


@dataclass
class QueueModel:
    aging: float
    base_delay: float
    max_delay: float
    ready: dict[str, Ready] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)  # added while processing
    processing: set[str] = field(default_factory=set)
    waiting: dict[str, Waiting] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    shut_down: bool = False
    _orders: itertools.count[int] = field(default_factory=itertools.count)

    def stamp(self, now: float, priority: int) -> float:
        return now + -priority * self.aging

    def add(self, item: str, priority: int, now: float) -> None:
        if self.shut_down:
            return
        if item in self.waiting:
            priority = max(priority, self.waiting.pop(item).priority)
        if item in self.processing:
            self.held[item] = max(self.held.get(item, priority), priority)
        elif item in self.ready:
            stamp = self.stamp(now, priority)
            if stamp < self.ready[item].stamp:
                self.ready[item] = Ready(stamp, priority, next(self._orders))
        else:
            self.ready[item] = Ready(self.stamp(now, priority), priority, next(self._orders))

    def add_after(self, item: str, delay: float, priority: int, now: float) -> None:
        if self.shut_down:
            return
        if delay <= 0 or item in self.ready or item in self.held:
            self.add(item, priority, now)
            return
        deadline = now + delay
        current = self.waiting.get(item)
        if current is None:
            self.waiting[item] = Waiting(deadline, priority, next(self._orders))
        elif deadline < current.deadline:
            self.waiting[item] = Waiting(deadline, max(priority, current.priority),
                                         next(self._orders))
        elif priority > current.priority:
            current.priority = priority

    def backoff(self, item: str) -> float:
        failures = self.failures.get(item, 0)
        self.failures[item] = failures + 1
        return min(self.base_delay * 2.0**failures, self.max_delay)

    def next_item(self) -> str | None:
        if not self.ready:
            return None
        return min(self.ready, key=lambda name: (self.ready[name].stamp,
                                                 -self.ready[name].priority,
                                                 self.ready[name].order))

    def get(self) -> str:
        item = self.next_item()
        assert item is not None
        del self.ready[item]
        self.processing.add(item)
        return item

    def done(self, item: str, now: float) -> None:
        self.processing.remove(item)
        if item in self.held:
            priority = self.held.pop(item)
            self.ready[item] = Ready(self.stamp(now, priority), priority, next(self._orders))

    def next_deadline(self) -> float | None:
        return min((w.deadline for w in self.waiting.values()), default=None)

    def release_due(self, now: float) -> None:
        """Time reached `now`: what is due is added, earliest deadline first."""
        due = sorted((w.deadline, w.order, item) for item, w in self.waiting.items()
                     if w.deadline <= now)
        for deadline, _, item in due:
            priority = self.waiting.pop(item).priority
            self.add(item, priority, deadline)

    def shutdown(self) -> None:
        self.shut_down = True
        self.ready.clear()
        self.held.clear()
        self.waiting.clear()

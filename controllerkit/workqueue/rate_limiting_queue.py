"""The queue controllers use: delays, priorities, and retries paced by a rate limiter."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

from ..clock import SYSTEM_CLOCK, Clock
from .delaying import DelayingQueue
from .metrics import WorkqueueMetrics
from .queue import DEFAULT_PRIORITY_AGING, NORMAL_PRIORITY
from .ratelimit import RateLimiter, default_rate_limiter

__all__ = ["RateLimitingQueue"]

T = TypeVar("T", bound=Hashable)


class RateLimitingQueue(DelayingQueue[T]):
    """A `DelayingQueue` whose retries wait as long as its rate limiter says.

    The usual loop: `item = await queue.get()`; on success `queue.forget(item)`; on failure
    `queue.add_rate_limited(item)`; in both cases `queue.done(item)`. The limiter defaults to
    per-item exponential backoff (5 ms doubling to 1000 s) with no global token bucket.
    """

    def __init__(
        self,
        rate_limiter: RateLimiter[T] | None = None,
        *,
        name: str = "",
        clock: Clock = SYSTEM_CLOCK,
        metrics: WorkqueueMetrics | None = None,
        priority_aging: float = DEFAULT_PRIORITY_AGING,
    ) -> None:
        super().__init__(name=name, clock=clock, metrics=metrics, priority_aging=priority_aging)
        self.rate_limiter: RateLimiter[T] = (
            default_rate_limiter() if rate_limiter is None else rate_limiter
        )

    def add_rate_limited(self, item: T, priority: int = NORMAL_PRIORITY) -> None:
        """Add `item` after the delay its rate limiter gives (which records a retry)."""
        self.add_after(item, self.rate_limiter.when(item), priority)

    def forget(self, item: T) -> None:
        """Clear `item`'s retry history: its next `add_rate_limited` waits the shortest delay.

        Does not remove the item from the queue.
        """
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        """How many rate-limited retries of `item` since it was last forgotten."""
        return self.rate_limiter.num_requeues(item)

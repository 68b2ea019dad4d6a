"""Rate limiters: how long an item should wait before it is retried.

One small protocol, client-go's: `when(item)` records a retry and says how long to wait,
`forget(item)` clears the item's history, `num_requeues(item)` counts its retries. The
defaults are client-go's, except that the global token bucket is not in the default: its
delays grow with the total number of retries, not the item's (10 qps means a 10,000-item
backlog waits about 16 minutes, kubernetes/kubernetes#104554).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

from ..clock import SYSTEM_CLOCK, Clock

__all__ = [
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "TokenBucketRateLimiter",
    "default_rate_limiter",
]

T = TypeVar("T", bound=Hashable)
T_contra = TypeVar("T_contra", bound=Hashable, contravariant=True)

DEFAULT_BASE_DELAY = 0.005
"""client-go's first retry delay: 5 ms."""

DEFAULT_MAX_DELAY = 1000.0
"""client-go's longest retry delay: 1000 s."""


class RateLimiter(Protocol[T_contra]):
    """Decides how long an item waits before it is retried."""

    def when(self, item: T_contra) -> float:
        """Record a retry of `item`; return the seconds it should wait (>= 0)."""
        ...

    def forget(self, item: T_contra) -> None:
        """Stop tracking `item` (it succeeded, or was given up): its next retry starts over."""
        ...

    def num_requeues(self, item: T_contra) -> int:
        """How many retries of `item` have been recorded since it was last forgotten."""
        ...


class ItemExponentialFailureRateLimiter(Generic[T]):
    """Per item: `base_delay * 2**n` for the item's n-th retry (from 0), capped at `max_delay`.

    Defaults are client-go's: 5 ms, 10 ms, 20 ms, ... 655.36 s, then 1000 s from the 19th
    retry on. Items are independent; nothing bounds the number of tracked items but `forget`.
    """

    def __init__(self, base_delay: float = DEFAULT_BASE_DELAY,
                 max_delay: float = DEFAULT_MAX_DELAY) -> None:
        if base_delay < 0 or max_delay < 0:
            raise ValueError(f"delays must not be negative (base {base_delay}, max {max_delay})")
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[T, int] = {}

    def when(self, item: T) -> float:
        exponent = self._failures.get(item, 0)
        self._failures[item] = exponent + 1
        try:
            backoff = self.base_delay * 2.0**exponent
        except OverflowError:  # 2.0**1024 and beyond: far past any cap
            return self.max_delay
        return min(backoff, self.max_delay)

    def forget(self, item: T) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: T) -> int:
        return self._failures.get(item, 0)


class ItemFastSlowRateLimiter(Generic[T]):
    """Per item: `fast_delay` for the first `max_fast_attempts` retries, `slow_delay` after."""

    def __init__(self, fast_delay: float, slow_delay: float, max_fast_attempts: int) -> None:
        if fast_delay < 0 or slow_delay < 0 or max_fast_attempts < 0:
            raise ValueError("delays and the number of fast attempts must not be negative")
        self.fast_delay = fast_delay
        self.slow_delay = slow_delay
        self.max_fast_attempts = max_fast_attempts
        self._failures: dict[T, int] = {}

    def when(self, item: T) -> float:
        failures = self._failures.get(item, 0) + 1
        self._failures[item] = failures
        return self.fast_delay if failures <= self.max_fast_attempts else self.slow_delay

    def forget(self, item: T) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: T) -> int:
        return self._failures.get(item, 0)


class TokenBucketRateLimiter(Generic[T]):
    """All items together: `qps` retries a second on average, bursts of up to `burst`.

    The arithmetic of Go's `rate.Limiter.Reserve().Delay()`, which client-go's
    `BucketRateLimiter` uses: the bucket starts full, refills at `qps` tokens a second up to
    `burst`; each `when` takes a token, and when none is left it borrows one from the future
    and waits until that token would have arrived. So after a burst the n-th extra retry
    waits n / qps seconds. It tracks no items: `forget` does nothing, `num_requeues` is 0.
    """

    def __init__(self, qps: float, burst: int, *, clock: Clock = SYSTEM_CLOCK) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs qps > 0 and burst >= 1 (got {qps}, {burst})")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock.monotonic()

    def when(self, item: T) -> float:
        now = self._clock.monotonic()
        elapsed = max(0.0, now - self._updated)
        tokens = min(float(self.burst), self._tokens + elapsed * self.qps) - 1.0
        self._tokens = tokens
        self._updated = now
        return -tokens / self.qps if tokens < 0 else 0.0

    def forget(self, item: T) -> None:
        return None

    def num_requeues(self, item: T) -> int:
        return 0


class MaxOfRateLimiter(Generic[T]):
    """Asks every limiter and waits the longest; `forget` forgets in all of them.

    Every limiter records the retry, whichever answer wins. With a token bucket inside, its
    burst can appear exceeded when some items were delayed longer by another limiter.
    """

    def __init__(self, *limiters: RateLimiter[T]) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self.limiters = limiters

    def when(self, item: T) -> float:
        return max([limiter.when(item) for limiter in self.limiters])

    def forget(self, item: T) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def default_rate_limiter() -> ItemExponentialFailureRateLimiter[T]:
    """The default: per-item exponential backoff, 5 ms doubling up to 1000 s, and no bucket.

    client-go's `DefaultControllerRateLimiter` adds a 10 qps / 100 burst token bucket via
    `MaxOfRateLimiter`; build that explicitly if you want a global retry budget.
    """
    return ItemExponentialFailureRateLimiter(DEFAULT_BASE_DELAY, DEFAULT_MAX_DELAY)

"""Work queues: dedup, one processor per item, delays, retries with backoff, aging priorities.

An asyncio take on client-go's `util/workqueue` and controller-runtime's priority queue. Time
comes from an injected `controllerkit.clock.Clock`, so tests run on a `FakeClock`.
"""

from .delaying import DelayingQueue
from .metrics import WorkqueueMetrics
from .queue import (
    DEFAULT_PRIORITY_AGING,
    LOW_PRIORITY,
    NORMAL_PRIORITY,
    Queue,
    QueueShutDown,
)
from .rate_limiting_queue import RateLimitingQueue
from .ratelimit import (
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    TokenBucketRateLimiter,
    default_rate_limiter,
)

__all__ = [
    "DEFAULT_PRIORITY_AGING",
    "LOW_PRIORITY",
    "NORMAL_PRIORITY",
    "DelayingQueue",
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "MaxOfRateLimiter",
    "Queue",
    "QueueShutDown",
    "RateLimiter",
    "RateLimitingQueue",
    "TokenBucketRateLimiter",
    "WorkqueueMetrics",
    "default_rate_limiter",
]

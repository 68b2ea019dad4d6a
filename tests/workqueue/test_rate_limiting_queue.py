"""RateLimitingQueue: retries wait as long as the limiter says; forget starts over."""

from __future__ import annotations

from controllerkit.clock import FakeClock
from controllerkit.workqueue import ItemExponentialFailureRateLimiter, RateLimitingQueue


def new_queue() -> tuple[RateLimitingQueue[str], FakeClock]:
    clock = FakeClock()
    return RateLimitingQueue(clock=clock), clock


async def fail_once(queue: RateLimitingQueue[str], clock: FakeClock, expected_wait: float) -> None:
    """Hand the item out, retry it with backoff: it is due exactly `expected_wait` later."""
    item = await queue.get()
    queue.add_rate_limited(item)
    queue.done(item)
    assert clock.next_deadline == clock.monotonic() + expected_wait
    clock.advance(expected_wait)
    assert len(queue) == 1


async def test_retries_back_off_exponentially_from_5_ms() -> None:
    queue, clock = new_queue()
    queue.add("a")
    for wait in [0.005, 0.01, 0.02, 0.04, 0.08]:
        await fail_once(queue, clock, wait)
    assert queue.num_requeues("a") == 5


async def test_forget_makes_the_next_retry_wait_the_shortest_delay() -> None:
    queue, clock = new_queue()
    queue.add("a")
    for wait in [0.005, 0.01, 0.02]:
        await fail_once(queue, clock, wait)
    queue.forget("a")
    assert queue.num_requeues("a") == 0
    await fail_once(queue, clock, 0.005)


async def test_a_retry_is_not_delivered_before_its_delay() -> None:
    queue: RateLimitingQueue[str] = RateLimitingQueue(
        ItemExponentialFailureRateLimiter(1.0, 10.0), clock=(clock := FakeClock()))
    queue.add_rate_limited("a")  # first retry: 1 s
    clock.advance(0.999)
    assert len(queue) == 0
    clock.advance(0.001)
    assert len(queue) == 1


async def test_an_event_during_backoff_is_processed_at_once() -> None:
    queue, _ = new_queue()
    queue.add_rate_limited("a")
    queue.add_rate_limited("a")  # 5 ms, then 10 ms: the earlier deadline stays
    queue.add("a")  # the object changed: no reason to wait
    assert len(queue) == 1
    assert await queue.get() == "a"

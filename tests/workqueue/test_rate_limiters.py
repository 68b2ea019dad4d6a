"""Rate limiters: client-go's arithmetic, exactly."""

from __future__ import annotations

import pytest

from controllerkit.clock import FakeClock
from controllerkit.workqueue import (
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    TokenBucketRateLimiter,
    default_rate_limiter,
)


def test_exponential_backoff_doubles_from_5_ms_and_caps_at_1000_s() -> None:
    limiter: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter()
    delays = [limiter.when("a") for _ in range(21)]
    assert delays[:18] == [0.005 * 2**n for n in range(18)]
    assert delays[:3] == [0.005, 0.01, 0.02]
    assert delays[17] == pytest.approx(655.36)
    assert delays[18:] == [1000.0, 1000.0, 1000.0]
    assert limiter.num_requeues("a") == 21


def test_exponential_backoff_never_overflows() -> None:
    limiter: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(
        1e-300, 1e300)
    delays = [limiter.when("a") for _ in range(2000)]
    assert delays[-1] == 1e300


def test_exponential_backoff_is_per_item_and_forget_resets_it() -> None:
    limiter: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(1.0, 60.0)
    assert [limiter.when("a") for _ in range(3)] == [1.0, 2.0, 4.0]
    assert limiter.when("b") == 1.0
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 1.0
    assert limiter.num_requeues("b") == 1


def test_the_default_limiter_is_per_item_exponential_with_client_go_numbers() -> None:
    limiter: ItemExponentialFailureRateLimiter[str] = default_rate_limiter()
    assert (limiter.base_delay, limiter.max_delay) == (0.005, 1000.0)
    assert [limiter.when(str(n)) for n in range(1000)] == [0.005] * 1000  # no global bucket


def test_fast_slow_is_fast_for_the_first_attempts_then_slow() -> None:
    limiter: ItemFastSlowRateLimiter[str] = ItemFastSlowRateLimiter(0.005, 10.0, 3)
    assert [limiter.when("a") for _ in range(5)] == [0.005, 0.005, 0.005, 10.0, 10.0]
    assert limiter.num_requeues("a") == 5
    limiter.forget("a")
    assert limiter.when("a") == 0.005


def test_token_bucket_allows_a_burst_then_one_retry_per_token() -> None:
    clock = FakeClock()
    limiter: TokenBucketRateLimiter[str] = TokenBucketRateLimiter(10, 100, clock=clock)
    assert [limiter.when("x") for _ in range(100)] == [0.0] * 100
    assert [limiter.when("x") for _ in range(3)] == [0.1, 0.2, 0.3]
    assert limiter.num_requeues("x") == 0


def test_token_bucket_refills_at_qps_up_to_the_burst() -> None:
    clock = FakeClock()
    limiter: TokenBucketRateLimiter[str] = TokenBucketRateLimiter(10, 5, clock=clock)
    for _ in range(5):
        limiter.when("x")
    clock.advance(0.3)  # three tokens back
    assert [limiter.when("x") for _ in range(4)] == [0.0, 0.0, 0.0, 0.1]
    clock.advance(3600.0)  # refills only up to the burst
    assert [limiter.when("x") for _ in range(6)] == [0.0] * 5 + [0.1]


def test_token_bucket_debt_is_paid_back_over_time() -> None:
    clock = FakeClock()
    limiter: TokenBucketRateLimiter[str] = TokenBucketRateLimiter(10, 1, clock=clock)
    assert [limiter.when("x") for _ in range(3)] == [0.0, 0.1, 0.2]
    clock.advance(0.2)  # the two borrowed tokens have arrived; the bucket is empty
    assert limiter.when("x") == 0.1


def test_a_10_qps_bucket_makes_a_10k_backlog_wait_about_16_minutes() -> None:
    """Why the bucket is not in the default (kubernetes/kubernetes#104554)."""
    limiter: TokenBucketRateLimiter[str] = TokenBucketRateLimiter(10, 100, clock=FakeClock())
    delays = [limiter.when(str(n)) for n in range(10_000)]
    assert delays[-1] == pytest.approx(990.0)  # 16.5 minutes for the last item


def test_max_of_waits_the_longest_and_every_limiter_records_the_retry() -> None:
    clock = FakeClock()
    exponential: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(
        0.001, 1000.0)
    fast_slow: ItemFastSlowRateLimiter[str] = ItemFastSlowRateLimiter(0.003, 10.0, 2)
    bucket: TokenBucketRateLimiter[str] = TokenBucketRateLimiter(1, 1, clock=clock)
    limiter = MaxOfRateLimiter(exponential, fast_slow, bucket)
    assert limiter.when("a") == 0.003  # fast-slow: 3 ms > 1 ms; bucket: 0
    assert limiter.when("a") == 1.0  # bucket: empty, 1 s for the next token
    assert limiter.when("a") == 10.0  # fast-slow: slow now
    assert limiter.num_requeues("a") == 3
    assert (exponential.num_requeues("a"), fast_slow.num_requeues("a")) == (3, 3)


def test_max_of_forget_resets_every_limiter() -> None:
    exponential: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(
        1.0, 100.0)
    fast_slow: ItemFastSlowRateLimiter[str] = ItemFastSlowRateLimiter(0.5, 50.0, 1)
    limiter = MaxOfRateLimiter(exponential, fast_slow)
    for _ in range(4):
        limiter.when("a")
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 1.0


@pytest.mark.parametrize(("qps", "burst"), [(0.0, 1), (-1.0, 1), (10.0, 0)])
def test_a_token_bucket_rejects_settings_that_would_never_allow_a_retry(
        qps: float, burst: int) -> None:
    with pytest.raises(ValueError, match="qps > 0 and burst >= 1"):
        TokenBucketRateLimiter(qps, burst)

"""The reflector's backoff: client-go's numbers, exact with an injected clock and randomness."""

from __future__ import annotations

import pytest

from controllerkit.cache import Backoff, BackoffPolicy
from controllerkit.clock import FakeClock


def test_delays_double_from_0_8_s_to_a_30_s_cap_without_jitter() -> None:
    clock = FakeClock()
    backoff = Backoff(clock=clock, random=lambda: 0.0)
    delays = [backoff.next_delay() for _ in range(8)]
    assert delays == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]


def test_jitter_stretches_each_delay_by_up_to_its_own_length() -> None:
    backoff = Backoff(clock=FakeClock(), random=lambda: 0.5)
    assert [backoff.next_delay() for _ in range(3)] == pytest.approx([1.2, 2.4, 4.8])
    highest = Backoff(clock=FakeClock(), random=lambda: 0.999)
    assert highest.next_delay() == pytest.approx(0.8 * 1.999)


def test_two_quiet_minutes_reset_the_sequence() -> None:
    clock = FakeClock()
    backoff = Backoff(clock=clock, random=lambda: 0.0)
    for _ in range(5):
        backoff.next_delay()
    clock.advance(120.0)
    assert backoff.next_delay() == 25.6  # exactly 2 minutes is not quiet enough
    clock.advance(120.1)
    assert backoff.next_delay() == 0.8


def test_a_custom_policy_and_reset() -> None:
    policy = BackoffPolicy(initial=1.0, factor=3.0, cap=10.0, jitter=0.0)
    backoff = Backoff(policy, clock=FakeClock())
    assert [backoff.next_delay() for _ in range(4)] == [1.0, 3.0, 9.0, 10.0]
    backoff.reset()
    assert backoff.next_delay() == 1.0

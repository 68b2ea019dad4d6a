"""Jittered exponential backoff with a quiet-period reset (client-go's reflector numbers).

client-go backs a failing reflector off from 0.8 s, doubling up to 30 s, each delay stretched by
a random factor in [1, 2) (jitter 1.0), and starts again from 0.8 s once no backoff was needed
for 2 minutes. Against an unhealthy API server that settles at one attempt every 30 to 60 s
(about 0.02 requests per second per reflector) instead of hammering it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .clock import SYSTEM_CLOCK, Clock


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """The shape of a backoff: first delay, growth factor, cap, jitter and reset period."""

    initial: float = 0.8
    factor: float = 2.0
    cap: float = 30.0
    # Each delay d becomes d * (1 + jitter * random()), so jitter 1.0 gives [d, 2d).
    jitter: float = 1.0
    # No backoff for this long (seconds) means the trouble is over: start again from `initial`.
    reset_after: float = 120.0


class Backoff:
    """Delays for successive failures; `next_delay()` is called once per failure.

    Contract: the un-jittered delay sequence is initial, initial*factor, ... capped at `cap`;
    each returned delay is that value times `1 + jitter * random()`. If more than
    `reset_after` seconds passed since the previous call, the sequence restarts at `initial`.
    The backoff never sleeps itself: callers sleep on their clock, so tests stay exact.
    """

    def __init__(
        self,
        policy: BackoffPolicy | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        random: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy or BackoffPolicy()
        self._clock = clock
        self._random = random
        self._current = self.policy.initial
        self._last_call: float | None = None

    def next_delay(self) -> float:
        """The delay before the next attempt, advancing the sequence."""
        policy = self.policy
        now = self._clock.monotonic()
        if self._last_call is not None and now - self._last_call > policy.reset_after:
            self._current = policy.initial
        self._last_call = now
        base = min(self._current, policy.cap)
        self._current = min(self._current * policy.factor, policy.cap)
        return base * (1.0 + policy.jitter * self._random())

    def reset(self) -> None:
        """Start the next failure sequence again from `initial`."""
        self._current = self.policy.initial
        self._last_call = None

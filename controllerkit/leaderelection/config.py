"""`LeaderElectionConfig`: which Lease to campaign for, as whom, and the three timings."""

from __future__ import annotations

import math
import socket
import uuid
from dataclasses import dataclass, field

__all__ = ["JITTER_FACTOR", "LeaderElectionConfig", "default_identity", "validate_lease_timings"]

JITTER_FACTOR = 1.2
"""A candidate waits between `retry_period` and `(1 + JITTER_FACTOR) * retry_period` between
attempts to acquire, so candidates that started together spread out (client-go's value)."""


def default_identity() -> str:
    """`<hostname>_<uuid4>`: unique per process, and says which host it runs on."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def validate_lease_timings(
    lease_duration: float, renew_deadline: float, retry_period: float, *,
    why_stop: str = "a leader must stop before others may take its Lease",
    why_retry: str = "so a leader retries a failed renewal before its deadline",
) -> None:
    """Check the Lease timing rules, as client-go does: every duration positive and
    `lease_duration > renew_deadline > JITTER_FACTOR * retry_period`.

    Raises `ValueError` naming the broken rule; `why_stop` and `why_retry` end the messages
    of the two orderings with the reason the caller's setting needs them.
    """
    timings = {"lease_duration": lease_duration, "renew_deadline": renew_deadline,
               "retry_period": retry_period}
    for name, value in timings.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive, not {value}")
    if lease_duration <= renew_deadline:
        raise ValueError(
            f"lease_duration ({lease_duration} s) must be greater than "
            f"renew_deadline ({renew_deadline} s): {why_stop}")
    if renew_deadline <= JITTER_FACTOR * retry_period:
        raise ValueError(
            f"renew_deadline ({renew_deadline} s) must be greater than "
            f"{JITTER_FACTOR} x retry_period ({retry_period} s), {why_retry}")


@dataclass(frozen=True)
class LeaderElectionConfig:
    """Who campaigns for which Lease, and how long leadership lasts without renewal.

    - `lease_duration`: how long a candidate waits, after it last *saw* the Lease change,
      before it may take the Lease from its holder. Measured on the candidate's own clock, so
      clock skew between machines does not matter (only different clock *rates* would).
    - `renew_deadline`: how long the leader keeps trying to renew before it gives leadership
      up; always shorter than `lease_duration`, so the leader stops acting before anyone can
      take over. The difference is the time its work has to stop.
    - `retry_period`: the pause between attempts (with jitter while acquiring).
    - `release_on_cancel`: on a clean stop, clear the holder so another candidate takes over
      at once instead of waiting for the Lease to expire.

    Validated as client-go does: every duration positive, `lease_duration > renew_deadline >
    JITTER_FACTOR * retry_period`, names and identity not empty; `ValueError` says which
    rule was broken. Durations are seconds and may be fractions; the Lease records
    `lease_duration` rounded up to whole seconds.
    """

    lease_name: str
    namespace: str
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    release_on_cancel: bool = True

    def __post_init__(self) -> None:
        if not self.lease_name or not self.namespace:
            raise ValueError(f"leader election needs a Lease name and namespace, not "
                             f"{self.namespace!r}/{self.lease_name!r}")
        if not self.identity:
            raise ValueError("leader election needs a non-empty identity")
        validate_lease_timings(self.lease_duration, self.renew_deadline, self.retry_period)

    @property
    def lease_duration_seconds(self) -> int:
        """`lease_duration` as the Lease records it: whole seconds, rounded up."""
        return max(1, math.ceil(self.lease_duration))

    def describe(self) -> str:
        """`namespace/lease_name`, for logs and errors."""
        return f"{self.namespace}/{self.lease_name}"

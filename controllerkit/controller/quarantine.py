"""The quarantine: keys a controller parked after `max_retries` retries failed as well.

`QuarantinedItem` records one parked key; `Quarantine` holds them for one controller. Parking
a key and releasing it both forget its backoff in the work queue: a parked key is not
retried, and a released one starts afresh. When to park and when to release is the
controller's rule (see `Controller`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..reconcile import Request
from ..workqueue import RateLimitingQueue

__all__ = ["DEFAULT_MAX_RETRIES", "Quarantine", "QuarantinedItem"]

DEFAULT_MAX_RETRIES = 15
"""Retries before a failing key is quarantined: with the default backoff (5 ms doubling), the
last one comes about 2.7 minutes after the first failure."""


@dataclass(frozen=True, slots=True)
class QuarantinedItem:
    """A key parked after `failures` failed reconciles in a row; `last_error` says why.

    `since` is the controller clock's `monotonic()` when it was parked.
    """

    request: Request
    failures: int
    last_error: str
    since: float


class Quarantine:
    """The parked keys of one controller, whose backoff lives in `queue`."""

    def __init__(self, queue: RateLimitingQueue[Request]) -> None:
        self._queue = queue
        self._parked: dict[Request, QuarantinedItem] = {}

    def __contains__(self, request: Request) -> bool:
        return request in self._parked

    def items(self) -> list[QuarantinedItem]:
        """The parked keys, oldest first."""
        return sorted(self._parked.values(), key=lambda item: item.since)

    def last(self, request: Request) -> QuarantinedItem | None:
        """The parked entry of `request`, if it is parked."""
        return self._parked.get(request)

    def park(self, item: QuarantinedItem) -> None:
        self._queue.forget(item.request)
        self._parked[item.request] = item

    def release(self, request: Request) -> bool:
        """Unpark `request` with a fresh backoff; False if it was not parked."""
        if self._parked.pop(request, None) is None:
            return False
        self._queue.forget(request)
        return True

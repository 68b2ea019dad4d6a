"""`ControllerStats`: the counters of one controller, for metrics and tests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["ControllerStats"]


@dataclass
class ControllerStats:
    """Counters of one controller, for metrics and tests.

    `results` counts finished reconciles by outcome (`Outcome`): `success`, `requeue_after`,
    `conflict` (a write from a stale read, retried at once; not an error), `error`
    (retried), `terminal_error`, `quarantined` (the failure that parked the key) and
    `cancelled` (ended by `cancel_reconciles`: its key moved to another replica). A timed-out
    reconcile counts as `error`. `not_owned` counts requests dropped from the queue without a
    reconcile because the ownership filter no longer accepted them.
    """

    results: Counter[str] = field(default_factory=Counter)
    active_workers: int = 0
    reconcile_seconds: float = 0.0
    not_owned: int = 0

    @property
    def reconciles(self) -> int:
        """How many reconciles finished, whatever the outcome."""
        return sum(self.results.values())

    @property
    def errors(self) -> int:
        """Reconciles that raised (including terminal and quarantining failures)."""
        return (self.results["error"] + self.results["terminal_error"]
                + self.results["quarantined"])

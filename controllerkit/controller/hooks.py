"""`ReconcileHooks`: what runs around every reconcile of a controller, in one place.

The worker loop calls each hook of its controller when a reconcile starts and when it ends,
and when a key is quarantined. Metrics, Events about quarantined objects and tracing plug in
here instead of wrapping the reconciler. The log context (controller, kind, namespace, name,
reconcile id) is set by the worker loop itself, so every log line of a reconcile carries it,
with or without hooks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..meta import ResourceKind
from ..reconcile import Request
from .quarantine import QuarantinedItem

__all__ = ["Outcome", "ReconcileHooks", "ReconcileInfo"]


class Outcome(StrEnum):
    """How a reconcile ended: the `result` label of `controller_runtime_reconcile_total`."""

    SUCCESS = "success"
    REQUEUE_AFTER = "requeue_after"
    CONFLICT = "conflict"
    """The server refused a write made from a stale read (409): an expected race, retried at
    once under the rate limiter, not an error and not counted toward quarantine."""
    ERROR = "error"
    TERMINAL_ERROR = "terminal_error"
    QUARANTINED = "quarantined"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class ReconcileInfo:
    """Which reconcile a hook is told about."""

    controller: str
    kind: ResourceKind | None
    request: Request
    reconcile_id: str


class ReconcileHooks:
    """Callbacks around each reconcile; override what you need (the defaults do nothing).

    Called on the event loop, in the worker's task; they must be quick and must not block.
    An exception from a hook is logged and never changes the reconcile's outcome.
    """

    def started(self, info: ReconcileInfo) -> None:
        """A reconcile begins."""

    def finished(self, info: ReconcileInfo, outcome: Outcome, seconds: float,
                 error: BaseException | None) -> None:
        """A reconcile ended with `outcome` after `seconds` (on the controller's clock);
        `error` is what the reconciler raised, if anything."""

    def quarantined(self, info: ReconcileInfo, item: QuarantinedItem) -> None:
        """A key was parked after its last retry failed as well."""

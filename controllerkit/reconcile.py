"""The reconciler contract: a key in, a verdict out.

A `Reconciler` is asked to make the world match one object's desired state. It receives only
the object's key (`Request`), reads the current state itself (usually from an informer's
cache), acts, and returns a `Result`. It never sees the event that woke it: several events for
one key are coalesced into one reconcile, and that reconcile must do the right thing from the
state alone (level-triggered).

- Return `Result()`: done; nothing happens until the object (or something mapped to it)
  changes again.
- Return `Result(requeue_after=...)`: look again after that delay, even if nothing changes.
- Raise any exception: logged with the key, counted and retried with per-key backoff.
- Raise `TerminalError`: logged and counted, not retried until the object changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

__all__ = ["Reconciler", "Request", "Result", "TerminalError"]


@dataclass(frozen=True, slots=True, order=True)
class Request:
    """The key of the object to reconcile: namespace ("" when cluster-scoped) and name.

    Frozen and hashable, so it is the work-queue item itself. `str(request)` is the usual
    `namespace/name` (or just `name` for cluster-scoped objects).
    """

    namespace: str
    name: str

    @classmethod
    def for_object(cls, obj: Mapping[str, Any]) -> Request:
        """The request for an object's own key (from `metadata.namespace` and `.name`)."""
        meta = obj.get("metadata") or {}
        return cls(str(meta.get("namespace") or ""), str(meta.get("name") or ""))

    @property
    def key(self) -> tuple[str, str]:
        """The `(namespace, name)` key an informer's `Store` uses for this object."""
        return (self.namespace, self.name)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class Result:
    """What a successful reconcile asks for next.

    `requeue_after` (seconds or a `timedelta`, >= 0) reconciles the key again after that
    delay, or sooner if the object changes meanwhile (0: at once, after the reconciles already
    queued — for a controller that works in steps and does not wake on its own writes);
    `None` (the default) asks for nothing.
    """

    requeue_after: timedelta | float | None = None

    def __post_init__(self) -> None:
        delay = self.delay
        if delay is not None and delay < 0:
            raise ValueError(f"requeue_after must not be negative, not {self.requeue_after!r}")

    @property
    def delay(self) -> float | None:
        """`requeue_after` in seconds, or `None`."""
        if self.requeue_after is None:
            return None
        if isinstance(self.requeue_after, timedelta):
            return self.requeue_after.total_seconds()
        return float(self.requeue_after)


class Reconciler(Protocol):
    """Drives the object named by a request toward its desired state.

    Called by a controller's workers; the same request is never reconciled by two workers at
    once. Must be idempotent: it can run any number of times for one state of the world.
    """

    async def reconcile(self, request: Request) -> Result: ...


class TerminalError(Exception):
    """A failure that retrying cannot fix (invalid spec, missing permission by design).

    Logged and counted like any error, but the key is not retried: the next change of the
    object (or of anything mapped to it) reconciles it again.
    """

"""`RunningReconciles`: the reconciles in flight in one controller, by request.

Replicas that share the keys of one controller (`controllerkit.sharding`) hand a key over
only once no reconcile of it runs here: `cancel` ends the running reconciles of the keys
that moved and returns once they have ended. `OwnershipFilter` says which requests this
process may reconcile (`Controller.set_ownership`), or which reconciles to cancel.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio

from ..reconcile import Request

__all__ = ["OwnershipFilter", "RunningReconciles"]

T = TypeVar("T")

OwnershipFilter = Callable[[Request], bool]
"""Whether this process may reconcile a request now; must be quick and must not block."""


@dataclass(slots=True)
class _Running:
    """A reconcile in flight: the cancel scope it runs in, and an event set when it ended."""

    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    ended: anyio.Event = field(default_factory=anyio.Event)


class RunningReconciles:
    """The reconciles running right now, each in a cancel scope of the worker that took it."""

    def __init__(self) -> None:
        self._running: dict[Request, _Running] = {}

    @property
    def requests(self) -> frozenset[Request]:
        """The requests whose reconcile is running right now."""
        return frozenset(self._running)

    async def run(self, request: Request, reconcile: Awaitable[T]) -> T | None:
        """Await `reconcile` of `request` in the current task: its result, or None if
        `cancel` ended it.

        Any other cancellation (of the worker itself) propagates.
        """
        running = self._running[request] = _Running()
        try:
            # The scope swallows only its own cancellation (`cancel`), never the worker's.
            with running.scope:
                return await reconcile
            return None
        finally:
            del self._running[request]
            running.ended.set()

    async def cancel(self, which: OwnershipFilter) -> int:
        """Cancel the running reconciles of the requests `which` accepts; wait until they end.

        Returns how many were cancelled.
        """
        chosen = [running for request, running in self._running.items() if which(request)]
        for running in chosen:
            running.scope.cancel()
        for running in chosen:
            await running.ended.wait()
        return len(chosen)

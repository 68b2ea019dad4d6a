"""`RunningReconciles`: the reconciles in flight in one controller, by request.

Replicas that share the keys of one controller (`controllerkit.sharding`) hand a key over
only once no reconcile of it runs here: `cancel` ends the running reconciles of the keys
that moved and returns once they have ended. `OwnershipFilter` says which requests this
process may reconcile (`Controller.set_ownership`), or which reconciles to cancel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from ..reconcile import Request

__all__ = ["OwnershipFilter", "RunningReconciles"]

T = TypeVar("T")

OwnershipFilter = Callable[[Request], bool]
"""Whether this process may reconcile a request now; must be quick and must not block."""


@dataclass(slots=True)
class _Running:
    """A reconcile in flight: the worker task running it, and whether it was told to stop."""

    task: asyncio.Task[object]
    cancelled: bool = False
    ended: asyncio.Future[None] | None = None  # made when someone waits for the end


class RunningReconciles:
    """The reconciles running right now, each in the task of the worker that took it."""

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
        task = asyncio.current_task()
        assert task is not None
        running = self._running[request] = _Running(task)
        try:
            result = await reconcile
        except asyncio.CancelledError:
            # Ours (cancel) unless the worker itself is being cancelled as well.
            if not running.cancelled or task.uncancel() > 0:
                raise
            return None
        else:
            if running.cancelled:
                # The reconciler swallowed the cancellation; do not leave it pending.
                task.uncancel()
            return result
        finally:
            del self._running[request]
            if running.ended is not None:
                running.ended.set_result(None)

    async def cancel(self, which: OwnershipFilter) -> int:
        """Cancel the running reconciles of the requests `which` accepts; wait until they end.

        Returns how many were cancelled.
        """
        chosen = [running for request, running in self._running.items() if which(request)]
        if not chosen:
            return 0
        loop = asyncio.get_running_loop()
        for running in chosen:
            if not running.cancelled:  # once: a second cancel would reach the worker itself
                running.cancelled = True
                running.task.cancel()
            if running.ended is None:
                running.ended = loop.create_future()
        await asyncio.wait([running.ended for running in chosen if running.ended is not None])
        return len(chosen)

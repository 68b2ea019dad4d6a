"""`Workload`: the components of one manager run, started and stopped in the order that keeps
leader-only and shard-only work safe.

Start (the caches have synced): the shard coordinator, if any; every runnable that does not
need leadership; the leader elector, if any; and, once it leads, the runnables that need
leadership (all of them at once when there is no elector).

Stop (asked, or something ended): controllers stop gracefully and other runnables are
cancelled, within the grace period; then the elector is stopped, which releases the Lease,
so the next leader starts only once no leader work runs here; then the coordinator is
stopped, which hands this replica's keys over once no reconcile of them runs here. If
leadership is lost (`LeadershipLost`), everything that needs it is cancelled at once, with
no grace: the Lease may be taken by another replica as soon as `lease_duration` has passed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup, TaskStatus

from ..leaderelection import LeaderElector
from ..lifecycle import Component, Lifecycle, run_stopping_on_cancel, task_group
from ..sharding import ShardCoordinator

__all__ = ["ManagedRunnable", "RunnableFunction", "Workload"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ManagedRunnable:
    """Something the manager runs: a component (a controller, a `RunnableFunction`).

    `needs_leader_election`: started only on the replica that leads, once it leads (ignored
    without leader election).
    """

    name: str
    component: Component
    needs_leader_election: bool


class RunnableFunction(Lifecycle):
    """An `async def run() -> None` as a component: started at once, stopped by cancelling it.

    `stop()` cancels the function (its graceful stop is its cancellation); `run()` then
    returns. Returning early is fine; what it raises, `run()` raises.
    """

    def __init__(self, function: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self.function = function
        self._stop_requested = False
        self._scope: anyio.CancelScope | None = None

    def __repr__(self) -> str:
        return f"RunnableFunction({self.function!r})"

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        try:
            with anyio.CancelScope() as self._scope:
                if self._stop_requested:
                    self._scope.cancel()
                await self.function()
        finally:
            self._scope = None

    def stop(self) -> None:
        self._stop_requested = True
        if self._scope is not None:
            self._scope.cancel()


@dataclass(eq=False)
class _Child:
    """A component running in the workload, with its hard stop and what became of it."""

    name: str
    component: Component
    needs_leader_election: bool = False
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)  # the hard stop
    ended: anyio.Event = field(default_factory=anyio.Event)
    stop_asked: bool = False
    error: Exception | None = None


class Workload(Lifecycle):
    """Runs `runnables` next to `elector` and `coordinator` until `stop()` or until one of
    them ends; then stops everything (see the module) and raises the first failure.

    Lifecycle (`controllerkit.lifecycle`): `run()` until `stop()`, or `async with workload:`.
    Started once every component's task exists (the coordinator joins, the runnables start,
    the elector campaigns). Cancelling `run()` stops gracefully as `stop()` does, in the same
    order, then re-raises the cancellation. Runs once.

    A runnable that returns normally is done; one that raises ends the run with its error.
    The elector and the coordinator end only when stopped: if one ends by itself (with
    `LeadershipLost`, `ShardLeaseLost`), that ends the run too.
    """

    def __init__(
        self,
        runnables: Iterable[ManagedRunnable],
        *,
        graceful_shutdown_timeout: float,
        elector: LeaderElector | None = None,
        coordinator: ShardCoordinator | None = None,
        on_stopping: Callable[[], None] = lambda: None,
    ) -> None:
        """`on_stopping` is called when the stop begins (to turn the readiness probe off)."""
        self._on_stopping = on_stopping
        self._runnables = list(runnables)
        self._grace = graceful_shutdown_timeout
        self._elector = elector
        self._coordinator = coordinator
        self._started = False
        self._stop_requested = False
        self._stopping = False
        self._wake: anyio.Event | None = None  # set when the run should end
        self._group: TaskGroup | None = None
        self._running: list[_Child] = []  # the runnables started, in order
        self._elector_child: _Child | None = None
        self._coordinator_child: _Child | None = None
        self._awaiting_leadership: anyio.CancelScope | None = None
        self._failure: Exception | None = None

    def stop(self) -> None:
        """Ask for the graceful stop (see the module); returns at once. Idempotent."""
        self._stop_requested = True
        if self._wake is not None:
            self._wake.set()

    def cancel_runnables(self) -> None:
        """Cancel every runnable now (a second signal: no more grace)."""
        for child in self._running:
            child.scope.cancel()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run until `stop()` or until something ends, then stop everything in order.

        Raises the first failure (a runnable's error, `LeadershipLost`, `ShardLeaseLost`)
        once everything has stopped.
        """
        if self._started:
            raise RuntimeError("a workload runs once")
        self._started = True
        await run_stopping_on_cancel(self._run, self.stop, task_status=task_status)

    async def _run(self, *, task_status: TaskStatus[None]) -> None:
        wake = self._wake = anyio.Event()
        if self._stop_requested:
            task_status.started()
            return
        async with task_group() as group:
            self._group = group
            if self._coordinator is not None:
                self._coordinator_child = self._spawn(
                    _Child(repr(self._coordinator), self._coordinator))
            elector = self._elector
            self._start_runnables(
                lambda runnable: elector is None or not runnable.needs_leader_election)
            if elector is not None:
                self._elector_child = self._spawn(_Child(repr(elector), elector))
                group.start_soon(self._lead_when_elected, elector, name="leadership")
            task_status.started()
            await wake.wait()
            await self._shut_down()
        if self._failure is not None:
            raise self._failure

    def _spawn(self, child: _Child) -> _Child:
        assert self._group is not None
        self._group.start_soon(self._supervise, child, name=child.name)
        return child

    def _start_runnables(self, which: Callable[[ManagedRunnable], bool]) -> None:
        chosen = [runnable for runnable in self._runnables if which(runnable)]
        if chosen:
            logger.info("starting %s", ", ".join(runnable.name for runnable in chosen))
        for runnable in chosen:
            self._running.append(self._spawn(_Child(
                runnable.name, runnable.component, runnable.needs_leader_election)))

    async def _lead_when_elected(self, elector: LeaderElector) -> None:
        with anyio.CancelScope() as self._awaiting_leadership:
            await elector.wait_until_leading()
            # Synchronous from here: a stop that begins later finds them in `_running`.
            if not self._stopping:
                self._start_runnables(lambda runnable: runnable.needs_leader_election)

    async def _supervise(self, child: _Child) -> None:
        try:
            with child.scope:
                await child.component.run()
        except Exception as error:
            child.error = error
        finally:
            child.ended.set()
            self._ended(child)

    def _ended(self, child: _Child) -> None:
        if child.error is not None:
            self._note_failure(child.name, child.error)
        if child is self._elector_child:
            if not child.stop_asked:
                self._cancel_leader_work()  # leadership is lost: no grace
                self._end_run()
        elif child is self._coordinator_child:
            if not child.stop_asked:
                self._end_run()
        elif child.error is not None:
            self._end_run()
        elif not child.stop_asked and not child.scope.cancelled_caught:
            logger.info("%s finished", child.name)  # returning early is fine

    def _end_run(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _note_failure(self, name: str, error: Exception) -> None:
        if self._failure is None:
            self._failure = error
            logger.error("%s failed: %s", name, error)

    def _cancel_leader_work(self) -> None:
        cancelled = []
        for child in self._running:
            if child.needs_leader_election and not child.ended.is_set():
                child.scope.cancel()
                cancelled.append(child.name)
        if cancelled:
            logger.warning("leadership lost: cancelled %s", ", ".join(cancelled))

    # -- stopping ----------------------------------------------------------------------------

    async def _shut_down(self) -> None:
        self._stopping = True
        self._on_stopping()
        if self._awaiting_leadership is not None:
            self._awaiting_leadership.cancel()
        await self._stop_runnables()
        # The elector releases its Lease, then the coordinator hands its keys over: each
        # only once nothing they guard runs here any more.
        for child in (self._elector_child, self._coordinator_child):
            if child is not None:
                child.stop_asked = True
                child.component.stop()
                await child.ended.wait()

    async def _stop_runnables(self) -> None:
        running = list(self._running)
        if not any(not child.ended.is_set() for child in running):
            return
        for child in running:
            child.stop_asked = True
            child.component.stop()
        with anyio.move_on_after(self._grace):
            for child in running:
                await child.ended.wait()
        pending = [child for child in running if not child.ended.is_set()]
        if pending:
            logger.warning("grace period of %s s over; cancelling %s", self._grace,
                           ", ".join(child.name for child in pending))
            for child in pending:
                child.scope.cancel()
            for child in pending:
                await child.ended.wait()
        logger.info("runnables stopped")

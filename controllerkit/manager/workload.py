"""`Workload`: the tasks of one manager run, started and stopped in the order that keeps
leader-only and shard-only work safe.

Start (the caches have synced): the shard coordinator, if any; every runnable that does not
need leadership; the leader elector, if any; and, once it leads, the runnables that need
leadership (all of them at once when there is no elector).

Stop (asked, or something ended): controllers stop gracefully and other runnables are
cancelled, within the grace period; then the elector is cancelled, which releases the
Lease, so the next leader starts only once no leader work runs here; then the coordinator is
cancelled, which hands this replica's keys over once no reconcile of them runs here. If
leadership is lost (`LeadershipLost`), everything that needs it is cancelled at once, with
no grace: the Lease may be taken by another replica as soon as `lease_duration` has passed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from ..controller import Controller
from ..leaderelection import LeaderElector
from ..sharding import ShardCoordinator

__all__ = ["ManagedRunnable", "Workload"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ManagedRunnable:
    """Something the manager runs: a controller, or a coroutine function it cancels to stop.

    `needs_leader_election`: started only on the replica that leads, once it leads (ignored
    without leader election).
    """

    name: str
    start: Callable[[], Coroutine[Any, Any, None]]
    needs_leader_election: bool
    controller: Controller | None = None


class Workload:
    """Runs `runnables` next to `elector` and `coordinator` until `stop` is set or one of
    them ends; `run()` then stops everything (see the module) and raises the first failure.

    A runnable that returns normally is done; one that raises ends the run with its error.
    The elector and the coordinator never return: their errors (`LeadershipLost`,
    `ShardLeaseLost`) end the run too.
    """

    def __init__(
        self,
        runnables: list[ManagedRunnable],
        *,
        stop: asyncio.Event,
        graceful_shutdown_timeout: float,
        elector: LeaderElector | None = None,
        coordinator: ShardCoordinator | None = None,
        on_stopping: Callable[[], None] = lambda: None,
    ) -> None:
        """`on_stopping` is called when the stop begins (to turn the readiness probe off)."""
        self._on_stopping = on_stopping
        self._runnables = runnables
        self._stop = stop
        self._grace = graceful_shutdown_timeout
        self._elector = elector
        self._coordinator = coordinator
        self._running: dict[asyncio.Task[None], ManagedRunnable] = {}
        self._elector_task: asyncio.Task[None] | None = None
        self._coordinator_task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    def cancel_runnables(self) -> None:
        """Cancel every runnable now (a second signal: no more grace)."""
        for task in self._running:
            task.cancel()

    async def run(self) -> None:
        try:
            await self._run_until_something_ends()
        finally:
            await self._shut_down()
        if self._failure is not None:
            raise self._failure

    async def _run_until_something_ends(self) -> None:
        loop = asyncio.get_running_loop()
        if self._coordinator is not None:
            self._coordinator_task = loop.create_task(self._coordinator.run(),
                                                      name=repr(self._coordinator))
        elector = self._elector
        self._start(lambda runnable: elector is None or not runnable.needs_leader_election)
        stopping = loop.create_task(self._stop_asked())
        leading: asyncio.Task[None] | None = None
        if elector is not None:
            self._elector_task = loop.create_task(elector.run(), name=repr(elector))
            leading = loop.create_task(elector.wait_until_leading())
        try:
            while True:
                watched = {stopping, *self._running}
                for task in (leading, self._elector_task, self._coordinator_task):
                    if task is not None:
                        watched.add(task)
                done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
                if leading is not None and leading in done:
                    done.discard(leading)
                    leading = None
                    if self._stop.is_set():
                        return
                    self._start(lambda runnable: runnable.needs_leader_election)
                    if not done:
                        continue
                finished = [task for task in done if task in self._running]
                if finished and len(finished) == len(done) and self._all_succeeded(finished):
                    continue  # runnables that returned are simply done
                return
        finally:
            stopping.cancel()
            if leading is not None:
                leading.cancel()

    async def _stop_asked(self) -> None:
        await self._stop.wait()

    def _start(self, which: Callable[[ManagedRunnable], bool]) -> None:
        loop = asyncio.get_running_loop()
        chosen = [runnable for runnable in self._runnables if which(runnable)]
        if chosen:
            logger.info("starting %s", ", ".join(runnable.name for runnable in chosen))
        for runnable in chosen:
            self._running[loop.create_task(runnable.start(), name=runnable.name)] = runnable

    def _all_succeeded(self, tasks: list[asyncio.Task[None]]) -> bool:
        succeeded = True
        for task in tasks:
            runnable = self._running.pop(task)
            if task.cancelled() or task.exception() is not None:
                self._note_failure(task, runnable.name)
                succeeded = False
            else:
                logger.info("%s finished", runnable.name)
        return succeeded

    def _note_failure(self, task: asyncio.Task[None], name: str) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and self._failure is None:
            self._failure = error
            logger.error("%s failed: %s", name, error)

    # -- stopping ----------------------------------------------------------------------------

    async def _shut_down(self) -> None:
        self._on_stopping()
        if self._leadership_lost():
            self._cancel_leader_work()
        await self._stop_runnables()
        for task in (self._elector_task, self._coordinator_task):
            if task is None:
                continue
            task.cancel()  # the elector releases its Lease, the coordinator hands keys over
            await asyncio.wait({task})
            self._note_failure(task, task.get_name())
        for task, runnable in self._running.items():
            self._note_failure(task, runnable.name)

    def _leadership_lost(self) -> bool:
        task = self._elector_task
        return task is not None and task.done()

    def _cancel_leader_work(self) -> None:
        cancelled = [runnable.name for task, runnable in self._running.items()
                     if runnable.needs_leader_election and not task.done() and task.cancel()]
        if cancelled:
            logger.warning("leadership lost: cancelled %s", ", ".join(cancelled))

    async def _stop_runnables(self) -> None:
        pending = {task for task in self._running if not task.done()}
        if not pending:
            return
        for task, runnable in self._running.items():
            if runnable.controller is not None and task in pending:
                runnable.controller.stop()
            elif runnable.controller is None:
                task.cancel()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._grace
        try:
            while pending:
                elector = self._elector_task
                watch = {elector} if elector is not None and not elector.done() else set()
                remaining = deadline - loop.time()
                if remaining <= 0:
                    logger.warning("grace period of %s s over; cancelling %s", self._grace,
                                   ", ".join(task.get_name() for task in pending))
                    for task in pending:
                        task.cancel()
                    await asyncio.wait(pending)
                    break
                await asyncio.wait(pending | watch, timeout=remaining,
                                   return_when=asyncio.FIRST_COMPLETED)
                if watch and self._leadership_lost():
                    self._cancel_leader_work()
                pending = {task for task in pending if not task.done()}
        finally:
            pass
        logger.info("runnables stopped")

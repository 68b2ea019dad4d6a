"""`run_manager`: a `Manager` running in the test's event loop for the length of a block.

```python
async with run_manager(manager):
    await kube.create(WIDGET, widget("w"), namespace="default")
    await eventually(lambda: reconciler.calls == 1)
```
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from anyio.abc import TaskStatus

if TYPE_CHECKING:
    from ..manager import Manager

__all__ = ["run_manager"]


@asynccontextmanager
async def run_manager(manager: Manager) -> AsyncIterator[Manager]:
    """Run `manager` in a task on the current loop until the block ends; yields it once ready.

    Before starting, every HTTP server of the manager that is on is moved to a free loopback
    port (bind address `"0"`), so tests never fight over 8080 and 8081; a server turned off
    (`""`) stays off. `manager.metrics_url` and `manager.health_probe_url` say where they
    listen. Entering waits until `manager.ready` (every cache synced); if `run()` fails first
    (`CacheSyncTimeout` after the manager's `cache_sync_timeout`, a server that cannot bind),
    that error is raised. Leaving stops the manager gracefully (`manager.stop()`) and awaits
    `run()`, re-raising its error.

    If `run()` fails while the block runs (a controller or runnable failed), the block is
    cancelled at its next `await` and the run's error is raised from the `async with`, so a
    test waiting for a reconcile fails with the cause instead of a timeout. If the block
    raises and the run fails too, the block's exception propagates with the run's error in a
    note.

    A manager runs once: pass a new `Manager` to each `run_manager`.
    """
    _use_free_ports(manager)
    host = asyncio.current_task()
    if host is None:
        raise RuntimeError("run_manager needs a running task")
    # A task owned by this block (awaited when it ends), not a task group: blocks entered
    # later may still be open when this one ends (an AsyncExitStack closed early), and a
    # task group's cancel scope must be left in the order it was entered.
    settled = asyncio.Event()
    run = asyncio.create_task(manager.run(task_status=_Started(settled)),
                              name="controllerkit-run-manager")
    run.add_done_callback(lambda _: settled.set())
    try:
        await _until_ready(manager, run, settled)
    except BaseException:
        if not run.done():
            run.cancel()
            await asyncio.wait({run})
        raise
    interrupt = _InterruptOnFailure(host)
    run.add_done_callback(interrupt)
    try:
        yield manager
    except BaseException as error:
        interrupt.disarm()
        if interrupt.fired:
            host.uncancel()
            if isinstance(error, asyncio.CancelledError):
                raise _failure(run) from None
        try:
            await _stopped(manager, run)
        except Exception as run_error:
            error.add_note(f"the manager's run failed too: {run_error!r}")
        raise
    interrupt.disarm()
    if interrupt.fired:
        host.uncancel()  # the block ended before the cancellation reached it
    await _stopped(manager, run)


def _use_free_ports(manager: Manager) -> None:
    if manager.metrics_bind_address:
        manager.metrics_bind_address = "0"
    if manager.health_probe_bind_address:
        manager.health_probe_bind_address = "0"


async def _until_ready(manager: Manager, run: asyncio.Task[None], settled: asyncio.Event
                       ) -> None:
    """Wait until the run reports started (ready) or ends; raise the run's error if it
    failed first."""
    await settled.wait()
    if not manager.ready and not run.done():
        await asyncio.wait({run})  # stopping already (something failed): wait for its end
    if run.done():
        run.result()  # raises the run's error
        raise RuntimeError("the manager stopped before its caches synced")


class _Started(TaskStatus[None]):
    """The task status of the run: sets `settled` once the manager is ready."""

    def __init__(self, settled: asyncio.Event) -> None:
        self._settled = settled

    def started(self, value: None = None) -> None:
        self._settled.set()


async def _stopped(manager: Manager, run: asyncio.Task[None]) -> None:
    manager.stop()
    await run


def _failure(run: asyncio.Task[None]) -> BaseException:
    error = run.exception()
    assert error is not None, "interrupted only by a failed run"
    return error


class _InterruptOnFailure:
    """A done-callback of the run: cancels the host task when the run fails while armed."""

    def __init__(self, host: asyncio.Task[object]) -> None:
        self._host = host
        self._armed = True
        self.fired = False

    def __call__(self, run: asyncio.Task[None]) -> None:
        if self._armed and not run.cancelled() and run.exception() is not None:
            self.fired = True
            self._host.cancel()

    def disarm(self) -> None:
        self._armed = False

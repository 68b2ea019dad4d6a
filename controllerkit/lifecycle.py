"""One lifecycle for every runtime component: `run()` until `stop()`, or `async with`.

The components that run (`Reflector`, `SharedInformer`, `InformerFactory`, `Controller`,
`LeaderElector`, `ShardCoordinator`, `EventRecorder`, `Manager`) start and stop one way:

```python
async with anyio.create_task_group() as tasks:
    await tasks.start(controller.run)   # returns once the controller has started
    ...
    controller.stop()                   # asks for a graceful stop; run() then returns

async with controller:                  # the same, in a task group the block owns
    ...
```

- `await component.run()` runs it until it is asked to stop. It reports `started` to the task
  status it is given, so `await task_group.start(component.run)` returns once the component
  has started; each class says what "started" means for it (an informer's tasks exist; a
  controller's workers exist; ...). A run that is stopped before it started returns, and
  `start()` returns with it.
- `component.stop()` asks for a graceful stop: synchronous, idempotent, never blocking, safe
  before `run()` (the run then ends as soon as it starts). What graceful means is the
  component's own (a controller lets in-flight reconciles finish; an informer saves its
  checkpoint). `run()` returns once it has stopped.
- Cancelling the task that runs `run()` is the hard stop; each class says what it still does
  on the way out (an elector still releases its Lease, an informer still saves its checkpoint).
- `async with component:` starts `run()` in a task group owned by the block (`tasks.start`)
  and enters once it has started. Leaving the block calls `stop()` and waits for `run()` to
  end, then raises its error as it is (never wrapped in an `ExceptionGroup`). If `run()`
  fails while the block runs, the block is cancelled at its next `await` and the run's error
  comes out of the `async with`. If the block raises, the component is still stopped
  gracefully, and the block's exception propagates (with the run's error in a note if it
  failed too).

Every task a component starts is owned by a task group inside its `run()` and has ended
when `run()` returns.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from types import TracebackType
from typing import Protocol, Self

import anyio
from anyio.abc import TaskGroup, TaskStatus

__all__ = ["Component", "Lifecycle", "run_stopping_on_cancel", "task_group", "unwrapped_errors"]


class Component(Protocol):
    """Something that runs until asked to stop (see the module)."""

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run until stopped or cancelled; report `task_status.started()` once started."""

    def stop(self) -> None:
        """Ask for a graceful stop; return at once. Idempotent."""


class Lifecycle(abc.ABC):
    """Gives a component `async with` on top of its `run()` and `stop()` (see the module).

    One block at a time: entering a component whose block has not ended raises
    `RuntimeError`.
    """

    _lifecycle_block: AbstractAsyncContextManager[None] | None = None

    @abc.abstractmethod
    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run until stopped or cancelled; report `task_status.started()` once started."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Ask for a graceful stop; return at once. Idempotent."""

    async def __aenter__(self) -> Self:
        """Start `run()` in a task group this block owns; enter once it has started."""
        if self._lifecycle_block is not None:
            raise RuntimeError(f"{self!r} is already started")
        block = _running(self)
        await block.__aenter__()
        self._lifecycle_block = block
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        """`stop()`, then wait for `run()` to end and raise its error as it is."""
        block, self._lifecycle_block = self._lifecycle_block, None
        if block is None:
            return None
        return await block.__aexit__(exc_type, exc, traceback)


@asynccontextmanager
async def _running(component: Component) -> AsyncIterator[None]:
    block_error: Exception | None = None
    try:
        async with task_group() as group:
            await group.start(component.run)
            try:
                yield
            except Exception as error:
                # Not handed to the task group: it would cancel the run (a hard stop)
                # instead of stopping it gracefully.
                block_error = error
            finally:
                # A cancellation (the caller's, or the group's after the run failed)
                # propagates as it is and cancels the run if it still runs.
                component.stop()
    except Exception as run_error:
        if block_error is None:
            raise
        block_error.add_note(f"{component!r} failed too: {run_error!r}")
    if block_error is not None:
        raise block_error


@contextmanager
def unwrapped_errors() -> Iterator[None]:
    """Let an `ExceptionGroup` of a single error out as that error.

    Task groups wrap what their tasks raise; a component's caller wants its error as it is.
    Groups of several errors propagate unchanged.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        error: BaseException = group
        while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]
        if error is group:
            raise
        raise error from error.__cause__


@asynccontextmanager
async def task_group() -> AsyncIterator[TaskGroup]:
    """An anyio task group whose error (a task's, or the block's) comes out as itself."""
    with unwrapped_errors():
        async with anyio.create_task_group() as group:
            yield group


async def run_stopping_on_cancel(
    run: Callable[..., Awaitable[None]],
    stop: Callable[[], None],
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Await `run(task_status=...)` out of reach of the caller's cancellation.

    A cancellation of the caller calls `stop()` instead, waits (shielded) until `run` has
    ended, and is then re-raised: a component whose graceful stop is a safety property (the
    manager: leader work ends before the Lease is released) finishes it even when cancelled.
    Its own hard stops (deadlines, explicit cancel scopes) are up to `run`. Started is
    reported once `run` reports it; an error `run` raises propagates as it is.
    """
    status = _ForwardedStatus()
    ended = anyio.Event()

    async def shielded() -> None:
        with anyio.CancelScope(shield=True):
            try:
                await run(task_status=status)
                status.returned = True
            finally:
                ended.set()
                status.settled.set()

    # Started with start_soon, not start(): a cancellation during start() would cancel the
    # task natively, and a native cancellation goes through shields.
    async with task_group() as group:
        group.start_soon(shielded)
        try:
            await status.settled.wait()
            if status.reported or status.returned:
                task_status.started()
            await ended.wait()
        except anyio.get_cancelled_exc_class():
            stop()
            with anyio.CancelScope(shield=True):
                await ended.wait()
            raise


class _ForwardedStatus(TaskStatus[None]):
    """The task status handed to a shielded run: remembers that it started."""

    def __init__(self) -> None:
        self.settled = anyio.Event()
        self.reported = False
        self.returned = False

    def started(self, value: None = None) -> None:
        if self.reported:
            raise RuntimeError("started() was already reported")
        self.reported = True
        self.settled.set()

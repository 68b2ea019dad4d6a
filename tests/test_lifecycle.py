"""`controllerkit.lifecycle`: `async with` over `run()` and `stop()`, and a run that a
cancellation stops gracefully."""

from __future__ import annotations

import asyncio

import anyio
import pytest
from anyio.abc import TaskStatus

from controllerkit.lifecycle import Lifecycle, run_stopping_on_cancel, task_group


class Worker(Lifecycle):
    """Starts, then waits for `stop()`; `fail_at` makes it raise at "start" or "run"."""

    def __init__(self, fail_at: str = "") -> None:
        self.fail_at = fail_at
        self.events: list[str] = []
        self.stop_asked = asyncio.Event()
        self.may_fail = asyncio.Event()

    def __repr__(self) -> str:
        return "Worker()"

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        if self.fail_at == "start":
            raise RuntimeError("cannot start")
        self.events.append("started")
        task_status.started()
        try:
            if self.fail_at == "run":
                await self.may_fail.wait()
                raise RuntimeError("failed while running")
            await self.stop_asked.wait()
            self.events.append("stopped")
        except BaseException as error:
            self.events.append(type(error).__name__)
            raise

    def stop(self) -> None:
        self.stop_asked.set()


async def test_the_block_runs_once_started_and_leaving_it_stops_gracefully() -> None:
    worker = Worker()
    async with worker:
        assert worker.events == ["started"]
    assert worker.events == ["started", "stopped"]


async def test_an_error_before_started_comes_out_of_the_entry_as_it_is() -> None:
    entered = False
    with pytest.raises(RuntimeError, match="cannot start"):
        async with Worker(fail_at="start"):
            entered = True
    assert not entered


async def test_a_run_that_fails_cancels_the_block_and_its_error_comes_out_as_it_is() -> None:
    worker = Worker(fail_at="run")
    with pytest.raises(RuntimeError, match="failed while running"):
        async with worker:
            worker.may_fail.set()
            await asyncio.Event().wait()  # never set: the failure must end the wait
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_block_that_raises_still_stops_the_component_gracefully() -> None:
    worker = Worker()
    with pytest.raises(KeyError):
        async with worker:
            raise KeyError("the block's own error")
    assert worker.events == ["started", "stopped"]


async def test_cancelling_the_caller_is_the_hard_stop() -> None:
    worker = Worker()
    with anyio.CancelScope() as scope:
        async with worker:
            scope.cancel()
            await asyncio.Event().wait()
    assert worker.events == ["started", "CancelledError"]


async def test_a_component_runs_in_one_block_at_a_time() -> None:
    worker = Worker()
    async with worker:
        with pytest.raises(RuntimeError, match="already started"):
            await worker.__aenter__()


async def test_a_cancelled_run_stopping_on_cancel_stops_gracefully_then_is_cancelled() -> None:
    worker = Worker()
    outcome: list[str] = []

    async def hosted(*, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            await run_stopping_on_cancel(worker.run, worker.stop, task_status=task_status)
        except anyio.get_cancelled_exc_class():
            outcome.append("cancelled")
            raise

    async with anyio.create_task_group() as tasks:
        await tasks.start(hosted)
        assert worker.events == ["started"]
        tasks.cancel_scope.cancel()
    assert worker.events == ["started", "stopped"]
    assert outcome == ["cancelled"]


async def test_run_stopping_on_cancel_reports_started_and_raises_the_run_error() -> None:
    worker = Worker(fail_at="run")
    with pytest.raises(RuntimeError, match="failed while running"):
        async with task_group() as tasks:
            await tasks.start(run_stopping_on_cancel, worker.run, worker.stop)
            assert worker.events == ["started"]
            worker.may_fail.set()

"""Helpers shared by the tests of every example: the repository root, polling, and a manager
run in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from controllerkit import Manager

ROOT = Path(__file__).resolve().parents[2]


async def eventually(check: Callable[[], Any], *, within: float = 15.0,
                     interval: float = 0.05) -> Any:
    """Poll `check` (sync or async) every `interval` seconds until it returns something
    truthy; its last value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"still {value!r} after {within}s")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def running(manager: Manager, *, within: float = 15.0,
                  interval: float = 0.05) -> AsyncIterator[Manager]:
    """`manager` running until the block ends (then stopped gracefully); it must be ready
    within `within` seconds (polled every `interval`)."""
    task = asyncio.create_task(manager.run())
    try:
        await eventually(lambda: manager.ready or task.done(), within=within, interval=interval)
        if task.done():
            task.result()
        yield manager
    finally:
        manager.stop()
        await task

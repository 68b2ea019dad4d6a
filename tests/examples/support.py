"""Helpers shared by the tests of every example: the repository root and a manager run in the
test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from controllerkit import Manager
from controllerkit.testing import eventually

ROOT = Path(__file__).resolve().parents[2]


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

"""Fixtures: an embedded API server on the test's event loop and a `KubeClient` for it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def eventually(condition: Callable[[], Awaitable[bool]], *, within: float = 30.0) -> None:
    """Poll the async `condition` every few milliseconds until it holds; fail after `within`
    seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.01)

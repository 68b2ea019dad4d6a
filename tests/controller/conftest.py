"""Fixtures: an embedded API server on the test's event loop, a `KubeClient` for it, the
Widget CRD, and a quick poll for conditions that other tasks make true."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def eventually(condition: Callable[[], bool], *, within: float = 30.0) -> None:
    """Poll `condition` every few milliseconds until it holds; fail after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.005)

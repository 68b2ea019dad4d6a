"""Electors on a `SteppedClock` against the embedded API server, and a network partition.

The clock moves only when a test says so; `settle()` waits (briefly, in real time) until
every elector has finished its API calls and sleeps on the clock again, so each step of a
test sees the state that step produced.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import KubeClient
from controllerkit.clock import FakeClock
from controllerkit.leaderelection import LeaderElectionConfig, LeaderElector

from .partition import Partition, partitioned_client


class SteppedClock(FakeClock):
    """A `FakeClock` that knows how many tasks are sleeping on it."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = 0

    async def sleep(self, seconds: float) -> None:
        self.sleeping += 1
        try:
            await super().sleep(seconds)
        finally:
            self.sleeping -= 1

    async def settle(self, sleepers: int, *, within: float = 5.0) -> None:
        """Wait until `sleepers` tasks sleep on the clock (their API calls are done)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        # Woken sleepers resume before this real-time pause ends, so they are not counted.
        await asyncio.sleep(0.005)
        while self.sleeping != sleepers:
            if loop.time() > deadline:
                raise AssertionError(f"{self.sleeping} task(s) sleeping, not {sleepers}")
            await asyncio.sleep(0.005)

    async def step(self, seconds: float, sleepers: int = 1) -> None:
        """Advance by `seconds`, then settle."""
        self.advance(seconds)
        await self.settle(sleepers)


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


def config(identity: str, **timings: Any) -> LeaderElectionConfig:
    """15 s / 10 s / 2 s on Lease default/ctl unless told otherwise."""
    return LeaderElectionConfig("ctl", "default", identity=identity, **timings)


@contextlib.asynccontextmanager
async def campaigning(elector: LeaderElector) -> AsyncIterator[asyncio.Task[None]]:
    """`elector.run()` in a task; cancelled (and awaited) when the block ends."""
    task = asyncio.get_running_loop().create_task(elector.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


@pytest.fixture
async def relay(server: EmbeddedApiServer) -> AsyncIterator[tuple[Partition, KubeClient]]:
    async with partitioned_client(server) as relayed:
        yield relayed


@pytest.fixture
def partition(relay: tuple[Partition, KubeClient]) -> Partition:
    return relay[0]


@pytest.fixture
def partitioned_kube(relay: tuple[Partition, KubeClient]) -> KubeClient:
    """A client whose every request goes through `partition`."""
    return relay[1]

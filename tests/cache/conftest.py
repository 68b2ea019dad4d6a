"""Fixtures: an embedded API server on the test's event loop and a `KubeClient` for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import KubeClient


@pytest.fixture
async def server() -> AsyncIterator[EmbeddedApiServer]:
    # Quiet watches get a bookmark every 0.2 s, so waits on a resourceVersion end quickly.
    async with EmbeddedApiServer(bookmark_interval=0.2) as embedded:
        yield embedded


@pytest.fixture
async def kube(server: EmbeddedApiServer) -> AsyncIterator[KubeClient]:
    async with KubeClient.from_url(server.url, token=server.token) as client:
        yield client

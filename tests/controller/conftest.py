"""Fixtures: an embedded API server on the test's event loop, a `KubeClient` for it, the
Widget CRD, and a quick poll for conditions that other tasks make true."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import KubeClient
from controllerkit.meta import CUSTOM_RESOURCE_DEFINITION

from ..apiserver.manifests import widget_crd


@pytest.fixture
async def server() -> AsyncIterator[EmbeddedApiServer]:
    async with EmbeddedApiServer(bookmark_interval=0.2) as embedded:
        yield embedded


@pytest.fixture
async def kube(server: EmbeddedApiServer) -> AsyncIterator[KubeClient]:
    async with KubeClient.from_url(server.url, token=server.token) as client:
        yield client


@pytest.fixture
async def widgets_installed(kube: KubeClient) -> None:
    await kube.create(CUSTOM_RESOURCE_DEFINITION, widget_crd())


async def eventually(condition: Callable[[], bool], *, within: float = 30.0) -> None:
    """Poll `condition` every few milliseconds until it holds; fail after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.005)

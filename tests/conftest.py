"""Fixtures shared by the runtime tests: an embedded API server on the test's own event loop,
a `KubeClient` for it, and the widget CRD installed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import KubeClient
from controllerkit.meta import CUSTOM_RESOURCE_DEFINITION

from .apiserver.manifests import widget_crd


@pytest.fixture
async def server() -> AsyncIterator[EmbeddedApiServer]:
    # Quiet watches get a bookmark every 0.2 s, so waits on a resourceVersion end quickly.
    # The strict status contract: a status write of the runtime's that lacks its precondition,
    # or tries to carry anything but `.status`, fails here instead of passing quietly.
    async with EmbeddedApiServer(bookmark_interval=0.2, strict_status=True) as embedded:
        yield embedded


@pytest.fixture
async def kube(server: EmbeddedApiServer) -> AsyncIterator[KubeClient]:
    async with KubeClient.from_url(server.url, token=server.token) as client:
        yield client


@pytest.fixture
async def widgets_installed(kube: KubeClient) -> None:
    await kube.create(CUSTOM_RESOURCE_DEFINITION, widget_crd())

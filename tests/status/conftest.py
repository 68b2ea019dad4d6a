"""Fixtures: an embedded API server in the test's loop, a client for it, the Widget CRD."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import KubeClient
from controllerkit.meta import CUSTOM_RESOURCE_DEFINITION, ResourceKind

from ..apiserver.manifests import GROUP, widget_crd

WIDGET = ResourceKind(GROUP, "v1", "Widget", "widgets")


@pytest.fixture
async def kube(server: EmbeddedApiServer) -> AsyncIterator[KubeClient]:
    async with KubeClient.from_url(server.url, token=server.token) as client:
        await client.create(CUSTOM_RESOURCE_DEFINITION, widget_crd())
        yield client

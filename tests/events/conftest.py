"""Fixtures: an embedded API server in the test's event loop, a `KubeClient`, a ConfigMap."""

from __future__ import annotations

import pytest

from controllerkit.client import KubeClient
from controllerkit.meta import CONFIG_MAP, JSONObject


@pytest.fixture
async def settings(kube: KubeClient) -> JSONObject:
    """A stored ConfigMap `default/settings`, as the server returned it."""
    return await kube.create(CONFIG_MAP, {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "default"}, "data": {"a": "1"},
    })

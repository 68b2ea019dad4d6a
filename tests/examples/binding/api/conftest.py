"""Fixtures for the internal API tests: an API server whose `spritz-internal-api` identity has
exactly the RBAC of `examples/binding/api/rbac.yaml` (in place of the binding tests' cluster),
and the API served over HTTP in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .support import ApiCluster, InternalApi, api_cluster, serving


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[ApiCluster]:
    async with api_cluster(tmp_path) as started:
        yield started


@pytest.fixture
async def api(cluster: ApiCluster) -> AsyncIterator[InternalApi]:
    async with serving(cluster) as served:
        yield served

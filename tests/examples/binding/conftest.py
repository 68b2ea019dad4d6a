"""Fixtures for the binding controller tests: an embedded API server with the CRDs whose
controller and simulator identities have exactly the RBAC of `examples/binding/rbac.yaml`,
and the runtime simulator running in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controllerkit import KubeClient, Manager
from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.meta import CUSTOM_RESOURCE_DEFINITION
from examples.binding.kinds import crds

from .support import (
    ADMIN_TOKEN,
    CONTROLLER_TOKEN,
    SIMULATOR_TOKEN,
    Cluster,
    running,
    simulator_manager,
    write_tokens,
)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    tokens = write_tokens(tmp_path / "tokens.yaml")
    async with (
        # Strict status: the example's status writes must be preconditioned and status-only.
        EmbeddedApiServer(tokens_file=tokens, bookmark_interval=0.2, strict_status=True) as server,
        KubeClient.from_url(server.url, token=ADMIN_TOKEN) as admin,
        KubeClient.from_url(server.url, token=CONTROLLER_TOKEN) as controller_client,
        KubeClient.from_url(server.url, token=SIMULATOR_TOKEN) as simulator_client,
    ):
        for crd in crds():
            await admin.create(CUSTOM_RESOURCE_DEFINITION, crd)
        yield Cluster(server, admin, controller_client, simulator_client)


@pytest.fixture
async def simulator(cluster: Cluster) -> AsyncIterator[Manager]:
    """The runtime simulator (Ready after 0.2 s, deletions held 0.2 s), as its own manager."""
    async with running(simulator_manager(cluster.simulator_client)) as manager:
        yield manager

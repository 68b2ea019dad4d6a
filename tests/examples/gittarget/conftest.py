"""Fixtures for the GitTarget controller tests: an embedded API server whose controller identity
has exactly the RBAC of `examples/gittarget/rbac.yaml`, a local bare repository, settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from controllerkit import KubeClient
from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.meta import CUSTOM_RESOURCE_DEFINITION
from controllerkit.testing.kubectl import Kubectl
from examples.gittarget.app import Settings
from examples.gittarget.kinds import crds

from .support import (
    ADMIN_TOKEN,
    CONTROLLER_TOKEN,
    Cluster,
    RuleChange,
    init_bare,
    rbac_rules,
    write_tokens,
)


@pytest.fixture
def controller_rules(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """The controller identity's rules: those of rbac.yaml, changed by the `RuleChange` a test
    gives by parametrizing this fixture indirectly."""
    change: RuleChange = getattr(request, "param", RuleChange())
    return rbac_rules(drop=change.drop) + list(change.add)


@pytest.fixture
async def cluster(tmp_path: Path, controller_rules: list[dict[str, Any]]
                  ) -> AsyncIterator[Cluster]:
    tokens = write_tokens(tmp_path / "tokens.yaml", controller_rules)
    async with (
        # kubectl sends bearer tokens over https only. Strict status: the example's status
        # writes must be preconditioned and status-only.
        EmbeddedApiServer(tokens_file=tokens, tls=True, bookmark_interval=0.2,
                          strict_status=True) as server,
        KubeClient.from_url(server.url, token=ADMIN_TOKEN, ca_data=ca(server)) as admin,
        KubeClient.from_url(server.url, token=CONTROLLER_TOKEN,
                            ca_data=ca(server)) as controller_client,
    ):
        for crd in crds():
            await admin.create(CUSTOM_RESOURCE_DEFINITION, crd)
        yield Cluster(server, admin, controller_client,
                      Kubectl(server.kubeconfig_path, tmp_path / "kube-cache"))


def ca(server: EmbeddedApiServer) -> bytes:
    assert server.tls is not None
    return server.tls.ca_pem


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """An empty bare repository: the provider's remote."""
    return init_bare(tmp_path / "remote.git")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(workdir=tmp_path / "controller", snapshot_sync_timeout=30.0)



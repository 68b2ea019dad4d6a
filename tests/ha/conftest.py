"""Fixtures of the multi-process tests: a client of the API server the replicas share, and
replica processes started on demand and killed when the test ends.

A test module says which kind of replica `start_replica` starts with a `replica_type`
fixture (a `tests.ha.replicas.Replica` subclass).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from controllerkit.apiserver import ThreadedApiServer
from controllerkit.client import KubeClient

from .replicas import Replica


@pytest.fixture
async def kube(apiserver: ThreadedApiServer) -> AsyncIterator[KubeClient]:
    async with KubeClient.from_kubeconfig(apiserver.kubeconfig_path) as client:
        yield client


@pytest.fixture
def start_replica(apiserver: ThreadedApiServer, tmp_path: Path, replica_type: type[Replica]
                  ) -> Iterator[Callable[[str], Replica]]:
    """Starts a `replica_type` by name, journaling to `tmp_path / "journal"` and logging to
    `tmp_path`; kills the ones still running at the end."""
    started: list[Replica] = []

    def start(name: str) -> Replica:
        replica = replica_type(name, apiserver.kubeconfig_path, tmp_path / "journal", tmp_path)
        started.append(replica)
        return replica

    try:
        yield start
    finally:
        for replica in started:
            replica.stop()

"""pytest fixtures: `apiserver` (a fresh embedded server per test), `kubectl`.

The server runs on its own thread and event loop (`ThreadedApiServer`), so synchronous tests can
call kubectl with blocking subprocess calls and async tests can use any client against
`apiserver.url` from their own loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controllerkit.apiserver import ThreadedApiServer

from .kubectl import Kubectl


@pytest.fixture
def apiserver() -> Iterator[ThreadedApiServer]:
    """A fresh in-memory embedded API server for one test."""
    with ThreadedApiServer(bookmark_interval=1.0) as server:
        yield server


@pytest.fixture
def kubectl(apiserver: ThreadedApiServer, tmp_path: Path) -> Kubectl:
    """kubectl bound to the test's server, with a private discovery cache."""
    return Kubectl(apiserver.kubeconfig_path, tmp_path / "kube-cache")

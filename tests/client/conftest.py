"""Fixtures of the client tests: a TLS server with tokens, and a front that requires client
certificates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controllerkit.apiserver import EmbeddedApiServer

from .kubeconfigs import guarded_tls_server
from .mutual_tls import ClientCertificateFront, client_certificate_front


@pytest.fixture
async def guarded_tls(tmp_path: Path) -> AsyncIterator[EmbeddedApiServer]:
    async with guarded_tls_server(tmp_path) as embedded:
        yield embedded


@pytest.fixture
async def front(
    server: EmbeddedApiServer, tmp_path: Path
) -> AsyncIterator[ClientCertificateFront]:
    async with client_certificate_front(server.port, tmp_path / "front-tls") as running:
        yield running

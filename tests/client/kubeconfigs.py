"""Kubeconfig files and servers the kubeconfig tests share."""

from __future__ import annotations

import base64
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml

from controllerkit.apiserver import EmbeddedApiServer

TOKENS = """
identities:
  - name: admin
    token: "admin-token"
    groups: [system:masters]
  - name: reader
    token: "reader-token"
    rules:
      - {verbs: [get, list, watch], apiGroups: [""], resources: [configmaps]}
"""


@asynccontextmanager
async def guarded_tls_server(directory: Path) -> AsyncIterator[EmbeddedApiServer]:
    """A TLS server accepting only `admin-token` (everything) and `reader-token` (reads)."""
    tokens = directory / "tokens.yaml"
    tokens.write_text(textwrap.dedent(TOKENS))
    async with EmbeddedApiServer(tls=True, tokens_file=tokens) as embedded:
        yield embedded


def ca_data(server: EmbeddedApiServer) -> str:
    """The server's CA as a kubeconfig `certificate-authority-data` value."""
    assert server.tls is not None
    return base64.b64encode(server.tls.ca_pem).decode("ascii")


def entry(name: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, kind: body}


def context_entry(name: str, cluster: str, user: str, **fields: str) -> dict[str, Any]:
    return entry(name, "context", {"cluster": cluster, "user": user, **fields})


def write_document(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return path


def write_kubeconfig(
    path: Path, *, cluster: dict[str, Any], user: dict[str, Any], namespace: str | None = None
) -> Path:
    """A kubeconfig with one cluster, user and context (`test`), which is current."""
    fields = {"namespace": namespace} if namespace else {}
    return write_document(path, {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [entry("test", "cluster", cluster)],
        "users": [entry("test", "user", user)],
        "contexts": [context_entry("test", "test", "test", **fields)],
        "current-context": "test",
    })

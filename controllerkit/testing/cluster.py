"""The cluster a test run talks to: an embedded API server, or an existing cluster.

Both `ThreadedApiServer` and `ExistingCluster` satisfy `ClusterUnderTest`, which is what the
`apiserver` fixture yields: tests that use only `url` and `kubeconfig_path` (through a client
or kubectl) run unchanged against either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import yaml

__all__ = ["ClusterUnderTest", "ExistingCluster", "kubeconfig_from_environment"]


@runtime_checkable
class ClusterUnderTest(Protocol):
    """A Kubernetes API server under test: where it listens and a kubeconfig to reach it."""

    @property
    def url(self) -> str:
        """The server's base URL, e.g. `http://127.0.0.1:40123`."""
        ...

    @property
    def kubeconfig_path(self) -> Path:
        """A kubeconfig whose current context reaches the server with its credentials."""
        ...


@dataclass(frozen=True)
class ExistingCluster:
    """A cluster that runs outside the test process, reached through a kubeconfig.

    Only what the kubeconfig says is known: unlike the embedded server there is no `engine`
    to inspect, and the cluster's state is shared by every test of the run.
    """

    url: str
    kubeconfig_path: Path
    context: str

    @classmethod
    def from_kubeconfig(cls, path: str | os.PathLike[str]) -> ExistingCluster:
        """The cluster of the kubeconfig's current context. Raises `ValueError` naming what is
        missing when the file cannot be read or its current context leads to no server."""
        kubeconfig = Path(path).expanduser()
        try:
            document = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise ValueError(f"cannot read the kubeconfig {kubeconfig}: {error}") from None
        if not isinstance(document, dict):
            raise ValueError(f"the kubeconfig {kubeconfig} is not a YAML mapping")
        context_name = document.get("current-context")
        if not context_name:
            raise ValueError(f"the kubeconfig {kubeconfig} has no current-context")
        context = _named(document, "contexts", "context", context_name, kubeconfig)
        cluster = _named(document, "clusters", "cluster", context.get("cluster"), kubeconfig)
        server = cluster.get("server")
        if not server:
            raise ValueError(f"the kubeconfig {kubeconfig}: cluster {context.get('cluster')!r} "
                             f"has no server")
        return cls(url=str(server).rstrip("/"), kubeconfig_path=kubeconfig.resolve(),
                   context=str(context_name))


def kubeconfig_from_environment() -> Path:
    """The kubeconfig kubectl would use: `$KUBECONFIG`, else `~/.kube/config`.

    Raises `ValueError` when `$KUBECONFIG` lists several files: kubectl merges them, but a
    test run needs one file it can hand to every client and to `kubectl --kubeconfig`.
    """
    listed = [entry for entry in os.environ.get("KUBECONFIG", "").split(os.pathsep) if entry]
    if len(listed) > 1:
        raise ValueError(f"KUBECONFIG lists {len(listed)} files; name one with --kubeconfig")
    if listed:
        return Path(listed[0]).expanduser()
    return Path.home() / ".kube" / "config"


def _named(document: dict[str, Any], section: str, field: str, name: object,
           kubeconfig: Path) -> dict[str, Any]:
    for entry in document.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(field)
            if isinstance(body, dict):
                return body
    raise ValueError(f"the kubeconfig {kubeconfig} has no {field} named {name!r}")

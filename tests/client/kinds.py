"""Kinds and objects the client tests use."""

from __future__ import annotations

from typing import Any

from controllerkit.meta import ResourceKind

from ..apiserver.manifests import GROUP

WIDGET = ResourceKind(GROUP, "v1", "Widget", "widgets")


def configmap(name: str, namespace: str = "default", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": dict(data),
    }

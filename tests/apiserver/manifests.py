"""Manifests shared by the API server tests."""

from __future__ import annotations

from typing import Any

GROUP = "example.com"


def widget_crd(
    *, group: str = GROUP, plural: str = "widgets", kind: str = "Widget",
    scope: str = "Namespaced", versions: tuple[str, ...] = ("v1",),
) -> dict[str, Any]:
    """A CRD with a status subresource, a typed spec, defaults and printer columns."""
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["size"],
                "properties": {
                    "size": {"type": "integer", "minimum": 1},
                    "colour": {"type": "string", "enum": ["red", "green", "blue"],
                               "default": "red"},
                    "labels": {"type": "object",
                               "additionalProperties": {"type": "string"}},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                },
            },
            "status": {
                "type": "object",
                "properties": {
                    "phase": {"type": "string"},
                    "observedGeneration": {"type": "integer"},
                    "conditions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["type", "status"],
                            "properties": {
                                "type": {"type": "string"},
                                "status": {"type": "string"},
                                "reason": {"type": "string"},
                                "message": {"type": "string"},
                                "lastTransitionTime": {"type": "string", "format": "date-time"},
                                "observedGeneration": {"type": "integer"},
                            },
                        },
                    },
                },
            },
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind,
                      "listKind": f"{kind}List", "shortNames": ["wd"]},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": index == 0,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                    ],
                    "schema": {"openAPIV3Schema": schema},
                }
                for index, version in enumerate(versions)
            ],
        },
    }


def widget(name: str, *, namespace: str = "default", size: int = 1,
           group: str = GROUP, version: str = "v1", **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{group}/{version}",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace, **meta},
        "spec": {"size": size},
    }


def configmap(name: str, *, namespace: str = "default", labels: dict[str, str] | None = None,
              data: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels is not None:
        meta["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
            "data": dict(data or {"v": "1"})}


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}

"""What an object is and where it lives: resource kinds and object keys.

`ResourceKind` names a served resource the way the REST API addresses it (group, version,
plural) and the way objects name themselves (apiVersion, kind). Built-in kinds are module
constants; CRD kinds are declared once, usually by a `CustomResource` model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

JSONObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ResourceKind:
    """A served resource: REST path pieces and the object's apiVersion/kind."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """`widgets.example.com`, or `configmaps` for the core group."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        """The REST path of the collection, or of one object (and its subresource).

        A namespaced kind with no namespace addresses the collection across all namespaces.
        """
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            prefix += f"/namespaces/{namespace}"
        path = f"{prefix}/{self.plural}"
        if name:
            path += f"/{name}"
            if subresource:
                path += f"/{subresource}"
        elif subresource:
            raise ValueError("a subresource needs an object name")
        return path

    def __str__(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


ObjectKey = tuple[str, str]
"""(namespace, name); namespace is "" for cluster-scoped objects."""


def object_key(obj: Mapping[str, Any]) -> ObjectKey:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def resource_version(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


NAMESPACE = ResourceKind("", "v1", "Namespace", "namespaces", namespaced=False)
CONFIG_MAP = ResourceKind("", "v1", "ConfigMap", "configmaps")
SECRET = ResourceKind("", "v1", "Secret", "secrets")
EVENT = ResourceKind("", "v1", "Event", "events")
EVENTS_V1_EVENT = ResourceKind("events.k8s.io", "v1", "Event", "events")
LEASE = ResourceKind("coordination.k8s.io", "v1", "Lease", "leases")
JOB = ResourceKind("batch", "v1", "Job", "jobs")
CUSTOM_RESOURCE_DEFINITION = ResourceKind(
    "apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
    namespaced=False,
)

BUILTIN_KINDS = (NAMESPACE, CONFIG_MAP, SECRET, EVENT, EVENTS_V1_EVENT, LEASE, JOB,
                 CUSTOM_RESOURCE_DEFINITION)

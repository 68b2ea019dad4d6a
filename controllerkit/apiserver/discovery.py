"""Discovery documents: /version, /api, /apis and the per group-version resource lists.

Built from the registry and cached until the registry changes (a CRD comes or goes), so kubectl's
discovery burst at start-up costs one encode per document.
"""

from __future__ import annotations

import platform
import sys
from typing import Any

from .codec import encode
from .resources import Registry, ResourceType

KUBERNETES_VERSION = (1, 32, 0)

STATUS_VERBS = ["get", "patch", "update"]


def version_info() -> dict[str, str]:
    major, minor, patch = KUBERNETES_VERSION
    return {
        "major": str(major),
        "minor": str(minor),
        "gitVersion": f"v{major}.{minor}.{patch}+controllerkit",
        "gitCommit": "controllerkit",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": f"python{sys.version_info.major}.{sys.version_info.minor}",
        "compiler": "cpython",
        "platform": f"{platform.system().lower()}/{platform.machine().lower()}",
    }


def api_resource(rtype: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": rtype.plural,
        "singularName": rtype.singular,
        "namespaced": rtype.namespaced,
        "kind": rtype.kind,
        "verbs": list(rtype.verbs),
    }
    if rtype.short_names:
        entry["shortNames"] = list(rtype.short_names)
    if rtype.categories:
        entry["categories"] = list(rtype.categories)
    return entry


class Discovery:
    """Encoded discovery documents, rebuilt when the registry's generation moves."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._generation = -1
        self._cache: dict[str, bytes] = {}

    def document(self, path: str) -> bytes | None:
        """The encoded document for a discovery path, or None if there is none."""
        if self._generation != self._registry.generation:
            self._cache.clear()
            self._generation = self._registry.generation
        cached = self._cache.get(path)
        if cached is None:
            doc = self._build(path)
            if doc is None:
                return None
            cached = self._cache[path] = encode(doc)
        return cached

    def _build(self, path: str) -> dict[str, Any] | None:
        parts = [p for p in path.split("/") if p]
        registry = self._registry
        if parts == ["version"]:
            return version_info()
        if parts == ["api"]:
            return {
                "kind": "APIVersions",
                "versions": registry.versions(""),
                "serverAddressByClientCIDRs": [],
            }
        if parts == ["apis"]:
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [self._group(g) for g in registry.groups() if g],
            }
        if len(parts) == 2 and parts[0] == "api" and parts[1] in registry.versions(""):
            return self._resource_list("", parts[1])
        if len(parts) == 2 and parts[0] == "apis" and parts[1] in registry.groups():
            return {"kind": "APIGroup", "apiVersion": "v1", **self._group(parts[1])}
        if len(parts) == 3 and parts[0] == "apis" and parts[2] in registry.versions(parts[1]):
            return self._resource_list(parts[1], parts[2])
        return None

    def _group(self, group: str) -> dict[str, Any]:
        versions = [
            {"groupVersion": f"{group}/{v}", "version": v} for v in self._registry.versions(group)
        ]
        preferred = self._registry.preferred_version(group)
        return {
            "name": group,
            "versions": versions,
            "preferredVersion": {"groupVersion": f"{group}/{preferred}", "version": preferred},
        }

    def _resource_list(self, group: str, version: str) -> dict[str, Any]:
        resources: list[dict[str, Any]] = []
        for rtype in self._registry.resources(group, version):
            resources.append(api_resource(rtype))
            if rtype.has_status:
                resources.append({
                    "name": f"{rtype.plural}/status",
                    "singularName": "",
                    "namespaced": rtype.namespaced,
                    "kind": rtype.kind,
                    "verbs": STATUS_VERBS,
                })
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }

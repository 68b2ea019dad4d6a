"""What the server serves: resource types, and the registry that discovery is built from.

A `ResourceType` is one (group, version, plural) the server answers for. Several versions of a
CRD share one storage, keyed by `GroupResource`; objects are kept with their storage
`apiVersion` and re-labelled when read through another served version (conversion strategy
`None`, the only one this server implements).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

JSONObject = dict[str, Any]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True, order=True)
class GroupResource:
    """The storage identity of a resource: objects of every version of it live together."""

    group: str
    plural: str

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


@dataclass(frozen=True)
class ResourceType:
    """One served (group, version, plural) with everything discovery and validation need."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    list_kind: str = ""
    has_status: bool = False
    # openAPIV3Schema of the whole object; None means "accept anything" (no validation).
    schema: JSONObject | None = field(default=None, compare=False, hash=False)
    # CRD additionalPrinterColumns: dicts with name, type, jsonPath, optional description/format.
    printer_columns: tuple[JSONObject, ...] = field(default=(), compare=False, hash=False)
    # Built-ins (ConfigMap, Secret, ...) do not track metadata.generation; CRs and Jobs do.
    tracks_generation: bool = True
    # Only built-ins accept strategic-merge patches; custom resources answer 415.
    strategic_merge: bool = False
    # Whether a DELETE that removes the object at once answers with it (Pods, Services,
    # Namespaces, ...) rather than a `Status` (custom resources and most built-ins).
    delete_returns_object: bool = True
    # propagationPolicy used when a DELETE names none (batch/v1 Jobs orphan, for compatibility).
    default_propagation: str = "Background"
    verbs: tuple[str, ...] = ALL_VERBS
    # The CRD this type came from (its metadata.name), or "" for a built-in.
    crd_name: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> GroupResource:
        return GroupResource(self.group, self.plural)

    @property
    def list_kind_name(self) -> str:
        return self.list_kind or f"{self.kind}List"

    @property
    def is_custom(self) -> bool:
        return bool(self.crd_name)


class Registry:
    """The set of served resource types; discovery, routing and OpenAPI read from it.

    CRDs add and remove types at run time. `generation` moves on each change so cached
    documents (discovery, OpenAPI) know when to rebuild.
    """

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self.generation = 0

    def add(self, rtype: ResourceType) -> None:
        self._types[(rtype.group, rtype.version, rtype.plural)] = rtype
        self.generation += 1

    def remove_crd(self, crd_name: str) -> list[ResourceType]:
        """Drop every type registered from the named CRD; returns what was removed."""
        removed = [t for t in self._types.values() if t.crd_name == crd_name]
        for t in removed:
            del self._types[(t.group, t.version, t.plural)]
        if removed:
            self.generation += 1
        return removed

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> ResourceType | None:
        for t in self._types.values():
            if t.group == group and t.version == version and t.kind == kind:
                return t
        return None

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(sorted(self._types.values(), key=lambda t: (t.group, t.version, t.plural)))

    def groups(self) -> list[str]:
        """Served API groups, the core group ("") first, then in registration order."""
        seen: list[str] = []
        for group, _version, _plural in self._types:
            if group not in seen:
                seen.append(group)
        return sorted(seen, key=lambda g: (g != "", seen.index(g)))

    def versions(self, group: str) -> list[str]:
        """Versions served for a group, in Kubernetes version priority order."""
        found = {v for g, v, _p in self._types if g == group}
        return sorted(found, key=version_priority)

    def preferred_version(self, group: str) -> str:
        """The highest-priority served version, as the real server prefers for CRDs."""
        return self.versions(group)[0]

    def resources(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self if t.group == group and t.version == version]

    def any_version(self, gr: GroupResource) -> ResourceType | None:
        """The preferred served type of a group-resource, for server-internal reads."""
        candidates = [t for t in self._types.values() if t.group_resource == gr]
        if not candidates:
            return None
        return sorted(candidates, key=lambda t: version_priority(t.version))[0]


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first, then the rest."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0, version)
    major = int(m.group(1))
    stage = {"": 0, "beta": 1, "alpha": 2}[m.group(2) or ""]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor, version)

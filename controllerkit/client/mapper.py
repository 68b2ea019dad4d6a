"""`RestMapper`: from an object's apiVersion and kind to the resource that serves it.

Plurals and scope are the server's to say: the mapper reads them from discovery (one
`APIResourceList` per group version, cached) instead of trusting what code declares. A kind
the server does not serve raises `NoKindMatch` naming it at once, instead of a watch that
never syncs.
"""

from __future__ import annotations

import asyncio

from ..errors import NoKindMatch, NotFound
from ..meta import JSONObject, ResourceKind
from .protocol import Client

__all__ = ["RestMapper"]


class RestMapper:
    """Resolves kinds through a client's discovery; one read per group version, cached.

    Guarantees: a kind is resolved from what the server serves now (a cached group version
    that lacks the kind is read again once, so a CRD installed meanwhile is found). Not
    guaranteed: that a kind stays served (a CRD may be deleted later).
    """

    def __init__(self, client: Client) -> None:
        self._client = client
        self._documents: dict[str, dict[str, ResourceKind]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def resolve(self, api_version: str, kind: str) -> ResourceKind:
        """The resource serving `kind` objects of `api_version`; `NoKindMatch` if none does."""
        kinds = self._documents.get(api_version)
        if kinds is None or kind not in kinds:
            kinds = await self._discover(api_version)
        if kinds is None:
            raise NoKindMatch(api_version, kind)
        found = kinds.get(kind)
        if found is None:
            raise NoKindMatch(api_version, kind, tuple(kinds))
        return found

    async def check(self, kind: ResourceKind) -> ResourceKind:
        """`kind` as the server serves it; `NoKindMatch` if it does not, or serves it under
        another plural or scope than `kind` declares (a request would go to the wrong path)."""
        served = await self.resolve(kind.api_version, kind.kind)
        if (served.plural, served.namespaced) != (kind.plural, kind.namespaced):
            raise NoKindMatch(kind.api_version, kind.kind, detail=(
                f"declared as {_describe(kind)}, but the server serves it as "
                f"{_describe(served)}"))
        return served

    async def _discover(self, api_version: str) -> dict[str, ResourceKind] | None:
        """The kinds of `api_version` read afresh; None when it is not served."""
        lock = self._locks.setdefault(api_version, asyncio.Lock())
        async with lock:
            try:
                document = await self._client.api_resources(api_version)
            except NotFound:
                return None
            kinds = _kinds_of(api_version, document)
            self._documents[api_version] = kinds
            return kinds


def _kinds_of(api_version: str, document: JSONObject) -> dict[str, ResourceKind]:
    group, _, version = api_version.rpartition("/")
    kinds: dict[str, ResourceKind] = {}
    for resource in document.get("resources") or ():
        name = str(resource.get("name") or "")
        if not name or "/" in name:  # subresources (`deployments/status`) are not kinds
            continue
        kind = str(resource.get("kind") or "")
        kinds[kind] = ResourceKind(group, version, kind, name,
                                   bool(resource.get("namespaced")))
    return kinds


def _describe(kind: ResourceKind) -> str:
    scope = "namespaced" if kind.namespaced else "cluster-scoped"
    return f"{kind.plural!r} ({scope})"

"""Reading the API server's discovery documents: which groups, versions and resources it serves.

A WatchRule names resources the way RBAC does (API group, version, plural); informers need a
`ResourceKind` (with the kind and whether it is namespaced). The discovery documents say that:
`Client.api_groups()` lists the group versions (and each group's preferred version),
`Client.api_resources(group_version)` the resources of one group version. Read with the
controller's own client, they show exactly what the controller's identity sees. Use one
reader for one resolution and let it go: it keeps what it read.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from types import TracebackType

from controllerkit.client import Client, TransportError
from controllerkit.errors import ApiError, NotFound
from controllerkit.meta import JSONObject, ResourceKind

LISTABLE_VERBS = frozenset({"list", "watch"})


class DiscoveryError(RuntimeError):
    """The server's discovery could not be read (the message names the path and the answer)."""


@dataclass(frozen=True)
class GroupVersions:
    """The versions a group serves, and the one the server prefers."""

    group: str
    versions: tuple[str, ...]
    preferred: str


@dataclass(frozen=True)
class ServedResource:
    """One resource of a group version, as discovery describes it."""

    kind: ResourceKind
    verbs: frozenset[str]

    @property
    def listable(self) -> bool:
        """Whether informers can list and watch it."""
        return self.verbs >= LISTABLE_VERBS


class DiscoveryReader:
    """Reads discovery documents through a client, caching each for the reader's lifetime.

    Guarantees: each document is read at most once per reader; a group version the server
    does not serve is reported as absent (None), never as an error. Raises `DiscoveryError`
    when the server cannot be reached or refuses the read.
    """

    def __init__(self, client: Client) -> None:
        self._client = client
        self._groups: JSONObject | None = None
        self._documents: dict[str, JSONObject | None] = {}

    async def __aenter__(self) -> DiscoveryReader:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, traceback: TracebackType | None) -> None:
        self._documents.clear()

    async def groups(self) -> dict[str, GroupVersions]:
        """Every served group ("" is the core group) with its versions."""
        if self._groups is None:
            self._groups = await self._read("/api and /apis", self._client.api_groups())
        served: dict[str, GroupVersions] = {}
        for entry in (self._groups or {}).get("groups") or ():
            versions = tuple(str(v.get("version")) for v in entry.get("versions") or ())
            preferred = (entry.get("preferredVersion") or {}).get("version") or (
                versions[0] if versions else "")
            if versions:
                served[str(entry["name"])] = GroupVersions(str(entry["name"]), versions,
                                                           str(preferred))
        return served

    async def resources(self, group: str, version: str) -> list[ServedResource] | None:
        """The resources of a group version (subresources left out), None if not served."""
        group_version = f"{group}/{version}" if group else version
        if group_version not in self._documents:
            try:
                self._documents[group_version] = await self._read(
                    group_version, self._client.api_resources(group_version))
            except NotFound:
                self._documents[group_version] = None
        document = self._documents[group_version]
        if document is None:
            return None
        resources = []
        for entry in document.get("resources") or ():
            name = str(entry.get("name") or "")
            if not name or "/" in name:
                continue
            kind = ResourceKind(group, version, str(entry.get("kind") or ""), name,
                                namespaced=bool(entry.get("namespaced")))
            resources.append(ServedResource(kind, frozenset(entry.get("verbs") or ())))
        return resources

    @staticmethod
    async def _read(what: str, reading: Awaitable[JSONObject]) -> JSONObject:
        try:
            return await reading
        except NotFound:
            raise
        except (ApiError, TransportError, TimeoutError) as error:
            raise DiscoveryError(f"discovery of {what}: {error}") from error

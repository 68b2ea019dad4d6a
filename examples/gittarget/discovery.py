"""Reading the API server's discovery documents: which groups, versions and resources it serves.

A WatchRule names resources the way RBAC does (API group, version, plural); informers need a
`ResourceKind` (with the kind and whether it is namespaced). The discovery documents say that:
`/api` and `/apis` list the group versions (and each group's preferred version), `/api/v1`
and `/apis/<group>/<version>` list the resources of one group version.

The runtime's `Client` protocol has no discovery call, so this reader sends the few GET requests
itself with the client's own configuration (server URL, credentials, TLS): it sees exactly what
the controller's identity sees. One reader is one HTTP session: use it as an async context
for one resolution and let it go.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp

from controllerkit.client import ClientConfig
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
    """Reads discovery documents with a client's configuration, caching each for its lifetime.

    Guarantees: each document is fetched at most once per reader; a group version the server
    does not serve is reported as absent (None), never as an error. Raises `DiscoveryError`
    when the server cannot be reached or answers anything but 200 or 404.
    """

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self._session: aiohttp.ClientSession | None = None
        self._documents: dict[str, JSONObject | None] = {}

    async def __aenter__(self) -> DiscoveryReader:
        timeout = aiohttp.ClientTimeout(connect=self._config.timeouts.connect,
                                        sock_read=self._config.timeouts.read)
        connector = aiohttp.TCPConnector(
            ssl=self._config.ssl_context if self._config.ssl_context is not None else True)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, traceback: TracebackType | None) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def groups(self) -> dict[str, GroupVersions]:
        """Every served group ("" is the core group) with its versions."""
        served: dict[str, GroupVersions] = {}
        core = await self._document("/api")
        if core is not None:
            versions = tuple(str(v) for v in core.get("versions") or ())
            if versions:
                served[""] = GroupVersions("", versions, versions[0])
        named = await self._document("/apis")
        for entry in (named or {}).get("groups") or ():
            versions = tuple(str(v.get("version")) for v in entry.get("versions") or ())
            preferred = (entry.get("preferredVersion") or {}).get("version") or (
                versions[0] if versions else "")
            if versions:
                served[str(entry["name"])] = GroupVersions(str(entry["name"]), versions,
                                                           str(preferred))
        return served

    async def resources(self, group: str, version: str) -> list[ServedResource] | None:
        """The resources of a group version (subresources left out), None if not served."""
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        document = await self._document(path)
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

    async def _document(self, path: str) -> JSONObject | None:
        if path in self._documents:
            return self._documents[path]
        document = await self._get(path)
        self._documents[path] = document
        return document

    async def _get(self, path: str) -> JSONObject | None:
        if self._session is None:
            raise RuntimeError("use the discovery reader as an async context")
        url = self._config.server + path
        extra: dict[str, Any] = {}
        if self._config.tls_server_name:
            extra["server_hostname"] = self._config.tls_server_name
        if self._config.proxy:
            extra["proxy"] = self._config.proxy
        try:
            async with self._session.get(url, headers=await self._config.headers(),
                                         **extra) as response:
                if response.status == 404:
                    return None
                body = await response.read()
                if response.status != 200:
                    raise DiscoveryError(f"GET {path}: HTTP {response.status}: "
                                         f"{body[:300].decode(errors='replace')}")
                document: JSONObject = await response.json(content_type=None)
                return document
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DiscoveryError(f"GET {path}: {error!r}") from error

"""The `Client` protocol: every API call the runtime makes, on plain dicts.

Informers, controllers and status writers depend on this protocol, not on a transport, so any
implementation (the kubernetes-asyncio based `KubeClient`, a recording wrapper) serves them.
Objects are the decoded JSON dicts; typed (pydantic) access sits on top (`TypedClient`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from ..meta import JSONObject, ResourceKind


class PatchType(StrEnum):
    """Patch formats, by their Content-Type."""

    MERGE = "application/merge-patch+json"
    JSON = "application/json-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


@dataclass(frozen=True, slots=True)
class ObjectList:
    """One page of a list: items, the list's resourceVersion, and where the next page starts."""

    items: list[JSONObject]
    resource_version: str
    continue_token: str = ""
    remaining_item_count: int | None = None


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """ADDED, MODIFIED, DELETED or BOOKMARK with its object (ERROR events raise instead)."""

    type: str
    object: JSONObject

    @property
    def resource_version(self) -> str:
        return str((self.object.get("metadata") or {}).get("resourceVersion") or "")

    @property
    def is_initial_events_end(self) -> bool:
        annotations = (self.object.get("metadata") or {}).get("annotations") or {}
        return self.type == "BOOKMARK" and annotations.get("k8s.io/initial-events-end") == "true"


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """What to watch from where. `resource_version` "" or "0" starts with the current state."""

    resource_version: str = ""
    label_selector: str = ""
    field_selector: str = ""
    allow_bookmarks: bool = True
    timeout_seconds: int | None = None
    send_initial_events: bool = False
    # No event or bookmark for this long means the stream is stalled: it is ended with
    # `WatchStalled` so the caller re-watches (half-open connections never error by themselves).
    stall_timeout: float | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


class Client(Protocol):
    """Asynchronous access to one API server."""

    async def api_groups(self) -> JSONObject:
        """Every served group as an `APIGroupList`, the core group first under the name ""
        (its versions from `/api`, the others from `/apis`)."""
        ...

    async def api_resources(self, api_version: str) -> JSONObject:
        """The discovery document (`APIResourceList`) of a group version (`v1`,
        `apps/v1`); `NotFound` when the server does not serve it."""
        ...

    async def get(
        self, kind: ResourceKind, name: str, *, namespace: str | None = None
    ) -> JSONObject: ...

    async def list(
        self,
        kind: ResourceKind,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        limit: int | None = None,
        continue_token: str = "",
        resource_version: str = "",
    ) -> ObjectList:
        """One page (or everything, without `limit`)."""
        ...

    def list_all(
        self,
        kind: ResourceKind,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        page_size: int = 500,
    ) -> AsyncIterator[ObjectList]:
        """Every page of a paginated list, following continue tokens."""
        ...

    def watch(
        self, kind: ResourceKind, options: WatchOptions, *, namespace: str | None = None
    ) -> AsyncIterator[WatchEvent]:
        """A stream of events; ends when the server ends it. ERROR events raise `ApiError`
        (`Expired` for 410); a stall raises `WatchStalled`."""
        ...

    async def create(
        self,
        kind: ResourceKind,
        obj: Mapping[str, Any],
        *,
        namespace: str | None = None,
        field_manager: str = "",
        dry_run: bool = False,
    ) -> JSONObject: ...

    async def update(
        self,
        kind: ResourceKind,
        obj: Mapping[str, Any],
        *,
        field_manager: str = "",
        dry_run: bool = False,
    ) -> JSONObject:
        """PUT; the object's metadata.resourceVersion (if set) is the precondition."""
        ...

    async def patch(
        self,
        kind: ResourceKind,
        name: str,
        patch: Mapping[str, Any] | Sequence[Any] | str,
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        field_manager: str = "",
        force: bool = False,
        dry_run: bool = False,
        resource_version: str = "",
    ) -> JSONObject:
        """A patch of `patch_type`; conditional on `resource_version` when given (`Conflict`
        when the object has moved on)."""
        ...

    async def delete(
        self,
        kind: ResourceKind,
        name: str,
        *,
        namespace: str | None = None,
        propagation_policy: str = "",
        precondition_uid: str = "",
        precondition_resource_version: str = "",
    ) -> JSONObject:
        """The deleted (or now terminating) object, or the server's Status for built-ins."""
        ...

    async def update_status(
        self, kind: ResourceKind, obj: Mapping[str, Any], *, field_manager: str = ""
    ) -> JSONObject: ...

    async def patch_status(
        self,
        kind: ResourceKind,
        name: str,
        patch: Mapping[str, Any] | Sequence[Any],
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        resource_version: str = "",
        field_manager: str = "",
    ) -> JSONObject:
        """A status patch; `resource_version` is added as the optimistic-concurrency precondition
        (`metadata.resourceVersion` for merge patches, a `test` op for JSON patches)."""
        ...

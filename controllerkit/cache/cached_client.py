"""`CachedClient`: reads from the informer caches, writes to the API server, and reads its own
writes.

```python
site = await client.get(Website, "blog", namespace="default")     # from the cache
deployment = await client.apply(desired_deployment, owner=site)   # to the server
await client.get(Deployment, "blog", namespace="default")         # sees that write
```

Objects go in as dicts, pydantic models (`Resource` subclasses declare their kind) or
kubernetes-asyncio models, and come out as the caller gave them: a model class or a model in
gives models out, anything else gives dicts.
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, overload

import orjson
from pydantic import BaseModel

from ..client.mapper import RestMapper
from ..client.protocol import Client, PatchType
from ..client.typed import kind_of
from ..errors import NotFound
from ..merge_patch import merge_patch, merge_patch_of_fields
from ..meta import JSONObject, ObjectKey, ResourceKind, object_key, resource_version
from ..objects import to_json_object
from ..owners import set_controller_reference
from .delta import DeletedFinalStateUnknown
from .factory import InformerFactory
from .handlers import EventHandlerFuncs
from .informer import SharedInformer
from .recent_writes import RecentWrites

__all__ = ["CachedClient", "KindOrModel"]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

KindOrModel = ResourceKind | type[BaseModel]
"""A kind: a `ResourceKind`, or a model class that declares one (`Deployment`, `Website`)."""


class CachedClient:
    """A client whose reads come from the informer caches and whose writes go to the server.

    Guarantees:

    - Reads of a kind and namespace that a synced informer (without selectors) caches are
      answered from its cache; other reads go to the API server. Read results are copies the
      caller may change.
    - After a write through this client (or another view of it from `for_writer`), reads in
      this process see that write or a later state, never an earlier one (see
      `RecentWrites`), so a finalizer written and then a status written from the returned
      object do not conflict, and a child created is found by the next reconcile.
    - `get` returns None for an object that does not exist; writes raise the server's errors
      (`Conflict`, `NotFound`, `Invalid` ...).

    Not guaranteed: that a cached read is the newest state on the server (someone else's write
    may not have arrived yet; a write computed from it then conflicts, and is retried).
    """

    def __init__(
        self,
        client: Client,
        informers: InformerFactory,
        *,
        mapper: RestMapper | None = None,
        writes: RecentWrites | None = None,
        field_manager: str = "controllerkit",
        writer: str = "",
    ) -> None:
        """`field_manager` names this client's writes in managedFields (and is the manager
        of server-side applies); `writer` names the controller whose writes these are."""
        self.api = client
        """The uncached client, for what the caches cannot answer (selectors, other scopes)."""
        self.informers = informers
        self.mapper = mapper or RestMapper(client)
        self.writes = writes or RecentWrites()
        self.field_manager = field_manager
        self.writer = writer
        self._observed: set[int] = set()

    def for_writer(self, writer: str, *, field_manager: str | None = None) -> CachedClient:
        """A view sharing caches and recent writes whose writes are attributed to `writer`."""
        view = copy.copy(self)
        view.writer = writer
        if field_manager is not None:
            view.field_manager = field_manager
        return view

    # -- reads -----------------------------------------------------------------------------

    @overload
    async def get(self, kind: type[M], name: str, *, namespace: str | None = None
                  ) -> M | None: ...

    @overload
    async def get(self, kind: ResourceKind, name: str, *, namespace: str | None = None
                  ) -> JSONObject | None: ...

    async def get(self, kind: KindOrModel, name: str, *, namespace: str | None = None
                  ) -> Any:
        """The object, from the cache when one covers it; None when it does not exist.

        ValueError for a namespaced kind without a namespace (the answer would be None for
        an object that may exist)."""
        resource = _kind(kind)
        if resource.namespaced and not namespace:
            raise ValueError(f"{resource.kind} is namespaced: give the namespace of {name!r}")
        key = ((namespace or "") if resource.namespaced else "", name)
        informer = self._informer(resource, key[0] or None)
        if informer is None:
            try:
                found: JSONObject | None = await self.api.get(resource, name,
                                                              namespace=namespace)
            except NotFound:
                found = None
        else:
            found = self.read(informer, key)
        return _as(kind, found)

    def read(self, informer: SharedInformer, key: ObjectKey) -> JSONObject | None:
        """A copy of `key` as `informer`'s cache holds it, or as this process last wrote it
        when the cache has not caught up yet."""
        found = self._peek(informer, key)
        return _copy(found) if found is not None else None

    def _peek(self, informer: SharedInformer, key: ObjectKey) -> JSONObject | None:
        """Like `read`, without the copy: the caller must not change what it gets."""
        self._observe(informer)
        cached = informer.store.get(key)
        overlaid, written = self.writes.overlay(informer.kind, key, cached)
        return written if overlaid else cached

    @overload
    async def list(self, kind: type[M], *, namespace: str | None = None,
                   labels: Mapping[str, str] | None = None) -> list[M]: ...

    @overload
    async def list(self, kind: ResourceKind, *, namespace: str | None = None,
                   labels: Mapping[str, str] | None = None) -> list[JSONObject]: ...

    async def list(self, kind: KindOrModel, *, namespace: str | None = None,
                   labels: Mapping[str, str] | None = None) -> Any:
        """Every object of `kind` (in `namespace`, or all) whose labels include `labels`.

        For other label or field selectors use `api.list_all`.
        """
        resource = _kind(kind)
        wanted = dict(labels or {})
        informer = self._informer(resource, namespace)
        if informer is None:
            selector = ",".join(f"{key}={value}" for key, value in sorted(wanted.items()))
            found: builtins.list[JSONObject] = []
            async for page in self.api.list_all(resource, namespace=namespace,
                                                label_selector=selector):
                found.extend(page.items)
        else:
            found = self._cached_list(informer, namespace, wanted)
        return [_as(kind, obj) for obj in found]

    def _cached_list(self, informer: SharedInformer, namespace: str | None,
                     labels: dict[str, str]) -> builtins.list[JSONObject]:
        self._observe(informer)
        by_key = {object_key(obj): obj for obj in informer.store.list()}
        for key in self.writes.overlaid_keys(informer.kind):
            overlaid, current = self.writes.overlay(informer.kind, key, by_key.get(key))
            if not overlaid:
                continue
            if current is None:
                by_key.pop(key, None)
            else:
                by_key[key] = current
        return [_copy(obj) for key, obj in sorted(by_key.items())
                if (namespace is None or key[0] == namespace) and _has_labels(obj, labels)]

    # -- writes ----------------------------------------------------------------------------

    async def create(self, obj: T, *, owner: object | None = None) -> T:
        """Create `obj` (its `metadata.namespace` says where); the object as stored.

        `owner` (an object of this controller) becomes the controller owner of the new object.
        """
        body, resource = await self._body(obj, owner)
        return _same(obj, await self._write(resource, object_key(body), lambda: self.api.create(
            resource, body, field_manager=self.field_manager)))

    async def update(self, obj: T) -> T:
        """Replace the object (PUT), preconditioned on its `metadata.resourceVersion`."""
        body, resource = await self._body(obj, None)
        return _same(obj, await self._write(resource, object_key(body), lambda: self.api.update(
            resource, body, field_manager=self.field_manager)))

    async def apply(self, obj: T, *, owner: object | None = None, force: bool = True) -> T:
        """Server-side apply of the fields `obj` sets, as this client's field manager.

        `owner` becomes the controller owner. Nothing is sent when the cached object already
        has every value `obj` sets (and the owner reference). `force` takes over fields other
        managers own (a controller's desired state wins, as controller-runtime advises).
        """
        body, resource = await self._body(obj, owner)
        key = object_key(body)
        informer = self._informer(resource, key[0] or None)
        if informer is not None:
            current = self._peek(informer, key)
            if current is not None and _contains(current, _without_type(body)):
                return _same(obj, _copy(current))
        return _same(obj, await self._write(resource, key, lambda: self.api.patch(
            resource, key[1], body, namespace=key[0] or None, patch_type=PatchType.APPLY,
            field_manager=self.field_manager, force=force)))

    async def patch(self, kind: KindOrModel, name: str, patch: Mapping[str, Any], *,
                    namespace: str | None = None, resource_version: str = "") -> Any:
        """A JSON merge patch, conditional on `resource_version` when given."""
        resource = _kind(kind)
        key = ((namespace or "") if resource.namespaced else "", name)
        return _as(kind, await self._write(resource, key, lambda: self.api.patch(
            resource, name, patch, namespace=namespace, patch_type=PatchType.MERGE,
            field_manager=self.field_manager, resource_version=resource_version)))

    async def write_status(self, obj: T) -> T:
        """Write `obj`'s status through the status subresource, if it differs from the cached
        one; preconditioned on `obj`'s resourceVersion (a stale object gets `Conflict`).

        Only the status fields that differ are sent (a JSON merge patch), so the spec can never
        be written this way. A dict's status is the whole status (a field it lacks is
        removed); a model's status writes the fields its class declares (None removes one)
        and keeps fields it does not declare, such as another writer's. Returns the object
        as stored (or `obj` when nothing differed).
        """
        body = to_json_object(obj)  # only read here: no copy
        resource = await self._resource(obj, body)
        key = object_key(body)
        sent = resource_version(body)
        if not key[1] or not sent:
            raise ValueError(f"a status write needs the {resource.kind} as read (with "
                             f"metadata.name and metadata.resourceVersion)")
        informer = self._informer(resource, key[0] or None)
        current = self._peek(informer, key) if informer is not None else None
        before = (current or {}).get("status") or {}
        status = getattr(obj, "status", None) if isinstance(obj, BaseModel) else None
        if isinstance(status, BaseModel):
            declared = status.model_dump(mode="json", by_alias=True, exclude_none=False)
            difference = merge_patch_of_fields(before, declared)
        else:
            difference = merge_patch(before, body.get("status") or {})
        if current is not None and not difference:
            return obj
        return _same(obj, await self._write(resource, key, lambda: self.api.patch_status(
            resource, key[1], {"status": difference or body.get("status") or {}},
            namespace=key[0] or None, resource_version=sent,
            field_manager=self.field_manager)))

    async def delete(self, obj: object, *, propagation_policy: str = "") -> None:
        """Delete the object (preconditioned on its uid when it has one); gone already is
        fine. Reads here see it deleting or gone from now on."""
        body, resource = await self._body(obj, None)
        namespace, name = key = object_key(body)
        uid = str((body.get("metadata") or {}).get("uid") or "")

        async def send() -> JSONObject | None:
            try:
                answer = await self.api.delete(resource, name, namespace=namespace or None,
                                               propagation_policy=propagation_policy,
                                               precondition_uid=uid)
            except NotFound:
                return None
            return answer if answer.get("kind") == resource.kind else None

        await self._write(resource, key, send)

    # -- machinery -------------------------------------------------------------------------

    async def resolve(self, obj: JSONObject) -> ResourceKind:
        """The kind of a JSON object, from its apiVersion and kind through discovery."""
        api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
        if not api_version or not kind:
            raise ValueError("an object needs apiVersion and kind to be written (or pass a "
                             "model that declares its kind)")
        return await self.mapper.resolve(api_version, kind)

    async def _resource(self, obj: object, body: JSONObject) -> ResourceKind:
        """The kind of `obj`: the one its class declares, else from `body` through discovery."""
        declared = getattr(type(obj), "__kind__", None)
        return declared if isinstance(declared, ResourceKind) else await self.resolve(body)

    async def _body(self, obj: object, owner: object | None) -> tuple[JSONObject, ResourceKind]:
        body = _copy(to_json_object(obj))
        resource = await self._resource(obj, body)
        body.setdefault("apiVersion", resource.api_version)
        body.setdefault("kind", resource.kind)
        if owner is not None:
            set_controller_reference(to_json_object(owner), body)
        return body, resource

    async def _write(self, kind: ResourceKind, key: ObjectKey,
                     send: Callable[[], Awaitable[JSONObject | None]]) -> JSONObject | None:
        informer = self._informer(kind, key[0] or None)
        if informer is None:
            return await send()
        self._observe(informer)
        base = self.writes.base(kind, key, informer.store.get(key))
        written = await send()
        self.writes.wrote(kind, key, base, cached_now=informer.store.get(key),
                          written=written, writer=self.writer)
        return written

    def _informer(self, kind: ResourceKind, namespace: str | None) -> SharedInformer | None:
        """A synced informer without selectors whose cache covers `namespace` of `kind`."""
        for informer in self.informers.informers():
            if (informer.kind == kind and not informer.label_selector
                    and not informer.field_selector and informer.has_synced
                    and (informer.namespace is None or informer.namespace == namespace)):
                return informer
        return None

    def _observe(self, informer: SharedInformer) -> None:
        """Let the recent writes see every change of `informer`'s cache, once."""
        if id(informer) in self._observed:
            return
        self._observed.add(id(informer))
        kind, writes = informer.kind, self.writes

        def deleted(obj: JSONObject | DeletedFinalStateUnknown) -> None:
            writes.observe(kind, obj, deleted=True)

        informer.add_handler(EventHandlerFuncs(
            add=lambda obj: writes.observe(kind, obj),
            update=lambda old, new: writes.observe(kind, new),
            delete=deleted))


def _copy(obj: JSONObject) -> JSONObject:
    """A deep copy of a JSON object (a round trip through orjson: several times faster than
    `copy.deepcopy` for JSON data)."""
    copied: JSONObject = orjson.loads(orjson.dumps(obj))
    return copied


def _kind(kind: KindOrModel) -> ResourceKind:
    return kind if isinstance(kind, ResourceKind) else kind_of(kind)


def _as(kind: KindOrModel, obj: JSONObject | None) -> Any:
    if obj is None or isinstance(kind, ResourceKind):
        return obj
    return kind.model_validate(obj)


def _same(like: T, obj: JSONObject | None) -> T:
    """`obj` in the form of `like`: a model of its class, or a dict."""
    if obj is None:
        return like
    if isinstance(like, BaseModel):
        result: Any = type(like).model_validate(obj)
        return result  # type: ignore[no-any-return]
    return obj  # type: ignore[return-value]


def _has_labels(obj: JSONObject, labels: dict[str, str]) -> bool:
    if not labels:
        return True
    have = (obj.get("metadata") or {}).get("labels") or {}
    return all(have.get(key) == value for key, value in labels.items())


def _without_type(body: JSONObject) -> JSONObject:
    return {key: value for key, value in body.items() if key not in ("apiVersion", "kind")}


def _contains(current: Any, wanted: Any) -> bool:
    """Whether `current` has every value `wanted` sets (maps compared key by key)."""
    if isinstance(wanted, Mapping) and isinstance(current, Mapping):
        return all(key in current and _contains(current[key], value)
                   for key, value in wanted.items())
    if isinstance(wanted, list) and isinstance(current, list):
        return len(wanted) == len(current) and all(
            _contains(have, want) for have, want in zip(current, wanted, strict=True))
    return bool(current == wanted)

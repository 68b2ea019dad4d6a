"""Event handlers that turn informer events into reconcile requests.

A handler maps a changed object to the requests it concerns and hands them to a controller.
Three mappers cover what controllers watch:

- `request_for_object`: the object itself (`for_(kind)`);
- `request_for_owner(owner_kind)`: the object's controller owner (`owns(kind)`);
- any function of your own from an object to requests (`watches(kind, map_fn)`).

`EnqueueHandler` applies predicates, maps old and new state on updates (so a change of owner
or of a mapped field reaches both), and picks the priority: objects delivered while the
informer is still listing (or replayed to a handler added late) are unchanged state and go in
at `LOW_PRIORITY`; live changes at `NORMAL_PRIORITY`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from ..cache import DeletedFinalStateUnknown, SharedInformer
from ..meta import JSONObject, ResourceKind
from ..owners import controller_reference
from ..reconcile import Request
from ..workqueue import LOW_PRIORITY, NORMAL_PRIORITY
from .predicates import Predicate, and_

__all__ = [
    "EnqueueHandler",
    "OwnWrites",
    "RequestMapper",
    "RequestSink",
    "request_for_object",
    "request_for_owner",
]

logger = logging.getLogger(__name__)

RequestMapper = Callable[[JSONObject], Iterable[Request]]
"""Maps an object to the requests to reconcile; must be quick, pure and must not block."""


class RequestSink(Protocol):
    """Where requests go; `Controller.enqueue` is one.

    `object_changed` says the request's own object changed (not a related one), which gives a
    quarantined key a fresh start.
    """

    def enqueue(
        self, request: Request, *, priority: int = NORMAL_PRIORITY, object_changed: bool = False
    ) -> None: ...


class OwnWrites(Protocol):
    """Tells which changes were only a controller's own write (`RecentWrites` does)."""

    def is_own_write(self, writer: str, kind: ResourceKind, old: JSONObject | None,
                     new: JSONObject) -> bool: ...


def request_for_object(obj: JSONObject) -> Iterable[Request]:
    """The object's own key."""
    return (Request.for_object(obj),)


def request_for_owner(owner_kind: ResourceKind) -> RequestMapper:
    """A mapper to the object's controller owner (`controller: true`) when it is of `owner_kind`.

    Owners are matched by API group and kind (any version). A namespaced owner is in the
    child's namespace; a cluster-scoped owner has namespace "". Objects without such an owner
    map to nothing.
    """
    def owner(obj: JSONObject) -> Iterable[Request]:
        ref = controller_reference(obj)
        if ref is None or ref.get("kind") != owner_kind.kind:
            return ()
        group = str(ref.get("apiVersion", "")).rpartition("/")[0]
        if group != owner_kind.group:
            return ()
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        return (Request(namespace if owner_kind.namespaced else "", str(ref.get("name", ""))),)
    return owner


class EnqueueHandler:
    """An informer `EventHandler` that enqueues the requests `mapper` gives for each event.

    `own_object` marks the handler of the controller's primary kind: its real changes (adds,
    deletes, updates that change the resourceVersion) count as changes of the requested
    object. A resync (`on_update(obj, obj)`) enqueues at `LOW_PRIORITY` and never counts as
    a change. A mapper or predicate that raises is logged and the event dropped.

    With `own_writes`, an add or update that is exactly a write the controller named `writer`
    made itself enqueues nothing: the reconcile that wrote it knew the result. (Anything else
    in between, someone else's change included, makes it an ordinary event.)
    """

    def __init__(
        self,
        informer: SharedInformer,
        sink: RequestSink,
        mapper: RequestMapper = request_for_object,
        *,
        predicates: Iterable[Predicate] = (),
        own_object: bool = False,
        own_writes: OwnWrites | None = None,
        writer: str = "",
    ) -> None:
        self.informer = informer
        self.sink = sink
        self.mapper = mapper
        self.predicate = and_(*predicates)
        self.own_object = own_object
        self.own_writes = own_writes
        self.writer = writer
        self.replaying = False

    def __repr__(self) -> str:
        return f"EnqueueHandler({self.informer!r}, {getattr(self.mapper, '__name__', self.mapper)})"

    def _priority(self) -> int:
        # The informer emits its initial list before it reports synced.
        if self.replaying or not self.informer.has_synced:
            return LOW_PRIORITY
        return NORMAL_PRIORITY

    def _enqueue(self, objects: Iterable[JSONObject], priority: int, changed: bool) -> None:
        requests: set[Request] = set()
        for obj in objects:
            requests.update(self.mapper(obj))
        for request in requests:
            self.sink.enqueue(request, priority=priority,
                              object_changed=changed and self.own_object)

    def _own_write(self, old: JSONObject | None, new: JSONObject) -> bool:
        return self.own_writes is not None and self.own_writes.is_own_write(
            self.writer, self.informer.kind, old, new)

    def on_add(self, obj: JSONObject) -> None:
        if self._own_write(None, obj):
            return
        if self.predicate.add(obj):
            self._enqueue((obj,), self._priority(), changed=True)

    def on_update(self, old: JSONObject, new: JSONObject) -> None:
        if old is new:  # a resync: nothing changed
            self._enqueue((new,), LOW_PRIORITY, changed=False)
            return
        if self._own_write(old, new) or not self.predicate.update(old, new):
            return
        changed = (old.get("metadata") or {}).get("resourceVersion") != (
            new.get("metadata") or {}).get("resourceVersion")
        self._enqueue((old, new), self._priority(), changed=changed)

    def on_delete(self, obj: JSONObject | DeletedFinalStateUnknown) -> None:
        if not self.predicate.delete(obj):
            return
        last = obj.object if isinstance(obj, DeletedFinalStateUnknown) else obj
        self._enqueue((last,), NORMAL_PRIORITY, changed=True)

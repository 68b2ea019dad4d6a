"""The object store: current state, one global resourceVersion, per-resource event history.

Every accepted write goes through `commit`, which assigns the next resourceVersion, persists the
change (when a data directory is configured) before it becomes visible, records exactly one watch
event and offers it to the live watchers. Everything runs on the server's event loop, so a commit
is atomic with respect to readers and watch registration without locks.

Stored objects are never mutated after commit; readers may hold references to them freely.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .errors import StatusError
from .resources import GroupResource, JSONObject

if TYPE_CHECKING:
    from .persistence import Persistence

ObjectKey = tuple[str, str]  # (namespace, name); namespace is "" for cluster-scoped objects


@dataclass(eq=False)
class StoredEvent:
    """One change: ADDED, MODIFIED or DELETED, with the state before it for selector moves."""

    type: str
    gr: GroupResource
    object: JSONObject
    previous: JSONObject | None
    resource_version: int
    # Encoded watch lines by apiVersion, shared by every watcher that sends the same bytes.
    encoded: dict[tuple[str, str], bytes] = field(default_factory=dict)


class EventSink(Protocol):
    """A live watch registration; `offer` is called synchronously for each committed event."""

    gr: GroupResource

    def offer(self, event: StoredEvent) -> None: ...

    def close(self) -> None: ...


class ObjectStore:
    """In-memory objects keyed by group-resource, namespace and name."""

    def __init__(self, *, history_size: int, persistence: Persistence | None = None) -> None:
        self._objects: dict[GroupResource, dict[ObjectKey, JSONObject]] = {}
        self._history: dict[GroupResource, deque[StoredEvent]] = {}
        # Per group-resource: events at or below this resourceVersion are gone from history.
        self._compacted: dict[GroupResource, int] = {}
        self._history_size = history_size
        self._sinks: dict[GroupResource, set[EventSink]] = {}
        self._by_uid: dict[str, tuple[GroupResource, str, str]] = {}
        self._dependents: dict[str, set[tuple[GroupResource, str, str]]] = {}
        self._namespace_sizes: dict[str, int] = {}
        self._persistence = persistence
        self.resource_version = 0
        # The resourceVersion the store started at; history before it is unknown.
        self._start_rv = 0
        if persistence is not None:
            rv, objects = persistence.load()
            for gr, obj in objects:
                self._put(gr, obj)
            self.resource_version = rv
            self._start_rv = rv

    # -- reads -------------------------------------------------------------------------------

    def get(self, gr: GroupResource, namespace: str, name: str) -> JSONObject | None:
        bucket = self._objects.get(gr)
        return None if bucket is None else bucket.get((namespace, name))

    def objects(self, gr: GroupResource, namespace: str | None = None) -> list[JSONObject]:
        """Objects of a group-resource in key order (namespace, then name), like etcd."""
        bucket = self._objects.get(gr)
        if not bucket:
            return []
        if namespace is None:
            return [bucket[k] for k in sorted(bucket)]
        return [bucket[k] for k in sorted(bucket) if k[0] == namespace]

    def count(self, gr: GroupResource) -> int:
        return len(self._objects.get(gr, ()))

    def group_resources(self) -> list[GroupResource]:
        return sorted(gr for gr, bucket in self._objects.items() if bucket)

    def in_namespace(self, namespace: str) -> Iterator[tuple[GroupResource, JSONObject]]:
        for gr, bucket in self._objects.items():
            for (ns, _name), obj in bucket.items():
                if ns == namespace:
                    yield gr, obj

    def namespace_is_empty(self, namespace: str) -> bool:
        return self._namespace_sizes.get(namespace, 0) == 0

    def by_uid(self, uid: str) -> tuple[GroupResource, JSONObject] | None:
        where = self._by_uid.get(uid)
        if where is None:
            return None
        obj = self.get(*where)
        return None if obj is None else (where[0], obj)

    def dependents(self, owner_uid: str) -> list[tuple[GroupResource, JSONObject]]:
        out = []
        for gr, ns, name in sorted(self._dependents.get(owner_uid, ()), key=_sort_key):
            obj = self.get(gr, ns, name)
            if obj is not None:
                out.append((gr, obj))
        return out

    # -- writes ------------------------------------------------------------------------------

    def commit(self, event_type: str, gr: GroupResource, obj: JSONObject) -> JSONObject:
        """Store `obj` (ADDED/MODIFIED) or remove it (DELETED) as the next resourceVersion.

        `obj` must be a fresh dict owned by the caller; its metadata.resourceVersion is set here.
        Returns the stored object. Nothing is visible, and the counter does not move, unless the
        change was persisted.
        """
        meta = obj["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        previous = self.get(gr, namespace, name)
        rv = self.resource_version + 1
        obj["metadata"] = {**meta, "resourceVersion": str(rv)}
        if self._persistence is not None:
            try:
                if event_type == "DELETED":
                    self._persistence.commit(rv, (), ((gr, namespace, name),))
                else:
                    self._persistence.commit(rv, ((gr, obj),), ())
            except Exception as exc:  # the write is not acknowledged, so nothing changes
                raise StatusError(500, "InternalError", f"storage write failed: {exc}") from exc
        self.resource_version = rv
        if event_type == "DELETED":
            self._remove(gr, namespace, name)
        else:
            if previous is not None:
                self._unindex(gr, previous)
            self._put(gr, obj)
        self._record(StoredEvent(event_type, gr, obj, previous, rv))
        return obj

    def _put(self, gr: GroupResource, obj: JSONObject) -> None:
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        bucket = self._objects.setdefault(gr, {})
        if key[0] and key not in bucket:
            self._namespace_sizes[key[0]] = self._namespace_sizes.get(key[0], 0) + 1
        bucket[key] = obj
        where = (gr, key[0], key[1])
        uid = meta.get("uid")
        if uid:
            self._by_uid[uid] = where
        for ref in meta.get("ownerReferences") or ():
            owner_uid = ref.get("uid") if isinstance(ref, dict) else None
            if owner_uid:
                self._dependents.setdefault(owner_uid, set()).add(where)

    def _remove(self, gr: GroupResource, namespace: str, name: str) -> None:
        obj = self._objects.get(gr, {}).pop((namespace, name), None)
        if obj is not None:
            self._unindex(gr, obj)
            if namespace:
                self._namespace_sizes[namespace] -= 1

    def _unindex(self, gr: GroupResource, obj: JSONObject) -> None:
        meta = obj["metadata"]
        where = (gr, meta.get("namespace", ""), meta["name"])
        uid = meta.get("uid")
        if uid and self._by_uid.get(uid) == where:
            del self._by_uid[uid]
        for ref in meta.get("ownerReferences") or ():
            owner_uid = ref.get("uid") if isinstance(ref, dict) else None
            deps = self._dependents.get(owner_uid or "")
            if deps is not None:
                deps.discard(where)
                if not deps:
                    del self._dependents[owner_uid or ""]

    def drop_group_resource(self, gr: GroupResource) -> None:
        """Forget history and watchers of a resource that is no longer served.

        Open watches end (they first send what they have queued), as the real server's do when
        a CRD goes; a later watch from an older resourceVersion gets 410 and relists.
        """
        self._history.pop(gr, None)
        self._compacted[gr] = self.resource_version
        for sink in self._sinks.pop(gr, set()):
            sink.close()

    # -- history and watchers ----------------------------------------------------------------

    def _record(self, event: StoredEvent) -> None:
        history = self._history.get(event.gr)
        if history is None:
            history = self._history[event.gr] = deque()
        if len(history) >= self._history_size:
            dropped = history.popleft()
            self._compacted[event.gr] = dropped.resource_version
        history.append(event)
        for sink in list(self._sinks.get(event.gr, ())):
            sink.offer(event)

    def begin_history(self, gr: GroupResource) -> None:
        """Start the history of a resource served from now on (a new CRD's resource).

        Like the watch cache the real server creates for it, the history holds nothing older:
        a watch from an earlier resourceVersion gets 410 and relists.
        """
        if gr not in self._history:
            self._compacted[gr] = max(self._compacted.get(gr, 0), self.resource_version)

    def oldest_replayable(self, gr: GroupResource) -> int:
        """The lowest resourceVersion a watch of `gr` may start from without a 410."""
        return max(self._compacted.get(gr, 0), self._start_rv)

    def events_after(self, gr: GroupResource, resource_version: int) -> list[StoredEvent]:
        """Events of `gr` newer than `resource_version`, oldest first.

        The caller checks `oldest_replayable` first; this only reads what history holds.
        """
        history = self._history.get(gr)
        if not history:
            return []
        newer: list[StoredEvent] = []
        for event in reversed(history):
            if event.resource_version <= resource_version:
                break
            newer.append(event)
        newer.reverse()
        return newer

    def subscribe(self, sink: EventSink) -> None:
        self._sinks.setdefault(sink.gr, set()).add(sink)

    def unsubscribe(self, sink: EventSink) -> None:
        sinks = self._sinks.get(sink.gr)
        if sinks is not None:
            sinks.discard(sink)

    def close_watchers(self) -> None:
        """End every watch (server shutdown): each stream finishes what it has queued."""
        for sinks in self._sinks.values():
            for sink in sinks:
                sink.close()
        self._sinks.clear()

    def watcher_count(self) -> int:
        return sum(len(s) for s in self._sinks.values())

    def close(self) -> None:
        if self._persistence is not None:
            self._persistence.close()


def _sort_key(where: tuple[GroupResource, str, str]) -> tuple[Any, ...]:
    return (where[0].group, where[0].plural, where[1], where[2])

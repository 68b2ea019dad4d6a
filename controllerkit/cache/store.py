"""The informer cache: objects by (namespace, name), secondary indexes, and the
resourceVersion the cache reflects.

```python
store = Store(transform=compose(drop_managed_fields, share_strings))
store.add_index("owner", lambda obj: [ref["uid"] for ref in obj["metadata"].get(
    "ownerReferences", ())])
children = store.by_index("owner", parent["metadata"]["uid"])
await store.wait_for_resource_version(written["metadata"]["resourceVersion"], timeout=5)
```

Objects are the decoded JSON dicts as the API server sent them (after the optional
`transform`). A store keeps them in one of two ways:

- by default, the dicts themselves. Reads are free and return the cached dicts, shared with
  every other reader: treat them as immutable. A caller that wants to change one builds a new
  dict (or a typed model) from it.
- `Store(compact=True)`: each object's compact JSON bytes. A cached object costs a little
  more than its JSON size instead of three to four times that, and a checkpoint restores
  without decoding.
  Every read (`get`, `list`, `by_index`, the `old` object of an update) decodes, a few
  microseconds per KB, and returns a new dict that no one else holds.

Both ways give the same results for the same events: the same objects (equal, not identical),
keys, index contents, deltas and resourceVersions.

Writes (`apply`, `replace`, `replace_prepared`, `restore`, `set_resource_version`,
`begin_list`, `finish_list`) belong to the reflector that feeds the store; everything else
reads. All methods run on the event loop and never block it for I/O.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import cast

from ..meta import JSONObject, ObjectKey, object_key, resource_version
from .checkpoint_codec import CorruptCheckpoint
from .compact_table import CompactTable, SnapshotDamaged
from .compact_updates import EncodedEntry, replace_encoded
from .delta import Delta, DeltaType
from .encoding import EncodedObjects, encode_object
from .freshness import Freshness, ListStart, StaleCache
from .indexes import CustomIndexes, IndexFunc
from .lazy_snapshot import LazySnapshot
from .table import DictTable, ObjectTable
from .transforms import Transform

__all__ = [
    "NAMESPACE_INDEX", "EncodedEntry", "IndexFunc", "ListStart", "Prepared", "StaleCache", "Store",
]

NAMESPACE_INDEX = "namespace"
"""The built-in index: objects by namespace ("" for cluster-scoped objects)."""

Prepared = JSONObject | EncodedEntry
"""An object in the form a store keeps it (see `Store.prepare`)."""


class Store:
    """Objects by key, with indexes and the resourceVersion they reflect.

    Guarantees: after `apply`/`replace` returns, `get`, `list` and every index agree with each
    other. `resource_version` only changes through the reflector's writes; once it is set it is
    the resourceVersion of the last event, bookmark or list the store has absorbed; which
    writes the store shows is answered without ordering resourceVersions (`has_reached`). A
    compact store (`compact=True`) returns a new dict from every read; changing it changes
    nothing cached. Its transform must return objects JSON can hold (any server object qualifies).
    Not guaranteed: any order of `list()` or `by_index()` results; that two reads of a compact
    store return the same dict.
    """

    def __init__(
        self,
        *,
        transform: Transform | None = None,
        indexes: Mapping[str, IndexFunc] | None = None,
        compact: bool = False,
    ) -> None:
        self._transform = transform
        self._compact = CompactTable() if compact else None
        self._table: ObjectTable = self._compact if self._compact is not None else DictTable()
        self._custom = CustomIndexes(lambda: self._table.items())
        self._freshness = Freshness()
        for name, func in (indexes or {}).items():
            self.add_index(name, func)

    @property
    def transform(self) -> Transform | None:
        """The transform every object goes through before it is cached (None: as received)."""
        return self._transform

    @property
    def compact(self) -> bool:
        """Whether objects are kept as JSON bytes and decoded on every read."""
        return self._compact is not None

    # -- reads -------------------------------------------------------------------------------

    def get(self, key: ObjectKey) -> JSONObject | None:
        """The cached object with key (namespace, name); namespace "" if cluster-scoped."""
        return self._table.get(key)

    def list(self) -> list[JSONObject]:
        """Every cached object (a new list; of the shared dicts, or of new ones if compact)."""
        return self._table.objects()

    def keys(self) -> builtins.list[ObjectKey]:
        """The key of every cached object (a new list)."""
        return self._table.all_keys()

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, key: object) -> bool:
        return key in self._table

    def by_index(self, index: str, value: str) -> builtins.list[JSONObject]:
        """The objects `index`'s function mapped to `value`; KeyError for an unknown index.

        A compact store builds a custom index on its first use after a checkpoint restore
        (or after the index was added to a filled store): that call decodes every object once.
        """
        if index == NAMESPACE_INDEX:
            return self._table.in_namespace(value)
        get = self._table.get
        found = []
        for key in self._custom_index(index).get(value, ()):
            obj = get(key)
            if obj is not None:
                found.append(obj)
        return found

    def index_keys(self, index: str, value: str) -> builtins.list[ObjectKey]:
        """The keys of the objects `index` maps to `value`."""
        if index == NAMESPACE_INDEX:
            return self._table.namespace_keys(value)
        return list(self._custom_index(index).get(value, ()))

    def index_values(self, index: str) -> builtins.list[str]:
        """Every value `index` currently holds at least one object under."""
        if index == NAMESPACE_INDEX:
            return self._table.namespaces()
        return list(self._custom_index(index))

    def _custom_index(self, name: str) -> dict[str, set[ObjectKey]]:
        if name not in self._custom:
            known = sorted([NAMESPACE_INDEX, *self._custom.names()])
            raise KeyError(f"no index named {name!r}; known: {known}")
        return self._custom.lookup(name)

    def add_index(self, name: str, func: IndexFunc) -> None:
        """Index objects by `func(obj)` (e.g. owner uid, a label, a spec field).

        The index covers the objects already cached and every later change (a compact store
        that holds objects builds it on first use instead of decoding them all now). An index
        function that raises is logged and the object is left out of that index (the cache
        itself stays consistent). Adding a name twice is an error.
        """
        if name == NAMESPACE_INDEX or name in self._custom:
            raise ValueError(f"index {name!r} already exists")
        self._custom.add(name, func, pending=self._compact is not None and len(self) > 0)

    # -- resourceVersion -----------------------------------------------------------------------

    @property
    def resource_version(self) -> str:
        """The resourceVersion of the last event, bookmark or list absorbed ("" before any)."""
        return self._freshness.resource_version

    def has_reached(self, resource_version: str) -> bool:
        """Whether the cache shows the state at `resource_version` or a later one.

        resourceVersions are opaque (never compared or ordered). `resource_version` is reached
        when the cache has been at exactly it (an event, bookmark or list it absorbed carried
        it), or when a list of the current state that began after the first `has_reached` or
        `wait_for_resource_version` about it has been applied: the write that returned it
        completed before that first ask, so the list shows it. The last 4096 resourceVersions
        reached or asked about are remembered. An empty one raises ValueError.
        """
        return self._freshness.has_reached(resource_version)

    # The bound is part of the contract (StaleCache reports it), hence a timeout parameter.
    async def wait_for_resource_version(
        self, resource_version: str, timeout: float  # noqa: ASYNC109
    ) -> None:
        """Wait until the cache shows the write that returned `resource_version` (read your
        own writes); `has_reached` says when that is.

        A reconcile that just wrote an object (and got back its resourceVersion) calls this
        before reading the cache, so it sees its own write or a later state. Returns at once if
        the cache is already there. Raises `StaleCache` after `timeout` seconds. A write to an
        object outside the cache's scope is reached only by a bookmark carrying exactly its
        resourceVersion or by the next list of the current state.
        """
        await self._freshness.wait(resource_version, timeout)

    def set_resource_version(self, resource_version: str) -> None:
        """Record that the cache reflects `resource_version` (a bookmark, an empty list)."""
        self._freshness.set(resource_version)

    def begin_list(self) -> ListStart:
        """Record that a list of the current state is about to be requested (the reflector's).

        Only a consistent read counts: a list without a resourceVersion (paginated), or a
        streaming list without one (from its watch request). Call it right before the request
        goes out, and `finish_list` with the result once the list's state is applied: every
        resourceVersion asked about before this call is then reached.
        """
        return self._freshness.begin_list()

    def finish_list(self, start: ListStart) -> None:
        """Record that the list `begin_list` returned `start` for has been applied."""
        self._freshness.finish_list(start)

    # -- writes (the reflector's) --------------------------------------------------------------

    def apply(self, event_type: str, obj: JSONObject) -> Delta | None:
        """Absorb one watch event (ADDED, MODIFIED or DELETED); the change, if any.

        An ADDED for a cached key or a MODIFIED for an unknown one is taken for what it is (an
        update, an add): after a reconnect the server may repeat what the cache already saw.
        An event that repeats the cached resourceVersion changes nothing.
        """
        if self._transform is not None:
            obj = self._transform(obj)
        key = object_key(obj)
        table = self._table
        if self._compact is not None and self._compact.unloaded:
            # Read it from a lazy snapshot now: if that fails, the key is dropped before the
            # event is weighed against it.
            self._compact.raw(key)
        cached_version = table.version(key)
        delta: Delta | None = None
        if event_type == "DELETED":
            if cached_version is not None:
                if self._custom.maintained:
                    self._custom.removed(key, self._cached(key))
                table.remove(key)
                delta = Delta(DeltaType.DELETED, obj)
        elif cached_version is None:
            table.put(key, obj)
            if self._custom.maintained:
                self._custom.added(key, obj)
            delta = Delta(DeltaType.ADDED, obj)
        elif cached_version != resource_version(obj):
            old = self._cached(key)
            table.put(key, obj)
            if self._custom.maintained:
                self._custom.updated(key, old, obj)
            delta = Delta(DeltaType.UPDATED, obj, old)
        self.set_resource_version(resource_version(obj))
        return delta

    def replace(
        self, objects: Iterable[JSONObject], at_resource_version: str, *, transformed: bool = False
    ) -> builtins.list[Delta]:
        """Make the cache exactly `objects` at `at_resource_version`; the difference as deltas.

        New keys are ADDED, changed resourceVersions UPDATED, and keys that are gone DELETED
        with `final_state_unknown` (their last state was never seen). A key whose uid changed
        (deleted and recreated meanwhile) is a DELETED of the old object then an ADDED.
        Unchanged objects keep their cached form. `transformed` says the caller already passed
        every object through `transform`.
        """
        if self._compact is not None:
            entries: builtins.list[Prepared] = [self._encode(obj, transformed) for obj in objects]
            return builtins.list(self.replace_prepared(entries, at_resource_version))
        incoming: dict[ObjectKey, JSONObject] = {}
        transform = None if transformed else self._transform
        for obj in objects:
            if transform is not None:
                obj = transform(obj)
            incoming[object_key(obj)] = obj
        deltas: builtins.list[Delta] = []
        table, custom = self._table, self._custom
        for key in [key for key in table.all_keys() if key not in incoming]:
            old = self._cached(key)
            if custom.maintained:
                custom.removed(key, old)
            table.remove(key)
            deltas.append(Delta(DeltaType.DELETED, old, None, True))
        for key, new in incoming.items():
            cached = table.get(key)
            if cached is None:
                table.put(key, new)
                if custom.maintained:
                    custom.added(key, new)
                deltas.append(Delta(DeltaType.ADDED, new))
            elif _uid(cached) != _uid(new):
                self._swap(key, cached, new)
                deltas.append(Delta(DeltaType.DELETED, cached, None, True))
                deltas.append(Delta(DeltaType.ADDED, new))
            elif resource_version(cached) != resource_version(new):
                self._swap(key, cached, new)
                deltas.append(Delta(DeltaType.UPDATED, new, cached))
        self.set_resource_version(at_resource_version)
        return deltas

    def prepare(self, obj: JSONObject, *, transformed: bool = False) -> Prepared:
        """`obj` in the form this store keeps it, for a later `replace_prepared`.

        The transform is applied (unless `transformed`); a compact store also encodes the
        object and computes its index values. A lister prepares each page as it arrives, so a
        large list never holds more than one page of decoded objects beyond what the store
        keeps.
        """
        if not transformed and self._transform is not None:
            obj = self._transform(obj)
        if self._compact is None:
            return obj
        return self._encode(obj, True)

    def replace_prepared(
        self, items: builtins.list[Prepared], at_resource_version: str
    ) -> Iterable[Delta]:
        """`replace` for objects made by this store's `prepare`; the deltas, in order.

        A compact store decodes each delta's objects only as the deltas are iterated, so a
        caller with nobody to deliver them to never decodes anything.
        """
        if self._compact is None:
            return self.replace(cast(builtins.list[JSONObject], items), at_resource_version,
                                transformed=True)
        self._compact.load_all()
        deltas = replace_encoded(self._compact, self._custom,
                                 cast(builtins.list[EncodedEntry], items))
        self.set_resource_version(at_resource_version)
        return deltas

    def restore(
        self, objects: EncodedObjects | builtins.list[JSONObject], at_resource_version: str
    ) -> None:
        """Make the cache exactly `objects` (a checkpoint's) at `at_resource_version`.

        No deltas: a restored snapshot is the state a previous process already delivered.
        Decoded objects go through the transform. Encoded ones are adopted as they are by a
        compact store (no decoding and no transform: the caller has checked that they went
        through this store's transform), which then builds its custom indexes on first use;
        a dict store decodes and transforms them.
        """
        if self._compact is None:
            if isinstance(objects, EncodedObjects):
                objects = objects.decoded()
            self.replace(objects, at_resource_version)
        elif isinstance(objects, EncodedObjects):
            self._compact.restore(objects)
            self._custom.mark_pending()
            self.set_resource_version(at_resource_version)
        else:
            # The deltas are never iterated, so nothing is decoded again.
            self.replace_prepared([self._encode(obj, False) for obj in objects],
                                  at_resource_version)

    def restore_lazy(self, snapshot: LazySnapshot, at_resource_version: str,
                     on_damage: SnapshotDamaged) -> None:
        """A compact store's `restore` of a snapshot still in its file (see `CompactTable`).

        Reads return only objects checked against the snapshot's checksums; `load_step` reads
        the rest. If the file turns out damaged, the objects not read yet are dropped, the
        custom indexes rebuilt on their next query, and `on_damage` told: the store is then
        incomplete until the caller's relist makes it whole again.
        """
        if self._compact is None:
            raise TypeError("only a compact store restores a snapshot lazily")

        def damaged(error: CorruptCheckpoint, dropped: int) -> None:
            self._custom.mark_pending()
            on_damage(error, dropped)

        self._compact.restore_lazy(snapshot, damaged)
        self._custom.mark_pending()
        self.set_resource_version(at_resource_version)

    @property
    def unloaded(self) -> int:
        """Objects of a lazily restored snapshot not read from its file yet."""
        return 0 if self._compact is None else self._compact.unloaded

    def load_step(self) -> bool:
        """Read the next span of a lazily restored snapshot; whether more remain."""
        return self._compact is not None and self._compact.load_step()

    def load_all(self) -> None:
        """Read whatever a lazily restored snapshot still has in its file, now (blocking)."""
        if self._compact is not None:
            self._compact.load_all()

    def encoded(self) -> EncodedObjects:
        """Every cached object, encoded: cheap for a compact store (no encoding, shared bytes),
        one `encode_object` per object for a dict store."""
        if self._compact is not None:
            return self._compact.snapshot()
        return EncodedObjects.of(self._table.objects())

    # -- helpers -------------------------------------------------------------------------------

    def _swap(self, key: ObjectKey, old: JSONObject, new: JSONObject) -> None:
        self._table.put(key, new)
        if self._custom.maintained:
            self._custom.updated(key, old, new)

    def _cached(self, key: ObjectKey) -> JSONObject:
        obj = self._table.get(key)
        assert obj is not None, f"{key} is cached"
        return obj

    def _encode(self, obj: JSONObject, transformed: bool) -> EncodedEntry:
        if not transformed and self._transform is not None:
            obj = self._transform(obj)
        values = self._custom.values(obj) if self._custom.maintained else None
        namespace, name = object_key(obj)
        return EncodedEntry(namespace, name, resource_version(obj), encode_object(obj), values)


def _uid(obj: JSONObject) -> str:
    return str(obj["metadata"].get("uid") or "")

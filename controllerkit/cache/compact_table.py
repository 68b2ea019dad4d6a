"""`CompactTable`: a store's objects as JSON bytes, decoded on every read.

A decoded 1 KB object is a tree of dicts, lists and strings of three to four times its JSON
size, all tracked by the garbage collector. Its JSON bytes cost their size plus a small header,
and the collector never looks at them. Reads pay for that: every `get` decodes (a few
microseconds per KB) and returns a new dict that nothing else shares.

Objects are kept by namespace and then by name (strings, whose hashes Python caches), so no
key tuple is stored per object and the namespace index is the table's own layout. The
resourceVersion of each object is kept next to it: deciding whether an event or a relisted
object changes anything never needs a decode.

After a lazy restore (`restore_lazy`) the objects' bytes are still in the checkpoint file: the
table holds each key with the object's position in the snapshot instead of its bytes. A read of
such an object reads (and checks) its bytes from the file first; `load_step` reads the rest a
span at a time. Writes replace positions like any bytes, so the background load never
overwrites a newer object with the snapshot's. When the snapshot turns out damaged, every
object not read yet is dropped (`on_damage` says how many) and the file is closed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeAlias, cast

from ..meta import JSONObject, ObjectKey, resource_version
from .checkpoint_codec import READ_CHUNK_BYTES, CorruptCheckpoint
from .encoding import EncodedObjects, EncodedRun, decode_object, encode_object
from .gc_pause import paused_gc
from .lazy_snapshot import LazySnapshot

SnapshotDamaged: TypeAlias = Callable[[CorruptCheckpoint, int], None]
"""Told that a lazily restored snapshot is damaged, and how many objects were dropped."""

# How much one background load step reads: a fraction of a millisecond on the event loop.
LOAD_STEP_BYTES = 256 * 1024


class CompactTable:
    """Objects as `encode_object` bytes by (namespace, name), with their resourceVersions.

    Guarantees: `get`, `objects`, `in_namespace` and `items` return new dicts on every call;
    changing them changes nothing cached. `snapshot()` and `restore()` move the bytes as they
    are, without decoding. After `restore_lazy`, every object returned has been checked
    against its snapshot checksum.
    """

    def __init__(self) -> None:
        # An int instead of bytes: the object's position in the lazy snapshot, not read yet.
        self._data: dict[str, dict[str, bytes | int]] = {}
        self._versions: dict[str, dict[str, str]] = {}
        self._count = 0
        self._lazy: _LazyState | None = None

    # -- reads -------------------------------------------------------------------------------

    def raw(self, key: ObjectKey) -> bytes | None:
        """The stored bytes of the object with `key`, or None (also: dropped as damaged)."""
        names = self._data.get(key[0])
        if names is None:
            return None
        data = names.get(key[1])
        if type(data) is int:
            return self._fault(key, data)
        return data  # type: ignore[return-value]

    def get(self, key: ObjectKey) -> JSONObject | None:
        data = self.raw(key)
        return None if data is None else decode_object(data)

    def version(self, key: ObjectKey) -> str | None:
        versions = self._versions.get(key[0])
        return None if versions is None else versions.get(key[1])

    def all_keys(self) -> list[ObjectKey]:
        return [(namespace, name) for namespace, names in self._data.items() for name in names]

    def objects(self) -> list[JSONObject]:
        self.load_all()
        # The decoded objects all survive the call: collections would only walk them again.
        with paused_gc():
            return [decode_object(cast(bytes, data)) for names in self._data.values()
                    for data in names.values()]

    def items(self) -> Iterator[tuple[ObjectKey, JSONObject]]:
        self.load_all()
        for namespace, names in list(self._data.items()):
            for name, data in list(names.items()):
                yield (namespace, name), decode_object(cast(bytes, data))

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2:
            return False
        names = self._data.get(key[0])
        return names is not None and key[1] in names

    def namespace_keys(self, namespace: str) -> list[ObjectKey]:
        return [(namespace, name) for name in self._data.get(namespace, ())]

    def in_namespace(self, namespace: str) -> list[JSONObject]:
        if self._lazy is not None:
            for name in list(self._data.get(namespace, ())):
                self.raw((namespace, name))
        names = self._data.get(namespace)
        if names is None:
            return []
        with paused_gc():
            return [decode_object(cast(bytes, data)) for data in names.values()]

    def namespaces(self) -> list[str]:
        return list(self._data)

    # -- writes ------------------------------------------------------------------------------

    def put(self, key: ObjectKey, obj: JSONObject) -> None:
        self.put_encoded(key[0], key[1], resource_version(obj), encode_object(obj))

    def put_encoded(self, namespace: str, name: str, version: str, data: bytes) -> None:
        """Add or replace the object (namespace, name), given as `encode_object` bytes."""
        names = self._data.get(namespace)
        if names is None:
            names = self._data[namespace] = {}
            self._versions[namespace] = {}
        old = names.get(name)
        if old is None:
            self._count += 1
        elif type(old) is int:
            self._resolved()
        names[name] = data
        self._versions[namespace][name] = version

    def remove(self, key: ObjectKey) -> None:
        namespace, name = key
        names = self._data[namespace]
        if type(names.pop(name)) is int:
            self._resolved()
        versions = self._versions[namespace]
        del versions[name]
        self._count -= 1
        if not names:
            del self._data[namespace]
            del self._versions[namespace]

    # -- snapshots ---------------------------------------------------------------------------

    def snapshot(self) -> EncodedObjects:
        """The current objects, encoded (one run per namespace); cheap, no decoding.

        The lists are new, the bytes shared (bytes never change), so later writes to the
        table do not change the snapshot. Reads what a lazy restore left in the file first.
        """
        self.load_all()
        runs = []
        for namespace, names in self._data.items():
            order = list(names)
            runs.append(EncodedRun(namespace, order,
                                   list(map(self._versions[namespace].__getitem__, order)),
                                   cast(list[bytes], list(names.values()))))
        return EncodedObjects(runs)

    def restore(self, encoded: EncodedObjects) -> None:
        """Hold exactly `encoded`'s objects (a later one wins for a repeated key)."""
        for run in encoded.runs:
            if len(run.data) != len(run.names) or len(run.versions) != len(run.names):
                raise ValueError(f"an encoded run of namespace {run.namespace!r} is misaligned")
        self._fill(encoded.runs, [run.data for run in encoded.runs])

    def restore_lazy(self, snapshot: LazySnapshot, on_damage: SnapshotDamaged) -> None:
        """Hold exactly `snapshot`'s keys, their bytes left in the file until needed.

        The table owns `snapshot` from now on and closes it once every object it still holds
        has been read (or at the next `restore`). `on_damage` is called (on whichever read
        finds it) if the file turns out damaged or cut off.
        """
        positions: list[range] = []
        namespaces: list[str] = []
        names: list[str] = []
        for run in snapshot.runs:
            positions.append(range(len(names), len(names) + len(run.names)))
            namespaces.extend([run.namespace] * len(run.names))
            names.extend(run.names)
        self._fill(snapshot.runs, positions)
        self._lazy = _LazyState(snapshot, namespaces, names, len(self), on_damage)
        if not len(self):
            self._finish()

    def _fill(self, runs: list[EncodedRun],
              values: list[list[bytes]] | list[range]) -> None:
        self._finish()
        data: dict[str, dict[str, bytes | int]] = {}
        versions: dict[str, dict[str, str]] = {}
        for run, run_values in zip(runs, cast(list[list[bytes | int]], values), strict=True):
            names = data.get(run.namespace)
            if names is None:
                names = data[run.namespace] = {}
                versions[run.namespace] = {}
            names.update(zip(run.names, run_values, strict=True))
            versions[run.namespace].update(zip(run.names, run.versions, strict=True))
        # Namespaces whose runs were all empty hold nothing: leave them out of the index.
        self._data = {namespace: names for namespace, names in data.items() if names}
        self._versions = {namespace: versions[namespace] for namespace in self._data}
        self._count = sum(len(names) for names in self._data.values())

    # -- the lazy snapshot -------------------------------------------------------------------

    @property
    def unloaded(self) -> int:
        """How many objects are still only in the snapshot file (0 when there is none)."""
        return 0 if self._lazy is None else self._lazy.unloaded

    def load_step(self, max_bytes: int = LOAD_STEP_BYTES) -> bool:
        """Read the next span (about `max_bytes`) of objects still in the file; whether more
        remain. Objects written or removed since the restore are skipped, never overwritten."""
        lazy = self._lazy
        if lazy is None:
            return False
        snapshot, total, position = lazy.snapshot, len(lazy.names), lazy.cursor
        while position < total and self._position_of(lazy, position) != position:
            position += 1
        if position >= total:
            self._finish()
            return False
        last = snapshot.span_end(position, max_bytes)
        try:
            parts = snapshot.read_span(position, last)
            for offset, data in enumerate(parts):
                current = position + offset
                if self._position_of(lazy, current) == current:
                    snapshot.check(current, data)
                    self._data[lazy.namespaces[current]][lazy.names[current]] = data
                    lazy.unloaded -= 1
        except CorruptCheckpoint as error:
            self._damaged(error)
            return False
        lazy.cursor = last
        if lazy.unloaded == 0:
            self._finish()
            return False
        return True

    def load_all(self) -> None:
        """Read every object still in the file now (blocking, a megabyte at a time)."""
        while self._lazy is not None and self.load_step(READ_CHUNK_BYTES):
            pass

    def _position_of(self, lazy: _LazyState, position: int) -> int | None:
        """The snapshot position the table holds under object `position`'s key, if any."""
        names = self._data.get(lazy.namespaces[position])
        value = None if names is None else names.get(lazy.names[position])
        return value if type(value) is int else None

    def _fault(self, key: ObjectKey, position: int) -> bytes | None:
        lazy = self._lazy
        assert lazy is not None, "positions are only held while a lazy snapshot is open"
        try:
            data = lazy.snapshot.read(position)
        except CorruptCheckpoint as error:
            self._damaged(error)
            return None
        self._data[key[0]][key[1]] = data
        self._resolved()
        return data

    def _resolved(self) -> None:
        """One object of the snapshot no longer needs reading."""
        lazy = self._lazy
        assert lazy is not None, "positions are only held while a lazy snapshot is open"
        lazy.unloaded -= 1
        if lazy.unloaded == 0:
            self._finish()

    def _finish(self) -> None:
        if self._lazy is not None:
            self._lazy.snapshot.close()
            self._lazy = None

    def _damaged(self, error: CorruptCheckpoint) -> None:
        lazy = self._lazy
        assert lazy is not None
        self._finish()
        dropped = 0
        for namespace in list(self._data):
            names, versions = self._data[namespace], self._versions[namespace]
            for name in [name for name, value in names.items() if type(value) is int]:
                del names[name]
                del versions[name]
                dropped += 1
            if not names:
                del self._data[namespace]
                del self._versions[namespace]
        self._count -= dropped
        lazy.on_damage(error, dropped)


class _LazyState:
    """A lazily restored snapshot: its file, each position's key, and the read progress."""

    __slots__ = ("cursor", "names", "namespaces", "on_damage", "snapshot", "unloaded")

    def __init__(self, snapshot: LazySnapshot, namespaces: list[str], names: list[str],
                 unloaded: int, on_damage: SnapshotDamaged) -> None:
        self.snapshot = snapshot
        self.namespaces = namespaces
        self.names = names
        # Positions still held by the table: a repeated key holds only its last one.
        self.unloaded = unloaded
        # Positions before this one have been loaded, replaced or dropped.
        self.cursor = 0
        self.on_damage = on_damage

"""`CompactTable`: a store's objects as JSON bytes, decoded on every read.

A decoded 1 KB object is a tree of dicts, lists and strings of three to four times its JSON
size, all tracked by the garbage collector. Its JSON bytes cost their size plus a small header,
and the collector never looks at them. Reads pay for that: every `get` decodes (a few
microseconds per KB) and returns a new dict that nothing else shares.

Objects are kept by namespace and then by name (strings, whose hashes Python caches), so no
key tuple is stored per object and the namespace index is the table's own layout. The
resourceVersion of each object is kept next to it: deciding whether an event or a relisted
object changes anything never needs a decode.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..meta import JSONObject, ObjectKey, resource_version
from .encoding import EncodedObjects, EncodedRun, decode_object, encode_object
from .gc_pause import paused_gc


class CompactTable:
    """Objects as `encode_object` bytes by (namespace, name), with their resourceVersions.

    Guarantees: `get`, `objects`, `in_namespace` and `items` return new dicts on every call;
    changing them changes nothing cached. `snapshot()` and `restore()` move the bytes as they
    are, without decoding.
    """

    def __init__(self) -> None:
        self._data: dict[str, dict[str, bytes]] = {}
        self._versions: dict[str, dict[str, str]] = {}
        self._count = 0

    # -- reads -------------------------------------------------------------------------------

    def raw(self, key: ObjectKey) -> bytes | None:
        """The stored bytes of the object with `key`, or None."""
        names = self._data.get(key[0])
        return None if names is None else names.get(key[1])

    def get(self, key: ObjectKey) -> JSONObject | None:
        data = self.raw(key)
        return None if data is None else decode_object(data)

    def version(self, key: ObjectKey) -> str | None:
        versions = self._versions.get(key[0])
        return None if versions is None else versions.get(key[1])

    def all_keys(self) -> list[ObjectKey]:
        return [(namespace, name) for namespace, names in self._data.items() for name in names]

    def objects(self) -> list[JSONObject]:
        # The decoded objects all survive the call: collections would only walk them again.
        with paused_gc():
            return [decode_object(data) for names in self._data.values()
                    for data in names.values()]

    def items(self) -> Iterator[tuple[ObjectKey, JSONObject]]:
        for namespace, names in list(self._data.items()):
            for name, data in list(names.items()):
                yield (namespace, name), decode_object(data)

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
        names = self._data.get(namespace)
        if names is None:
            return []
        with paused_gc():
            return [decode_object(data) for data in names.values()]

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
        if name not in names:
            self._count += 1
        names[name] = data
        self._versions[namespace][name] = version

    def remove(self, key: ObjectKey) -> None:
        namespace, name = key
        names = self._data[namespace]
        del names[name]
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
        table do not change the snapshot.
        """
        runs = []
        for namespace, names in self._data.items():
            order = list(names)
            runs.append(EncodedRun(namespace, order,
                                   list(map(self._versions[namespace].__getitem__, order)),
                                   list(names.values())))
        return EncodedObjects(runs)

    def restore(self, encoded: EncodedObjects) -> None:
        """Hold exactly `encoded`'s objects (a later one wins for a repeated key)."""
        data: dict[str, dict[str, bytes]] = {}
        versions: dict[str, dict[str, str]] = {}
        for run in encoded.runs:
            if len(run.data) != len(run.names) or len(run.versions) != len(run.names):
                raise ValueError(f"an encoded run of namespace {run.namespace!r} is misaligned")
            names = data.get(run.namespace)
            if names is None:
                names = data[run.namespace] = {}
                versions[run.namespace] = {}
            names.update(zip(run.names, run.data, strict=True))
            versions[run.namespace].update(zip(run.names, run.versions, strict=True))
        # Namespaces whose runs were all empty hold nothing: leave them out of the index.
        self._data = {namespace: names for namespace, names in data.items() if names}
        self._versions = {namespace: versions[namespace] for namespace in self._data}
        self._count = sum(len(names) for names in self._data.values())

"""Where a `Store` keeps its objects: the `ObjectTable` protocol, and `DictTable`.

A table holds one object per key and knows which keys each namespace has (the built-in
namespace index comes from the key, so the table keeps it). `DictTable` holds the decoded dicts
themselves; `CompactTable` (in `compact_table`) holds their JSON bytes. The store keeps the
custom indexes and the resourceVersion on top of either.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from ..meta import JSONObject, ObjectKey, resource_version


class ObjectTable(Protocol):
    """Objects by (namespace, name), with the keys of each namespace."""

    def get(self, key: ObjectKey) -> JSONObject | None:
        """The object with `key`, or None."""
        ...

    def version(self, key: ObjectKey) -> str | None:
        """The resourceVersion of the object with `key`, or None if there is none."""
        ...

    def put(self, key: ObjectKey, obj: JSONObject) -> None:
        """Add `obj` under `key`, or replace the object there."""
        ...

    def remove(self, key: ObjectKey) -> None:
        """Drop the object with `key` (which must be there)."""
        ...

    def all_keys(self) -> list[ObjectKey]: ...

    def objects(self) -> list[JSONObject]: ...

    def items(self) -> Iterator[tuple[ObjectKey, JSONObject]]: ...

    def __len__(self) -> int: ...

    def __contains__(self, key: object) -> bool: ...

    def namespace_keys(self, namespace: str) -> list[ObjectKey]: ...

    def in_namespace(self, namespace: str) -> list[JSONObject]: ...

    def namespaces(self) -> list[str]:
        """Every namespace with at least one object ("" for cluster-scoped objects)."""
        ...


class DictTable:
    """The decoded objects themselves, shared with every reader (so treated as immutable)."""

    def __init__(self) -> None:
        self._objects: dict[ObjectKey, JSONObject] = {}
        # The namespace is part of the key, so this changes only on adds and removes.
        self._by_namespace: dict[str, set[ObjectKey]] = {}

    def get(self, key: ObjectKey) -> JSONObject | None:
        return self._objects.get(key)

    def version(self, key: ObjectKey) -> str | None:
        obj = self._objects.get(key)
        return None if obj is None else resource_version(obj)

    def put(self, key: ObjectKey, obj: JSONObject) -> None:
        if key not in self._objects:
            keys = self._by_namespace.get(key[0])
            if keys is None:
                self._by_namespace[key[0]] = {key}
            else:
                keys.add(key)
        self._objects[key] = obj

    def remove(self, key: ObjectKey) -> None:
        del self._objects[key]
        keys = self._by_namespace[key[0]]
        keys.discard(key)
        if not keys:
            del self._by_namespace[key[0]]

    def all_keys(self) -> list[ObjectKey]:
        return list(self._objects)

    def objects(self) -> list[JSONObject]:
        return list(self._objects.values())

    def items(self) -> Iterator[tuple[ObjectKey, JSONObject]]:
        return iter(list(self._objects.items()))

    def __len__(self) -> int:
        return len(self._objects)

    def __contains__(self, key: object) -> bool:
        return key in self._objects

    def namespace_keys(self, namespace: str) -> list[ObjectKey]:
        return list(self._by_namespace.get(namespace, ()))

    def in_namespace(self, namespace: str) -> list[JSONObject]:
        objects = self._objects
        return [objects[key] for key in self._by_namespace.get(namespace, ())]

    def namespaces(self) -> list[str]:
        return list(self._by_namespace)

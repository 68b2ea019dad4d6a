"""A store's custom indexes: for each index function, the keys of the objects under each value.

An index is either built (it covers every cached object and follows every change) or pending.
A compact store leaves an index pending when building it would mean decoding every object
ahead of a query that may never come: after restoring a checkpoint (the objects stay encoded),
or when the index is added while objects are cached. A pending index is built from all objects
on its first query and maintained from then on; until then changes skip it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

from ..meta import JSONObject, ObjectKey, object_key

logger = logging.getLogger("controllerkit.cache.store")

IndexFunc = Callable[[JSONObject], Iterable[str]]
"""The values an object is indexed under (none, one or several)."""

IndexValues = dict[str, tuple[str, ...]]
"""The values of an object under each built index, by index name."""


class CustomIndexes:
    """Index functions and their value -> keys maps, for one store.

    `objects` yields every (key, object) the store holds; a pending index is built from it.
    Guarantees: a built index agrees with the objects after every `added`, `updated` and
    `removed`; an index function that raises is logged and leaves that object out of that
    index. Callers skip the maintenance calls when `maintained` is empty (the common case).
    """

    def __init__(self, objects: Callable[[], Iterator[tuple[ObjectKey, JSONObject]]]) -> None:
        self._objects = objects
        self._funcs: dict[str, IndexFunc] = {}
        self._maps: dict[str, dict[str, set[ObjectKey]]] = {}
        self._pending: set[str] = set()
        self.maintained: dict[str, IndexFunc] = {}
        """The built indexes' functions: the ones every change must go through."""

    def names(self) -> list[str]:
        return list(self._funcs)

    def __contains__(self, name: object) -> bool:
        return name in self._funcs

    def add(self, name: str, func: IndexFunc, *, pending: bool) -> None:
        """Add an index; built now from every object, or on first query if `pending`."""
        self._funcs[name] = func
        self._maps[name] = {}
        if pending:
            self._pending.add(name)
        else:
            self._build(name)
        self._refresh()

    def mark_pending(self, names: Iterable[str] | None = None) -> None:
        """Leave `names` (every index: None) to be rebuilt on their next query."""
        for name in self._funcs if names is None else names:
            self._pending.add(name)
            self._maps[name] = {}
        self._refresh()

    def lookup(self, name: str) -> dict[str, set[ObjectKey]]:
        """Index `name`'s value -> keys map, built first if pending; KeyError if unknown."""
        if name in self._pending:
            self._build(name)
            self._pending.discard(name)
            self._refresh()
        return self._maps[name]

    def values(self, obj: JSONObject) -> IndexValues:
        """`obj`'s values under every maintained index."""
        return {name: self._values(name, func, obj) for name, func in self.maintained.items()}

    # -- maintenance -------------------------------------------------------------------------

    def added(self, key: ObjectKey, obj: JSONObject) -> None:
        for name, func in self.maintained.items():
            self._insert(self._maps[name], key, self._values(name, func, obj))

    def added_values(self, key: ObjectKey, values: IndexValues) -> None:
        """Like `added`, with the values computed earlier (`values`) by the same functions."""
        for name in self.maintained:
            self._insert(self._maps[name], key, values[name])

    def updated(self, key: ObjectKey, old: JSONObject, new: JSONObject) -> None:
        for name, func in self.maintained.items():
            self._move(self._maps[name], key, self._values(name, func, old),
                       self._values(name, func, new))

    def updated_values(self, key: ObjectKey, old: JSONObject, values: IndexValues) -> None:
        """Like `updated`, with the new object's values computed earlier."""
        for name, func in self.maintained.items():
            self._move(self._maps[name], key, self._values(name, func, old), values[name])

    def removed(self, key: ObjectKey, obj: JSONObject) -> None:
        for name, func in self.maintained.items():
            index = self._maps[name]
            for value in self._values(name, func, obj):
                _discard(index, value, key)

    # -- internals ---------------------------------------------------------------------------

    def _refresh(self) -> None:
        self.maintained = {name: func for name, func in self._funcs.items()
                           if name not in self._pending}

    def _build(self, name: str) -> None:
        func = self._funcs[name]
        index: dict[str, set[ObjectKey]] = {}
        for key, obj in self._objects():
            self._insert(index, key, self._values(name, func, obj))
        self._maps[name] = index

    def _values(self, name: str, func: IndexFunc, obj: JSONObject) -> tuple[str, ...]:
        try:
            return tuple(func(obj))
        except Exception:
            logger.exception("index function %r failed on %s; object left out of the index",
                             name, object_key(obj))
            return ()

    @staticmethod
    def _insert(index: dict[str, set[ObjectKey]], key: ObjectKey,
                values: tuple[str, ...]) -> None:
        for value in values:
            keys = index.get(value)
            if keys is None:
                index[value] = {key}
            else:
                keys.add(key)

    def _move(self, index: dict[str, set[ObjectKey]], key: ObjectKey,
              before: tuple[str, ...], after: tuple[str, ...]) -> None:
        if before == after:
            return
        for value in before:
            _discard(index, value, key)
        self._insert(index, key, after)


def _discard(index: dict[str, set[ObjectKey]], value: str, key: ObjectKey) -> None:
    keys = index.get(value)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[value]

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
`transform`). They are shared, not copied: treat them as immutable. A caller that wants to
change one builds a new dict (or a typed model) from it.

Writes (`apply`, `replace`, `set_resource_version`) belong to the reflector that feeds the
store; everything else reads. All methods run on the event loop and never block it for I/O.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Callable, Iterable, Mapping

from ..meta import JSONObject, ObjectKey, object_key, resource_version
from .delta import Delta, DeltaType
from .transforms import Transform

logger = logging.getLogger(__name__)

IndexFunc = Callable[[JSONObject], Iterable[str]]
"""The values an object is indexed under (none, one or several)."""


NAMESPACE_INDEX = "namespace"
"""The built-in index: objects by namespace ("" for cluster-scoped objects)."""


class StaleCache(TimeoutError):
    """The cache did not reach a resourceVersion in time.

    `wanted` is the resourceVersion waited for, `seen` the one the cache reflects. Retrying
    later (a requeue with backoff) is the usual answer: the informer is behind or reconnecting.
    """

    def __init__(self, wanted: str, seen: str, timeout: float) -> None:
        super().__init__(
            f"cache did not reach resourceVersion {wanted} within {timeout:g}s "
            f"(it reflects {seen or 'nothing yet'})"
        )
        self.wanted = wanted
        self.seen = seen
        self.timeout = timeout


def _comparable(rv: str) -> int:
    try:
        return int(rv)
    except ValueError:
        raise ValueError(
            f"resourceVersion {rv!r} is not an integer; it cannot be compared"
        ) from None


class Store:
    """Objects by key, with indexes and the resourceVersion they reflect.

    Guarantees: after `apply`/`replace` returns, `get`, `list` and every index agree with each
    other. `resource_version` only changes through the reflector's writes; once it is set it is
    the resourceVersion of the last event, bookmark or list the store has absorbed.
    Not guaranteed: any order of `list()` or `by_index()` results.
    """

    def __init__(
        self,
        *,
        transform: Transform | None = None,
        indexes: Mapping[str, IndexFunc] | None = None,
    ) -> None:
        self._transform = transform
        self._objects: dict[ObjectKey, JSONObject] = {}
        # The namespace is part of the key, so this index changes only on adds and deletes.
        self._by_namespace: dict[str, set[ObjectKey]] = {}
        # Custom indexes only; the hot paths skip them entirely when there are none.
        self._index_funcs: dict[str, IndexFunc] = {}
        self._indexes: dict[str, dict[str, set[ObjectKey]]] = {NAMESPACE_INDEX: self._by_namespace}
        self._resource_version = ""
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        for name, func in (indexes or {}).items():
            self.add_index(name, func)

    @property
    def transform(self) -> Transform | None:
        """The transform every object goes through before it is cached (None: as received)."""
        return self._transform

    # -- reads -------------------------------------------------------------------------------

    def get(self, key: ObjectKey) -> JSONObject | None:
        """The cached object with key (namespace, name); namespace "" if cluster-scoped."""
        return self._objects.get(key)

    def list(self) -> list[JSONObject]:
        """Every cached object (a new list of the shared dicts)."""
        return list(self._objects.values())

    def keys(self) -> builtins.list[ObjectKey]:
        return list(self._objects)

    def __len__(self) -> int:
        return len(self._objects)

    def __contains__(self, key: object) -> bool:
        return key in self._objects

    def by_index(self, index: str, value: str) -> builtins.list[JSONObject]:
        """The objects `index`'s function mapped to `value`; KeyError for an unknown index."""
        keys = self._index(index).get(value, ())
        return [self._objects[key] for key in keys]

    def index_keys(self, index: str, value: str) -> builtins.list[ObjectKey]:
        """The keys of the objects `index` maps to `value`."""
        return list(self._index(index).get(value, ()))

    def index_values(self, index: str) -> builtins.list[str]:
        """Every value `index` currently holds at least one object under."""
        return list(self._index(index))

    def _index(self, name: str) -> dict[str, set[ObjectKey]]:
        try:
            return self._indexes[name]
        except KeyError:
            raise KeyError(f"no index named {name!r}; known: {sorted(self._indexes)}") from None

    def add_index(self, name: str, func: IndexFunc) -> None:
        """Index objects by `func(obj)` (e.g. owner uid, a label, a spec field).

        The index covers the objects already cached and every later change. An index function
        that raises is logged and the object is left out of that index (the cache itself stays
        consistent). Adding a name twice is an error.
        """
        if name in self._indexes:
            raise ValueError(f"index {name!r} already exists")
        self._index_funcs[name] = func
        self._indexes[name] = {}
        for key, obj in self._objects.items():
            self._index_one(name, func, key, obj)

    # -- resourceVersion -----------------------------------------------------------------------

    @property
    def resource_version(self) -> str:
        """The resourceVersion of the last event, bookmark or list absorbed ("" before any)."""
        return self._resource_version

    def has_reached(self, resource_version: str) -> bool:
        """Whether the cache reflects `resource_version` or a later one.

        resourceVersions are compared as integers (the API server's and the embedded server's
        are); a non-integer one raises ValueError.
        """
        wanted = _comparable(resource_version)
        return bool(self._resource_version) and _comparable(self._resource_version) >= wanted

    # The bound is part of the contract (StaleCache reports it), hence a timeout parameter.
    async def wait_for_resource_version(
        self, resource_version: str, timeout: float  # noqa: ASYNC109
    ) -> None:
        """Wait until the cache reflects `resource_version` or later (read-your-own-writes).

        A reconcile that just wrote an object (and got back its resourceVersion) calls this
        before reading the cache, so it sees its own write or a later state. Returns at once if
        the cache is already there. Raises `StaleCache` after `timeout` seconds.
        """
        wanted = _comparable(resource_version)
        if self.has_reached(resource_version):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = (wanted, future)
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await future
        except TimeoutError:
            raise StaleCache(resource_version, self._resource_version, timeout) from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def set_resource_version(self, resource_version: str) -> None:
        """Record that the cache reflects `resource_version` (a bookmark, an empty list)."""
        if not resource_version or resource_version == self._resource_version:
            return
        self._resource_version = resource_version
        if self._waiters:
            self._wake_waiters()

    def _wake_waiters(self) -> None:
        try:
            current = _comparable(self._resource_version)
        except ValueError:
            return
        still_waiting = []
        for wanted, future in self._waiters:
            if future.done():
                continue
            if current >= wanted:
                future.set_result(None)
            else:
                still_waiting.append((wanted, future))
        self._waiters = still_waiting

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
        old = self._objects.get(key)
        delta: Delta | None
        if event_type == "DELETED":
            delta = None
            if old is not None:
                self._remove(key, old)
                delta = Delta(DeltaType.DELETED, obj)
        elif old is None:
            self._add(key, obj)
            delta = Delta(DeltaType.ADDED, obj)
        elif resource_version(old) == resource_version(obj):
            delta = None
        else:
            self._update(key, old, obj)
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
        Unchanged objects keep their cached dict. `transformed` says the caller already passed
        every object through `transform` (a lister does, page by page, so that a large list
        never holds all the untransformed objects at once).
        """
        incoming: dict[ObjectKey, JSONObject] = {}
        transform = None if transformed else self._transform
        for obj in objects:
            if transform is not None:
                obj = transform(obj)
            incoming[object_key(obj)] = obj
        deltas: builtins.list[Delta] = []
        current = self._objects
        for key in [key for key in current if key not in incoming]:
            old = current[key]
            self._remove(key, old)
            deltas.append(Delta(DeltaType.DELETED, old, None, True))
        for key, new in incoming.items():
            cached = current.get(key)
            if cached is None:
                self._add(key, new)
                deltas.append(Delta(DeltaType.ADDED, new))
            elif _uid(cached) != _uid(new):
                self._update(key, cached, new)
                deltas.append(Delta(DeltaType.DELETED, cached, None, True))
                deltas.append(Delta(DeltaType.ADDED, new))
            elif resource_version(cached) != resource_version(new):
                self._update(key, cached, new)
                deltas.append(Delta(DeltaType.UPDATED, new, cached))
        self.set_resource_version(at_resource_version)
        return deltas

    # -- index maintenance -----------------------------------------------------------------

    def _add(self, key: ObjectKey, obj: JSONObject) -> None:
        self._objects[key] = obj
        keys = self._by_namespace.get(key[0])
        if keys is None:
            self._by_namespace[key[0]] = {key}
        else:
            keys.add(key)
        for name, func in self._index_funcs.items():
            self._index_one(name, func, key, obj)

    def _update(self, key: ObjectKey, old: JSONObject, new: JSONObject) -> None:
        self._objects[key] = new
        for name, func in self._index_funcs.items():
            before = self._values(name, func, old)
            after = self._values(name, func, new)
            if before == after:
                continue
            index = self._indexes[name]
            for value in before:
                _discard(index, value, key)
            for value in after:
                index.setdefault(value, set()).add(key)

    def _remove(self, key: ObjectKey, obj: JSONObject) -> None:
        del self._objects[key]
        _discard(self._by_namespace, key[0], key)
        for name, func in self._index_funcs.items():
            index = self._indexes[name]
            for value in self._values(name, func, obj):
                _discard(index, value, key)

    def _values(self, name: str, func: IndexFunc, obj: JSONObject) -> tuple[str, ...]:
        try:
            return tuple(func(obj))
        except Exception:
            logger.exception("index function %r failed on %s; object left out of the index",
                             name, object_key(obj))
            return ()

    def _index_one(self, name: str, func: IndexFunc, key: ObjectKey, obj: JSONObject) -> None:
        index = self._indexes[name]
        for value in self._values(name, func, obj):
            index.setdefault(value, set()).add(key)


def _discard(index: dict[str, set[ObjectKey]], value: str, key: ObjectKey) -> None:
    keys = index.get(value)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[value]


def _uid(obj: JSONObject) -> str:
    return str(obj["metadata"].get("uid") or "")

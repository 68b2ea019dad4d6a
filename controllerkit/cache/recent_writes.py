"""`RecentWrites`: what this process wrote that its caches have not shown yet.

Read-your-own-writes without comparing resourceVersions. resourceVersions are opaque: a client
may test them for equality, never order them. So a write is remembered with the versions the
cache may still show that come *before* it: the one the cache held when the write was sent,
and, when an earlier write of this process was still ahead of the cache, that write's version
and the ones before it. Then, for each object:

- while the cache shows one of those versions (or, for a create, nothing), reads are answered
  with the written object: the cache has not caught up yet;
- the first change the cache shows beyond them ends the overlay: either it is the write itself,
  or something newer, or a deletion. Watch events arrive in order, and a write preconditioned
  on the version it read is the next change after that version (a conflict otherwise). For
  writes sent without a precondition, a concurrent change in between ends the overlay early: a
  read may then see the state just before the write, and a write computed from it conflicts
  and is retried. Never a lost write; at worst one retry.

A write is remembered only if the cache still showed a version before it when the answer
arrived: if it had moved on, it shows the write (or something newer) already. Entries expire
after `max_age` seconds, so a cache that never shows a change (a broken watch) cannot pin a
stale overlay forever.

The same records say which changes were *only* a controller's own write: an update from the
version the write was based on to the version it produced, seen by the controller that wrote
it. `is_own_write` answers that once per record, so a controller need not reconcile the echo
of its own write.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from ..meta import JSONObject, ObjectKey, ResourceKind, resource_version
from .clock import SYSTEM_CLOCK, Clock
from .delta import DeletedFinalStateUnknown

__all__ = ["DEFAULT_MAX_AGE", "RecentWrites", "WriteBase"]

DEFAULT_MAX_AGE = 60.0
"""Seconds a write is overlaid at most; a watch that shows no change for that long is broken."""

_MAX_ENTRIES = 10_000
_DELETED: JSONObject = {}
"""The overlay of an object this process deleted (the server answered with a Status)."""

_WriteKey = tuple[str, str, str, str]
"""(group, kind, namespace, name): versions of one kind share objects."""


@dataclass(frozen=True, slots=True)
class WriteBase:
    """What a write is sent on top of: the version a reader sees (`visible`) and the versions
    the cache may show that precede the write (`before`; "" stands for no object)."""

    visible: str
    before: frozenset[str]


@dataclass(slots=True)
class _Overlay:
    before: frozenset[str]
    written: str
    obj: JSONObject
    expires: float


@dataclass(slots=True)
class _OwnWrite:
    writer: str
    based_on: str
    expires: float


class RecentWrites:
    """Overlays of this process's recent writes, and the records of who made them.

    All methods run on the event loop and never block. `observe` must see every change of
    every cache the overlays apply to (see `CachedClient`, which registers it as a handler).
    """

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK, max_age: float = DEFAULT_MAX_AGE) -> None:
        self._clock = clock
        self._max_age = max_age
        self._overlays: OrderedDict[_WriteKey, _Overlay] = OrderedDict()
        self._own: OrderedDict[tuple[_WriteKey, str], _OwnWrite] = OrderedDict()

    def __len__(self) -> int:
        return len(self._overlays)

    # -- recording writes ------------------------------------------------------------------

    def base(self, kind: ResourceKind, key: ObjectKey, cached: JSONObject | None) -> WriteBase:
        """What a write of `key` sent now is based on, given the object the cache holds."""
        cached_version = resource_version(cached) if cached is not None else ""
        entry = self._live(_write_key(kind, key), cached_version)
        if entry is None:
            return WriteBase(cached_version, frozenset((cached_version,)))
        return WriteBase(entry.written, entry.before | {cached_version, entry.written})

    def wrote(self, kind: ResourceKind, key: ObjectKey, base: WriteBase, *,
              cached_now: JSONObject | None, written: JSONObject | None,
              writer: str = "") -> None:
        """Remember a write of `key` sent on `base`.

        `cached_now` is what the cache holds now that the answer arrived; `written` the object
        the server answered with, or None when the write removed it. `writer` names the
        controller whose reconcile wrote (for `is_own_write`).
        """
        write_key = _write_key(kind, key)
        now = self._clock.monotonic()
        written_version = resource_version(written) if written is not None else ""
        if writer and written is not None:
            self._own[(write_key, written_version)] = _OwnWrite(writer, base.visible,
                                                                now + self._max_age)
            _trim(self._own)
        cached_version = resource_version(cached_now) if cached_now is not None else ""
        if cached_version not in base.before:
            self._overlays.pop(write_key, None)  # the cache shows this write, or newer
            return
        self._overlays[write_key] = _Overlay(base.before, written_version,
                                             written if written is not None else _DELETED,
                                             now + self._max_age)
        self._overlays.move_to_end(write_key)
        _trim(self._overlays)

    def _live(self, write_key: _WriteKey, cached_version: str) -> _Overlay | None:
        """The overlay of `write_key` if it is still ahead of a cache at `cached_version`."""
        entry = self._overlays.get(write_key)
        if entry is None:
            return None
        if entry.expires <= self._clock.monotonic() or cached_version not in entry.before:
            del self._overlays[write_key]
            return None
        return entry

    # -- reading ---------------------------------------------------------------------------

    def overlay(self, kind: ResourceKind, key: ObjectKey, cached: JSONObject | None
                ) -> tuple[bool, JSONObject | None]:
        """(True, the object to read instead of `cached`) while a write of `key` is ahead of
        the cache; (False, None) otherwise. The object is None when the write deleted it."""
        cached_version = resource_version(cached) if cached is not None else ""
        entry = self._live(_write_key(kind, key), cached_version)
        if entry is None:
            return False, None
        return True, (None if entry.obj is _DELETED else entry.obj)

    def overlaid_keys(self, kind: ResourceKind) -> list[ObjectKey]:
        """The keys of `kind` with an overlay (check each with `overlay`)."""
        return [(namespace, name) for group, kind_name, namespace, name in self._overlays
                if (group, kind_name) == (kind.group, kind.kind)]

    # -- what the caches show --------------------------------------------------------------

    def observe(self, kind: ResourceKind, obj: JSONObject | DeletedFinalStateUnknown,
                deleted: bool = False) -> None:
        """A cache of `kind` changed `obj`: end its overlay unless this is a state before the
        write (a change the cache shows only now, made before the write was sent)."""
        if not self._overlays:
            return
        if isinstance(obj, DeletedFinalStateUnknown):
            obj, deleted = obj.object, True
        meta = obj.get("metadata") or {}
        write_key = (kind.group, kind.kind, str(meta.get("namespace") or ""),
                     str(meta.get("name") or ""))
        entry = self._overlays.get(write_key)
        if entry is None:
            return
        if deleted or resource_version(obj) not in entry.before:
            del self._overlays[write_key]

    def is_own_write(self, writer: str, kind: ResourceKind, old: JSONObject | None,
                     new: JSONObject) -> bool:
        """Whether the change from `old` to `new` is exactly a write `writer` made: the cache
        went from the state the write was based on straight to the state it produced.

        True at most once per write; records expire like overlays.
        """
        if not self._own or not writer:
            return False
        meta = new.get("metadata") or {}
        write_key = (kind.group, kind.kind, str(meta.get("namespace") or ""),
                     str(meta.get("name") or ""))
        record_key = (write_key, resource_version(new))
        record = self._own.get(record_key)
        if record is None:
            return False
        old_version = resource_version(old) if old is not None else ""
        if record.writer != writer or record.based_on != old_version:
            return False
        del self._own[record_key]
        return record.expires > self._clock.monotonic()


def _write_key(kind: ResourceKind, key: ObjectKey) -> _WriteKey:
    namespace, name = key
    return (kind.group, kind.kind, namespace if kind.namespaced else "", name)


def _trim(entries: OrderedDict[_WriteKey, _Overlay] | OrderedDict[tuple[_WriteKey, str],
                                                                     _OwnWrite]) -> None:
    while len(entries) > _MAX_ENTRIES:
        entries.popitem(last=False)

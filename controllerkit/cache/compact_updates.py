"""A compact store's relist: its objects replaced by prepared (already encoded) ones.

A lister encodes each page as it arrives (`EncodedEntry`, from `Store.prepare`), so a 100k-object
list never holds 100k decoded objects at once. The replacement compares resourceVersions, which
the compact table keeps beside the bytes: unchanged objects are neither decoded nor re-stored.
Only the cached side of a changed object is decoded (for its uid, its old index values and the
delta). The deltas themselves decode their objects only when iterated: a reflector whose
informer has no handlers never decodes the list it just encoded.

Filling an empty store (every cold start) skips the comparison entirely, and with it every
per-object helper: no key tuples, no delta records, only the stored bytes and strings. What a
fill leaves behind in memory is what the store keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from ..meta import JSONObject
from .compact_table import CompactTable
from .delta import Delta, DeltaType
from .encoding import decode_object
from .indexes import CustomIndexes, IndexValues


class EncodedEntry(NamedTuple):
    """One object as a compact store keeps it, made ahead of the store's `replace_prepared`."""

    namespace: str
    name: str
    version: str
    data: bytes
    # The object's values under the store's maintained indexes when it was prepared (None:
    # there were none).
    index_values: IndexValues | None


# (type, the object or its bytes, the old object, final state unknown)
_Step = tuple[DeltaType, "bytes | JSONObject", "JSONObject | None", bool]


class EncodedDeltas:
    """The deltas of one replacement, in order; objects still encoded are decoded per delta.

    Each iteration decodes anew: iterate once and keep what you need.
    """

    def __init__(self, steps: list[_Step]) -> None:
        self._steps = steps

    def __iter__(self) -> Iterator[Delta]:
        for kind, obj, old, unknown in self._steps:
            yield Delta(kind, obj if isinstance(obj, dict) else decode_object(obj), old, unknown)


class AddedDeltas:
    """The deltas of filling an empty store: one ADDED per key, in the entries' order.

    A key given more than once is added once, at its first position, with its last state (as
    the dict store's `replace` does). Each iteration decodes anew.
    """

    def __init__(self, table: CompactTable, entries: list[EncodedEntry]) -> None:
        self._table = table
        self._entries = entries
        self._repeats = len(table) != len(entries)

    def __iter__(self) -> Iterator[Delta]:
        seen: set[tuple[str, str]] = set()
        for entry in self._entries:
            data = entry.data
            if self._repeats:
                key = (entry.namespace, entry.name)
                if key in seen:
                    continue
                seen.add(key)
                data = self._table.raw(key) or data
            yield Delta(DeltaType.ADDED, decode_object(data))


def replace_encoded(
    table: CompactTable, custom: CustomIndexes, entries: list[EncodedEntry]
) -> Iterable[Delta]:
    """Make `table` exactly `entries` (a later entry wins for a repeated key); the deltas.

    Same outcome as the dict store's `replace`: new keys ADDED, changed resourceVersions
    UPDATED (or DELETED with `final_state_unknown` then ADDED when the uid changed), vanished
    keys DELETED with `final_state_unknown`. An equal resourceVersion means an unchanged object
    (the server never reuses one), so it is not decoded to compare uids.
    """
    _leave_uncovered_indexes_pending(custom, entries)
    if not len(table):
        return _fill(table, custom, entries)
    incoming = {(entry.namespace, entry.name): entry for entry in entries}
    maintained = bool(custom.maintained)
    steps: list[_Step] = []
    for key in [key for key in table.all_keys() if key not in incoming]:
        data = table.raw(key)
        assert data is not None
        if maintained:
            custom.removed(key, decode_object(data))
        table.remove(key)
        steps.append((DeltaType.DELETED, data, None, True))
    for key, entry in incoming.items():
        cached_version = table.version(key)
        if cached_version is None:
            table.put_encoded(entry.namespace, entry.name, entry.version, entry.data)
            if maintained:
                assert entry.index_values is not None
                custom.added_values(key, entry.index_values)
            steps.append((DeltaType.ADDED, entry.data, None, False))
        elif cached_version != entry.version:
            data = table.raw(key)
            assert data is not None
            old = decode_object(data)
            new = decode_object(entry.data)
            table.put_encoded(entry.namespace, entry.name, entry.version, entry.data)
            if maintained:
                assert entry.index_values is not None
                custom.updated_values(key, old, entry.index_values)
            if _uid(old) != _uid(new):
                steps.append((DeltaType.DELETED, old, None, True))
                steps.append((DeltaType.ADDED, new, None, False))
            else:
                steps.append((DeltaType.UPDATED, new, old, False))
    return EncodedDeltas(steps)


def _fill(table: CompactTable, custom: CustomIndexes, entries: list[EncodedEntry]) -> AddedDeltas:
    put = table.put_encoded
    if custom.maintained:
        for entry in entries:
            assert entry.index_values is not None
            put(entry.namespace, entry.name, entry.version, entry.data)
            custom.added_values((entry.namespace, entry.name), entry.index_values)
    else:
        for entry in entries:
            put(entry.namespace, entry.name, entry.version, entry.data)
    if custom.maintained and len(table) != len(entries):
        # A repeated key was indexed under each of its states: index the final ones afresh.
        custom.mark_pending(list(custom.maintained))
    return AddedDeltas(table, entries)


def _uid(obj: JSONObject) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def _leave_uncovered_indexes_pending(
    custom: CustomIndexes, entries: Iterable[EncodedEntry]
) -> None:
    """Indexes some entry has no values for (added after it was prepared) are rebuilt later."""
    if not custom.maintained:
        return
    wanted = set(custom.maintained)
    uncovered: set[str] = set()
    for entry in entries:
        values = entry.index_values
        uncovered |= wanted if values is None else wanted - values.keys()
        if uncovered == wanted:
            break
    if uncovered:
        custom.mark_pending(uncovered)

"""The encoded form of cached objects: compact JSON bytes, one allocation each.

A compact store (`Store(compact=True)`) keeps every object as the bytes `encode_object` made
of it and decodes them on each read; a checkpoint keeps the same bytes, so a warm restart can
fill a compact store without decoding a single object. `EncodedObjects` is that snapshot form:
runs of objects of one namespace, each with its name, resourceVersion and bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson

from ..meta import JSONObject, ObjectKey
from .gc_pause import paused_gc


def encode_object(obj: JSONObject) -> bytes:
    """`obj` as compact JSON (UTF-8, no whitespace, never a raw newline), sized exactly.

    Raises TypeError for what JSON cannot hold (orjson's `JSONEncodeError`).
    """
    # orjson's result keeps the allocation of its write buffer (about 4 KB for a 1 KB object),
    # so kept as is, a cache of 1 KB objects costs 4 KB each. A copy is allocated at its exact
    # size, and copying is cheaper than the memory it saves (the buffer is reused at once).
    return bytes(memoryview(orjson.dumps(obj)))


def decode_object(data: bytes | memoryview) -> JSONObject:
    """The object `encode_object` encoded (a new dict on every call).

    Raises ValueError (orjson's `JSONDecodeError`) for bytes that are not JSON and for JSON
    that is not an object.
    """
    obj = orjson.loads(data)
    if type(obj) is not dict:
        raise ValueError(f"expected a JSON object, found {type(obj).__name__}")
    return obj


@dataclass(frozen=True, slots=True)
class EncodedRun:
    """Consecutive objects of one namespace: `names`, `versions` and `data` are aligned."""

    namespace: str
    names: list[str]
    versions: list[str]
    data: list[bytes]


@dataclass(frozen=True, slots=True)
class EncodedObjects:
    """Objects in their encoded form and in a fixed order, grouped into runs by namespace.

    Guarantees: `decoded()` returns the objects in this order; the runs hold each key at most
    once when they come from a store (a hand-built or checkpoint list may repeat one; a store
    keeps the last). Not guaranteed: one run per namespace (a namespace may recur).
    """

    runs: list[EncodedRun]

    def __len__(self) -> int:
        return sum(len(run.names) for run in self.runs)

    def __iter__(self) -> Iterator[tuple[ObjectKey, str, bytes]]:
        """(key, resourceVersion, bytes) of every object, in order."""
        for run in self.runs:
            namespace = run.namespace
            for name, version, data in zip(run.names, run.versions, run.data, strict=True):
                yield (namespace, name), version, data

    def decoded(self) -> list[JSONObject]:
        """Every object decoded (new dicts), in order; ValueError for undecodable bytes."""
        # Every decoded object is kept: collections would only walk the growing list.
        with paused_gc():
            return [decode_object(data) for run in self.runs for data in run.data]

    @classmethod
    def of(cls, objects: Iterable[JSONObject]) -> EncodedObjects:
        """`objects` encoded, in their order (consecutive objects of a namespace share a run)."""
        runs: list[EncodedRun] = []
        run: EncodedRun | None = None
        for obj in objects:
            metadata = obj.get("metadata") or {}
            namespace = str(metadata.get("namespace") or "")
            if run is None or run.namespace != namespace:
                run = EncodedRun(namespace, [], [], [])
                runs.append(run)
            run.names.append(str(metadata.get("name") or ""))
            run.versions.append(str(metadata.get("resourceVersion") or ""))
            run.data.append(encode_object(obj))
        return cls(runs)

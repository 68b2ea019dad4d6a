"""The bytes of a stored checkpoint: versioned JSON Lines shared by the file and SQLite stores.

```
{"format":1,"scope":"configmaps.v1_all_…","resourceVersion":"4711","objectCount":2}
{"apiVersion":"v1","kind":"ConfigMap","metadata":{…},…}
{"apiVersion":"v1","kind":"ConfigMap","metadata":{…},…}
```
A header line, then one compact JSON object per line; `objectCount` is null when only the
resourceVersion is kept. The header names the scope, so data found under the wrong scope is
refused instead of filling the wrong cache, and counts the objects, so a cut-off copy is
detected rather than loaded as a smaller cache.

Both functions run on a worker thread. One object per line lets them work object by object,
so the worker thread hands the interpreter lock back to the event loop every few milliseconds
(the interpreter's switch interval): a 100k-object snapshot never freezes the loop for the
whole (de)serialisation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from ..meta import JSONObject
from .checkpoint import Checkpoint
from .gc_pause import paused_gc

# Bumped on any incompatible change; a checkpoint in another format is ignored (a cold start),
# never misread.
FORMAT_VERSION = 1
_NEWLINE = b"\n"
# About 0.5 MB for 1 KB objects: cheap to join, small enough to write in one call.
_OBJECTS_PER_PIECE = 500


class CorruptCheckpoint(ValueError):
    """Stored bytes that are not a checkpoint this version can read; the message says why."""


def encode_checkpoint(scope: str, checkpoint: Checkpoint) -> Iterator[bytes]:
    """The stored form of `checkpoint`, in pieces of a few hundred KB to write or join.

    Raises ValueError (before yielding anything) for an empty resourceVersion.
    """
    if not checkpoint.resource_version:
        raise ValueError(f"checkpoint for scope {scope} has an empty resourceVersion")
    return _encode(scope, checkpoint.resource_version, checkpoint.objects)


def _encode(scope: str, resource_version: str, objects: list[JSONObject] | None) -> Iterator[bytes]:
    yield orjson.dumps({
        "format": FORMAT_VERSION,
        "scope": scope,
        "resourceVersion": resource_version,
        "objectCount": None if objects is None else len(objects),
    }) + _NEWLINE
    # A Python-level loop on purpose: one C call over all objects (map, join) would hold the
    # interpreter lock, and so freeze the event loop, until it finished. Compact orjson output
    # never contains a raw newline (strings escape it), so one object per line is safe.
    piece: list[bytes] = []
    for item in objects or ():
        piece.append(orjson.dumps(item))
        if len(piece) == _OBJECTS_PER_PIECE:
            piece.append(b"")
            yield _NEWLINE.join(piece)
            piece = []
    if piece:
        piece.append(b"")
        yield _NEWLINE.join(piece)


def decode_checkpoint(scope: str, data: bytes) -> Checkpoint:
    """The checkpoint stored in `data` for `scope`; raises `CorruptCheckpoint` if unusable."""
    header_end = data.find(_NEWLINE)
    if header_end < 0:
        raise CorruptCheckpoint("no header line")
    count, resource_version = _read_header(scope, data[:header_end])
    if count is None:
        _expect_end(data, header_end + 1)
        return Checkpoint(resource_version=resource_version, objects=None)
    view = memoryview(data)
    objects: list[Any] = []
    start = header_end + 1
    # Every decoded object is kept: collections during the loop would only walk the growing
    # snapshot again and again (most of the decode time for a large checkpoint).
    with paused_gc():
        for position in range(count):
            end = data.find(_NEWLINE, start)
            if end < 0:
                raise CorruptCheckpoint(f"cut off after {position} of {count} objects")
            try:
                item = orjson.loads(view[start:end])
            except orjson.JSONDecodeError as error:
                raise CorruptCheckpoint(
                    f"object {position} is not valid JSON ({error})") from None
            if not isinstance(item, dict):
                raise CorruptCheckpoint(f"object {position} is not a JSON object")
            objects.append(item)
            start = end + 1
    _expect_end(data, start)
    return Checkpoint(resource_version=resource_version, objects=objects)


def _read_header(scope: str, line: bytes) -> tuple[int | None, str]:
    try:
        header: Any = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise CorruptCheckpoint(f"header is not valid JSON ({error})") from None
    if not isinstance(header, dict):
        raise CorruptCheckpoint("header is not a JSON object")
    version = header.get("format")
    if not isinstance(version, int) or isinstance(version, bool):
        raise CorruptCheckpoint("no format version")
    if version != FORMAT_VERSION:
        raise CorruptCheckpoint(
            f"format {version} is not {FORMAT_VERSION} (written by another controllerkit version)"
        )
    if header.get("scope") != scope:
        raise CorruptCheckpoint(f"written for scope {header.get('scope')!r}, not {scope!r}")
    resource_version = header.get("resourceVersion")
    if not isinstance(resource_version, str) or not resource_version:
        raise CorruptCheckpoint("no resourceVersion")
    count = header.get("objectCount")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        raise CorruptCheckpoint(f"objectCount {count!r} is not a count")
    return count, resource_version


def _expect_end(data: bytes, position: int) -> None:
    if position != len(data):
        raise CorruptCheckpoint(f"{len(data) - position} unexpected bytes after the last object")

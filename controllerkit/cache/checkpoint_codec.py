"""The bytes of a stored checkpoint, shared by the file and SQLite stores.

Format 2 (written since compact caches exist) stores each object's JSON bytes next to its key,
so a compact cache loads a snapshot without decoding a single object:
```
{"format":2,"scope":"configmaps.v1_all_…","resourceVersion":"4711","objectCount":3,…}
[["default",["a","b"],["4700","4702"]],["kube-system",["c"],["4711"]]]
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a",…},…}
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b",…},…}
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c",…},…}
{"crc32":1234567890}
```
A header line (which also has `transform` and `bodyBytes`); a key line: runs of consecutive
objects of one namespace, with their names and resourceVersions; the body: one compact JSON
object per line, in key-line order; a trailer with the CRC-32 of the key line and the body
(newlines included). `bodyBytes` is the body's length; `transform` the `transform_identity` of
the transform the objects went through, or null. When only the resourceVersion is kept,
`objectCount` is null and the header is all there is.

The header names the scope, so data found under the wrong scope is refused instead of filling
the wrong cache; the count, the body length and the checksum catch data cut off or damaged,
which is refused rather than loaded (the objects are not decoded on load, so nothing else
would notice). Format 1 (a header, then one object per line, no key line) is still read.

All functions run on a worker thread and hand the interpreter lock back to the event loop
every few milliseconds: they work a few hundred objects (or a megabyte) at a time, and the
checksum runs without the lock. `read_checkpoint` takes the data a megabyte at a time, so a file
is never held whole in memory beside the objects made from it (for 100k objects that saves
100 MB of fresh memory, and the time the system takes to provide it).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from .checkpoint import Checkpoint
from .checkpoint_codec_v1 import CorruptCheckpoint, decode_objects_v1
from .encoding import EncodedObjects, EncodedRun

__all__ = ["FORMAT_VERSION", "READ_CHUNK_BYTES", "CorruptCheckpoint", "decode_checkpoint",
           "encode_checkpoint", "read_checkpoint"]

# Bumped on any incompatible change; a checkpoint in an unknown format is ignored (a cold
# start), never misread.
FORMAT_VERSION = 2
_READABLE_FORMATS = (1, 2)
_NEWLINE = b"\n"
# About 0.5 MB for 1 KB objects: cheap to join, small enough to write in one call.
_OBJECTS_PER_PIECE = 500
# Stored data is read and split this much at a time: one C call never holds the interpreter
# for long, and the memory for a chunk is reused by the next one.
READ_CHUNK_BYTES = 1 << 20


def encode_checkpoint(scope: str, checkpoint: Checkpoint) -> Iterator[bytes]:
    """The stored form of `checkpoint`, in pieces of a few hundred KB to write or join.

    Encodes the objects first if the checkpoint holds them only decoded. Raises ValueError
    (before yielding anything) for an empty resourceVersion.
    """
    if not checkpoint.resource_version:
        raise ValueError(f"checkpoint for scope {scope} has an empty resourceVersion")
    header: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "scope": scope,
        "resourceVersion": checkpoint.resource_version,
        "objectCount": None,
        "transform": checkpoint.transform,
    }
    encoded = checkpoint.encoded
    if encoded is None:
        return iter((orjson.dumps(header) + _NEWLINE,))
    return _encode_snapshot(header, encoded)


def _encode_snapshot(header: dict[str, Any], encoded: EncodedObjects) -> Iterator[bytes]:
    runs = encoded.runs
    header["objectCount"] = len(encoded)
    # Each object plus its newline.
    header["bodyBytes"] = sum(sum(map(len, run.data)) for run in runs) + header["objectCount"]
    yield orjson.dumps(header) + _NEWLINE
    keys = orjson.dumps([[run.namespace, run.names, run.versions] for run in runs]) + _NEWLINE
    checksum = zlib.crc32(keys)
    yield keys
    for run in runs:
        data = run.data
        for start in range(0, len(data), _OBJECTS_PER_PIECE):
            piece = data[start:start + _OBJECTS_PER_PIECE]
            piece.append(b"")
            joined = _NEWLINE.join(piece)
            checksum = zlib.crc32(joined, checksum)
            yield joined
    yield orjson.dumps({"crc32": checksum}) + _NEWLINE


def decode_checkpoint(scope: str, data: bytes) -> Checkpoint:
    """The checkpoint stored in `data` for `scope`; raises `CorruptCheckpoint` if unusable."""
    return read_checkpoint(
        scope, (data[start:start + READ_CHUNK_BYTES]
                for start in range(0, len(data), READ_CHUNK_BYTES)))


def read_checkpoint(scope: str, chunks: Iterable[bytes]) -> Checkpoint:
    """The checkpoint stored in the concatenation of `chunks` (`READ_CHUNK_BYTES` each, say).

    Raises `CorruptCheckpoint` if unusable; errors of the chunks' source (OSError) propagate.
    A format 2 snapshot comes back encoded (nothing decoded), a format 1 one decoded.
    """
    reader = _ChunkReader(iter(chunks))
    line = reader.line()
    if line is None:
        raise CorruptCheckpoint("no header line")
    header = _read_header(scope, line)
    resource_version: str = header["resourceVersion"]
    count: int | None = header["objectCount"]
    if count is None:
        _expect_end(reader.rest())
        return Checkpoint(resource_version, None)
    if header["format"] == 1:
        return Checkpoint(resource_version, decode_objects_v1(reader.rest(), 0, count))
    transform = header.get("transform")
    if transform is not None and not isinstance(transform, str):
        raise CorruptCheckpoint(f"transform {transform!r} is not a name")
    body_bytes = header.get("bodyBytes")
    if not isinstance(body_bytes, int) or isinstance(body_bytes, bool) or body_bytes < 0:
        raise CorruptCheckpoint(f"bodyBytes {body_bytes!r} is not a length")
    reader.summing = True
    keys = reader.line()
    if keys is None:
        raise CorruptCheckpoint("no key line")
    runs = _read_keys(keys, count)
    parts = reader.lines(body_bytes)
    if len(parts) != count:
        raise CorruptCheckpoint(f"the body holds {len(parts)} objects, not {count}")
    reader.summing = False
    trailer = reader.line()
    if trailer is None:
        raise CorruptCheckpoint("no checksum line after the body")
    if _read_checksum(trailer) != reader.checksum:
        raise CorruptCheckpoint("the key line and body do not match their checksum (damaged)")
    _expect_end(reader.rest())
    position = 0
    for run in runs:
        run.data.extend(parts[position:position + len(run.names)])
        position += len(run.names)
    return Checkpoint(resource_version, encoded=EncodedObjects(runs), transform=transform)


class _ChunkReader:
    """Lines and byte counts out of a sequence of chunks, with a running CRC-32 while `summing`."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self.summing = False
        self.checksum = 0

    def _sum(self, data: bytes) -> None:
        if self.summing:
            self.checksum = zlib.crc32(data, self.checksum)

    def line(self) -> bytes | None:
        """The next line without its newline; None if the data ends before a newline."""
        pieces: list[bytes] = []
        buffer = self._pending
        while True:
            end = buffer.find(_NEWLINE)
            if end >= 0:
                pieces.append(buffer[:end])
                self._pending = buffer[end + 1:]
                line = b"".join(pieces)
                self._sum(line)
                self._sum(_NEWLINE)
                return line
            pieces.append(buffer)
            following = next(self._chunks, None)
            if following is None:
                self._pending = b"".join(pieces)
                return None
            buffer = following

    def lines(self, length: int) -> list[bytes]:
        """The lines in the next `length` bytes, which must end with a newline."""
        parts: list[bytes] = []
        tail = b""
        remaining = length
        buffer, self._pending = self._pending, b""
        while remaining > 0:
            if not buffer:
                following = next(self._chunks, None)
                if following is None:
                    raise CorruptCheckpoint(
                        f"cut off: {length - remaining} of {length} body bytes")
                buffer = following
            piece = buffer
            if len(buffer) > remaining:
                piece, self._pending = buffer[:remaining], buffer[remaining:]
            buffer = b""
            remaining -= len(piece)
            self._sum(piece)
            # A line cut by a chunk boundary is completed by the next chunk's first line.
            found = piece.split(_NEWLINE)
            if tail:
                found[0] = tail + found[0]
            tail = found.pop()
            parts.extend(found)
        if buffer:
            # Nothing was asked for (an empty body): the data read ahead stays unread.
            self._pending = buffer
        if tail:
            raise CorruptCheckpoint("the body does not end with a newline")
        return parts

    def rest(self) -> bytes:
        """Everything not read yet."""
        return b"".join([self._pending, *self._chunks])


def _read_keys(line: bytes, count: int) -> list[EncodedRun]:
    try:
        items: Any = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise CorruptCheckpoint(f"key line is not valid JSON ({error})") from None
    if not isinstance(items, list):
        raise CorruptCheckpoint("key line is not a list")
    runs = []
    total = 0
    # Names and versions are not checked one by one: the checksum covers them, and only
    # the encoder above writes them (always strings).
    for item in items:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)
                and isinstance(item[1], list) and isinstance(item[2], list)
                and len(item[1]) == len(item[2])):
            raise CorruptCheckpoint("key line entry is not [namespace, names, versions]")
        runs.append(EncodedRun(item[0], item[1], item[2], []))
        total += len(item[1])
    if total != count:
        raise CorruptCheckpoint(f"key line names {total} objects, not {count}")
    return runs


def _read_checksum(line: bytes) -> int:
    try:
        trailer: Any = orjson.loads(line)
    except orjson.JSONDecodeError:
        trailer = None
    checksum = trailer.get("crc32") if isinstance(trailer, dict) else None
    if not isinstance(checksum, int) or isinstance(checksum, bool):
        raise CorruptCheckpoint("no checksum line after the body")
    return checksum


def _read_header(scope: str, line: bytes) -> dict[str, Any]:
    try:
        header: Any = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise CorruptCheckpoint(f"header is not valid JSON ({error})") from None
    if not isinstance(header, dict):
        raise CorruptCheckpoint("header is not a JSON object")
    version = header.get("format")
    if not isinstance(version, int) or isinstance(version, bool):
        raise CorruptCheckpoint("no format version")
    if version not in _READABLE_FORMATS:
        raise CorruptCheckpoint(
            f"format {version} is not one of {', '.join(map(str, _READABLE_FORMATS))} "
            "(written by another controllerkit version)"
        )
    if header.get("scope") != scope:
        raise CorruptCheckpoint(f"written for scope {header.get('scope')!r}, not {scope!r}")
    resource_version = header.get("resourceVersion")
    if not isinstance(resource_version, str) or not resource_version:
        raise CorruptCheckpoint("no resourceVersion")
    count = header.get("objectCount")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        raise CorruptCheckpoint(f"objectCount {count!r} is not a count")
    return header


def _expect_end(rest: bytes) -> None:
    if rest:
        raise CorruptCheckpoint(f"{len(rest)} unexpected bytes after the last object")

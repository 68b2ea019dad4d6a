"""The bytes of a stored checkpoint, shared by the file and SQLite stores.

Format 3 (written since lazy warm restarts exist) stores each object's JSON bytes next to its
key, length and CRC-32, so a compact cache loads a snapshot without decoding a single object,
and can read any one object from a file without reading the others:
```
{"format":3,"scope":"configmaps.v1_all_…","resourceVersion":"4711","objectCount":3,…}
[["default",["a","b"],["4700","4702"],[861,862],[3141592653,271828182]],["kube-system",…]]
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a",…},…}
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b",…},…}
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c",…},…}
```
A header line (which also has `transform`, `keyBytes`, `keyCrc32` and `bodyBytes`); a key line:
runs of consecutive objects of one namespace, with their names, resourceVersions, lengths (in
bytes, without the newline) and CRC-32s; the body: one compact JSON object per line, in key-line
order. `keyBytes` and `keyCrc32` are the key line's length (newline included) and checksum,
`bodyBytes` the body's length; `transform` the `transform_identity` of the transform the objects
went through, or null. When only the resourceVersion is kept, `objectCount` is null and the
header is all there is.

The header names the scope, so data found under the wrong scope is refused instead of filling
the wrong cache; the lengths and checksums catch data cut off or damaged, which is refused
rather than loaded (the objects are not decoded on load, so nothing else would notice). Since
every object has its own checksum, an object read on its own is checked on its own
(`check_record`). Formats 1 and 2 are still read (`checkpoint_codec_v1`, `checkpoint_codec_v2`).

All functions run on a worker thread and hand the interpreter lock back to the event loop
every few milliseconds: they work a few hundred objects (or a megabyte) at a time.
`read_checkpoint` takes the data a megabyte at a time, so a file is never held whole in memory
beside the objects made from it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from .checkpoint import Checkpoint
from .checkpoint_codec_v1 import CorruptCheckpoint, decode_objects_v1
from .checkpoint_codec_v2 import read_body_v2
from .checkpoint_lines import NEWLINE, ChunkReader, expect_end
from .encoding import EncodedObjects, EncodedRun

__all__ = ["FORMAT_VERSION", "READ_CHUNK_BYTES", "CorruptCheckpoint", "SnapshotIndex",
           "check_record", "decode_checkpoint", "encode_checkpoint", "read_checkpoint",
           "read_header", "read_index"]

# Bumped on any incompatible change; a checkpoint in an unknown format is ignored (a cold
# start), never misread.
FORMAT_VERSION = 3
_READABLE_FORMATS = (1, 2, 3)
# About 0.5 MB for 1 KB objects: cheap to join, small enough to write in one call.
_OBJECTS_PER_PIECE = 500
# Stored data is read and split this much at a time: one C call never holds the interpreter
# for long, and the memory for a chunk is reused by the next one.
READ_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class SnapshotIndex:
    """A format 3 snapshot's key line, checked: where each object is and what it must be.

    `runs` have names and versions (their `data` lists are empty); `lengths` and `checksums`
    are per object in body order; the body starts `body_start` bytes into the stored data.
    """

    runs: list[EncodedRun]
    lengths: list[int]
    checksums: list[int]
    body_start: int
    body_bytes: int

    @property
    def end(self) -> int:
        """Where the stored data must end."""
        return self.body_start + self.body_bytes


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
        return iter((orjson.dumps(header) + NEWLINE,))
    return _encode_snapshot(header, encoded)


def _encode_snapshot(header: dict[str, Any], encoded: EncodedObjects) -> Iterator[bytes]:
    runs = encoded.runs
    entries = []
    body_bytes = 0
    for run in runs:
        lengths = list(map(len, run.data))
        checksums: list[int] = []
        # A few hundred at a time: back to the interpreter (and its lock switches) in between.
        for start in range(0, len(run.data), _OBJECTS_PER_PIECE):
            checksums.extend(map(zlib.crc32, run.data[start:start + _OBJECTS_PER_PIECE]))
        entries.append([run.namespace, run.names, run.versions, lengths, checksums])
        body_bytes += sum(lengths) + len(lengths)
    keys = orjson.dumps(entries) + NEWLINE
    header["objectCount"] = len(encoded)
    header["keyBytes"] = len(keys)
    header["keyCrc32"] = zlib.crc32(keys)
    header["bodyBytes"] = body_bytes
    yield orjson.dumps(header) + NEWLINE
    yield keys
    for run in runs:
        data = run.data
        for start in range(0, len(data), _OBJECTS_PER_PIECE):
            piece = data[start:start + _OBJECTS_PER_PIECE]
            piece.append(b"")
            yield NEWLINE.join(piece)


def decode_checkpoint(scope: str, data: bytes) -> Checkpoint:
    """The checkpoint stored in `data` for `scope`; raises `CorruptCheckpoint` if unusable."""
    return read_checkpoint(
        scope, (data[start:start + READ_CHUNK_BYTES]
                for start in range(0, len(data), READ_CHUNK_BYTES)))


def read_checkpoint(scope: str, chunks: Iterable[bytes]) -> Checkpoint:
    """The checkpoint stored in the concatenation of `chunks` (`READ_CHUNK_BYTES` each, say).

    Raises `CorruptCheckpoint` if unusable; errors of the chunks' source (OSError) propagate.
    Every object is checked. A format 2 or 3 snapshot comes back encoded (nothing decoded), a
    format 1 one decoded.
    """
    reader = ChunkReader(iter(chunks))
    line = reader.line()
    if line is None:
        raise CorruptCheckpoint("no header line")
    header = read_header(scope, line)
    resource_version: str = header["resourceVersion"]
    count: int | None = header["objectCount"]
    if count is None:
        expect_end(reader.rest())
        return Checkpoint(resource_version, None)
    if header["format"] == 1:
        return Checkpoint(resource_version, decode_objects_v1(reader.rest(), 0, count))
    if header["format"] == 2:
        return read_body_v2(header, reader, count)
    keys = reader.line()
    if keys is None:
        raise CorruptCheckpoint("no key line")
    index = read_index(header, len(line) + 1, keys + NEWLINE)
    parts = reader.lines(index.body_bytes)
    if len(parts) != count:
        raise CorruptCheckpoint(f"the body holds {len(parts)} objects, not {count}")
    expect_end(reader.rest())
    position = 0
    for run in index.runs:
        for data in parts[position:position + len(run.names)]:
            check_record(index, position, data)
            position += 1
        run.data.extend(parts[position - len(run.names):position])
    return Checkpoint(resource_version, encoded=EncodedObjects(index.runs),
                      transform=header.get("transform"))


def check_record(index: SnapshotIndex, position: int, data: bytes) -> None:
    """Raise `CorruptCheckpoint` unless `data` is object `position` of the snapshot, intact."""
    if len(data) != index.lengths[position]:
        raise CorruptCheckpoint(f"object {position} holds {len(data)} bytes, not "
                                f"{index.lengths[position]} (cut off or damaged)")
    if zlib.crc32(data) != index.checksums[position]:
        raise CorruptCheckpoint(f"object {position} does not match its checksum (damaged)")


def read_index(header: dict[str, Any], header_bytes: int, keys: bytes) -> SnapshotIndex:
    """The checked key line `keys` (newline included) of a format 3 snapshot with `header`.

    `header_bytes` is the header line's length, newline included.
    """
    count = header["objectCount"]
    key_bytes, key_checksum, body_bytes = (
        _length(header, "keyBytes"), _length(header, "keyCrc32"), _length(header, "bodyBytes"))
    if len(keys) != key_bytes:
        raise CorruptCheckpoint(f"the key line holds {len(keys)} bytes, not {key_bytes}")
    if zlib.crc32(keys) != key_checksum:
        raise CorruptCheckpoint("the key line does not match its checksum (damaged)")
    try:
        items: Any = orjson.loads(keys)
    except orjson.JSONDecodeError as error:
        raise CorruptCheckpoint(f"key line is not valid JSON ({error})") from None
    if not isinstance(items, list):
        raise CorruptCheckpoint("key line is not a list")
    runs: list[EncodedRun] = []
    lengths: list[int] = []
    checksums: list[int] = []
    # The entries' contents are not checked one by one: the checksum covers them, and only
    # the encoder above writes them (always strings and integers).
    for item in items:
        if not (isinstance(item, list) and len(item) == 5 and isinstance(item[0], str)
                and all(isinstance(part, list) and len(part) == len(item[1])
                        for part in item[1:])):
            raise CorruptCheckpoint(
                "key line entry is not [namespace, names, versions, lengths, checksums]")
        runs.append(EncodedRun(item[0], item[1], item[2], []))
        lengths.extend(item[3])
        checksums.extend(item[4])
    if len(lengths) != count:
        raise CorruptCheckpoint(f"key line names {len(lengths)} objects, not {count}")
    if sum(lengths) + count != body_bytes:
        raise CorruptCheckpoint(f"bodyBytes {body_bytes} does not match the key line")
    return SnapshotIndex(runs, lengths, checksums, header_bytes + key_bytes, body_bytes)


def _length(header: dict[str, Any], field: str) -> int:
    value = header.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CorruptCheckpoint(f"{field} {value!r} is not a length")
    return value


def read_header(scope: str, line: bytes) -> dict[str, Any]:
    """The checked header line of a checkpoint stored for `scope`."""
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
    transform = header.get("transform")
    if count is not None and transform is not None and not isinstance(transform, str):
        raise CorruptCheckpoint(f"transform {transform!r} is not a name")
    return header

"""Reading format 2 checkpoints: a header, a key line, the body, and one CRC-32 trailer.

```
{"format":2,"scope":"configmaps.v1_all_…","resourceVersion":"4711","objectCount":3,…}
[["default",["a","b"],["4700","4702"]],["kube-system",["c"],["4711"]]]
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a",…},…}
…
{"crc32":1234567890}
```
The key line gives runs of consecutive objects of one namespace with their names and
resourceVersions; the body one compact JSON object per line, in key-line order; the trailer the
CRC-32 of the key line and the body (newlines included); `bodyBytes` in the header is the body's
length. Releases before format 3 wrote these; they still load (whole, checked at load), and the
next save rewrites them in format 3.
"""

from __future__ import annotations

from typing import Any

import orjson

from .checkpoint import Checkpoint
from .checkpoint_codec_v1 import CorruptCheckpoint
from .checkpoint_lines import ChunkReader, expect_end
from .encoding import EncodedObjects, EncodedRun


def read_body_v2(header: dict[str, Any], reader: ChunkReader, count: int) -> Checkpoint:
    """The rest of a format 2 snapshot whose (checked) header and object count are given."""
    transform = header.get("transform")
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
    expect_end(reader.rest())
    position = 0
    for run in runs:
        run.data.extend(parts[position:position + len(run.names)])
        position += len(run.names)
    return Checkpoint(header["resourceVersion"], encoded=EncodedObjects(runs),
                      transform=transform)


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
    # the encoder wrote them (always strings).
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

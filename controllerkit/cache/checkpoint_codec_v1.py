"""Reading format 1 checkpoints: a header line, then one decoded-on-load object per line.

```
{"format":1,"scope":"configmaps.v1_all_…","resourceVersion":"4711","objectCount":2}
{"apiVersion":"v1","kind":"ConfigMap","metadata":{…},…}
{"apiVersion":"v1","kind":"ConfigMap","metadata":{…},…}
```
Releases before format 2 wrote these; they still warm-start a cache. Every object is decoded
(that is how its key is found), so a snapshot in this format loads as decoded objects, and
the next save rewrites it in format 2.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..meta import JSONObject
from .gc_pause import paused_gc

_NEWLINE = b"\n"


class CorruptCheckpoint(ValueError):
    """Stored bytes that are not a checkpoint this version can read; the message says why."""


def decode_objects_v1(data: bytes, start: int, count: int) -> list[JSONObject]:
    """The `count` objects of a format 1 body that begins at `start` and ends `data`."""
    view = memoryview(data)
    objects: list[Any] = []
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
    if start != len(data):
        raise CorruptCheckpoint(f"{len(data) - start} unexpected bytes after the last object")
    return objects

"""`LazySnapshot`: a format 3 checkpoint file read one object, or one span, at a time.

A lazy warm restart reads only a checkpoint's header and key line, and fills a compact cache
with the keys; each object's bytes stay in the file until a read needs them or the background
load reaches them. This module holds the open file and reads from it:

- It keeps a descriptor of the file as it was opened. Saves never write into a checkpoint file:
  they rename a new file over it, so the file behind the descriptor never changes while it is
  held (its data stays readable even after the rename).
- It reads with `os.pread`, never through a memory mapping: a file someone truncated anyway
  gives a short read, reported as `CorruptCheckpoint`, where a mapping would kill the process
  with SIGBUS.
- Every object read is checked against its length and CRC-32 from the (checked) key line
  before it is handed out, so damage is reported, never served.
- The descriptor is closed by `close()`, by `read_all()`, or at the latest when the snapshot is
  garbage collected.
"""

from __future__ import annotations

import os
import weakref
from bisect import bisect_right
from itertools import accumulate
from pathlib import Path
from typing import Protocol, runtime_checkable

from .checkpoint import Checkpoint
from .checkpoint_codec import (
    READ_CHUNK_BYTES,
    CorruptCheckpoint,
    SnapshotIndex,
    check_record,
    read_header,
    read_index,
)
from .checkpoint_lines import NEWLINE
from .encoding import EncodedObjects, EncodedRun

# A header line is a few hundred bytes; anything this long without a newline is not one.
_MAX_HEADER_BYTES = 1 << 16


class LazySnapshot:
    """The objects of one format 3 checkpoint file, read on demand.

    Guarantees: `read` and `read_span` return only bytes that match the key line's lengths
    and checksums; anything else (damage, a short read, an I/O error) raises
    `CorruptCheckpoint`. Not thread-safe: one caller at a time (the event loop, or one worker
    thread for `read_all`).
    """

    def __init__(self, descriptor: int, path: Path, header: dict[str, object],
                 index: SnapshotIndex) -> None:
        self._descriptor = descriptor
        self._closer = weakref.finalize(self, os.close, descriptor)
        self.path = path
        self.resource_version = str(header["resourceVersion"])
        transform = header.get("transform")
        self.transform = transform if isinstance(transform, str) else None
        self.index = index
        # Where each object starts; the last entry is where the body ends.
        self._offsets = list(accumulate((length + 1 for length in index.lengths),
                                        initial=index.body_start))

    def __len__(self) -> int:
        return len(self.index.lengths)

    @property
    def runs(self) -> list[EncodedRun]:
        """The key line's runs: namespace, names and versions (their `data` lists are empty)."""
        return self.index.runs

    @property
    def closed(self) -> bool:
        return not self._closer.alive

    def close(self) -> None:
        """Close the file; safe to call more than once."""
        self._closer()

    def span_end(self, first: int, max_bytes: int) -> int:
        """The end of the span of objects from `first` that fits in `max_bytes` (at least one)."""
        offsets = self._offsets
        # The last object boundary within `max_bytes` of the first object's start.
        last = bisect_right(offsets, offsets[first] + max_bytes, first + 1) - 1
        return max(first + 1, min(last, len(offsets) - 1))

    def read(self, position: int) -> bytes:
        """Object `position`'s bytes, checked."""
        start = self._offsets[position]
        data = self._pread(start, self.index.lengths[position])
        self.check(position, data)
        return data

    def read_span(self, first: int, last: int) -> list[bytes]:
        """Objects `first` to `last - 1`, in one read; unchecked: see `check`."""
        offsets = self._offsets
        start = offsets[first]
        chunk = self._pread(start, offsets[last] - start)
        return [chunk[offsets[i] - start:offsets[i + 1] - start - 1] for i in range(first, last)]

    def check(self, position: int, data: bytes) -> None:
        """Raise `CorruptCheckpoint` unless `data` is object `position`, intact."""
        try:
            check_record(self.index, position, data)
        except CorruptCheckpoint as error:
            raise CorruptCheckpoint(f"{self.path}: {error}") from None

    def read_all(self) -> EncodedObjects:
        """Every object, checked, a megabyte at a time; closes the file. For a worker thread."""
        try:
            runs = [EncodedRun(run.namespace, run.names, run.versions, []) for run in self.runs]
            data: list[bytes] = []
            position = 0
            while position < len(self):
                last = self.span_end(position, READ_CHUNK_BYTES)
                for offset, part in enumerate(self.read_span(position, last)):
                    self.check(position + offset, part)
                    data.append(part)
                position = last
            position = 0
            for run in runs:
                run.data.extend(data[position:position + len(run.names)])
                position += len(run.names)
            return EncodedObjects(runs)
        finally:
            self.close()

    def _pread(self, offset: int, length: int) -> bytes:
        if self.closed:
            raise CorruptCheckpoint(f"{self.path}: read after the snapshot was closed")
        try:
            data = os.pread(self._descriptor, length, offset)
        except OSError as error:
            raise CorruptCheckpoint(f"{self.path}: reading failed ({error})") from error
        if len(data) != length:
            raise CorruptCheckpoint(
                f"{self.path}: cut off: {len(data)} of {length} bytes at offset {offset} "
                "(the file was truncated)")
        return data


def open_lazy(scope: str, path: Path) -> LazySnapshot | None:
    """`path`'s snapshot for `scope` with only its header and key line read; blocking.

    None when the file holds no format 3 snapshot (another format, or only a resourceVersion):
    the caller reads it whole instead. Raises FileNotFoundError, OSError, `CorruptCheckpoint`.
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    kept = False
    try:
        head = os.pread(descriptor, _MAX_HEADER_BYTES, 0)
        end = head.find(NEWLINE)
        if end < 0:
            # Not a format 3 header: the whole-file reader finds and reports what is wrong.
            return None
        header = read_header(scope, head[:end])
        if header["format"] != 3 or header["objectCount"] is None:
            return None
        key_bytes = header.get("keyBytes")
        keys = os.pread(descriptor, key_bytes, end + 1) if isinstance(key_bytes, int) \
            and key_bytes > 0 else b""
        index = read_index(header, end + 1, keys)
        size = os.fstat(descriptor).st_size
        if size < index.end:
            raise CorruptCheckpoint(f"cut off: {size} of {index.end} bytes")
        if size > index.end:
            raise CorruptCheckpoint(f"{size - index.end} unexpected bytes after the last object")
        snapshot = LazySnapshot(descriptor, path, header, index)
        kept = True
        return snapshot
    finally:
        if not kept:
            os.close(descriptor)


@runtime_checkable
class LazyLoading(Protocol):
    """A `CheckpointStore` that can also hand out a snapshot still in its file."""

    async def load_lazy(self, scope: str) -> Checkpoint | None:
        """`load`, except that a format 3 snapshot comes back as `Checkpoint.lazy`: only its
        header and key line read and checked, its objects checked as they are read."""
        ...

"""`FileCheckpointStore`: one JSON file per scope, replaced atomically.

A save writes `<scope>.json` through a temporary file in the same directory: write, fsync the
file, rename over the old one, fsync the directory. The rename is atomic, so a reader (or a
restart after a crash at any point) finds the previous checkpoint or the new one, whole; the two
fsyncs make the new one survive a power loss once `save` returns.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from .checkpoint import Checkpoint
from .checkpoint_codec import (
    READ_CHUNK_BYTES,
    CorruptCheckpoint,
    encode_checkpoint,
    read_checkpoint,
)
from .lazy_snapshot import LazySnapshot, open_lazy

log = logging.getLogger("controllerkit.cache.checkpoint")

_SAFE_SCOPE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")
_SUFFIX = ".json"
_TEMP_SUFFIX = ".tmp"

T = TypeVar("T")


class _ReadWhole:
    """The file holds no lazily readable snapshot: read it whole."""


READ_WHOLE = _ReadWhole()


class FileCheckpointStore:
    """Checkpoints as files `<directory>/<scope>.json`; the directory is created on first save.

    Guarantees (on a POSIX file system): a save is atomic and durable once it returns; a file
    that is missing is no checkpoint; a file that cannot be read or decoded is logged as a
    warning and treated as no checkpoint (the next save replaces it). All disk I/O and
    (de)serialisation run on worker threads. Scopes must be file-name safe (letters, digits,
    `.`, `_`, `-`; `checkpoint_scope` returns such names); anything else raises ValueError.
    One process should own a directory: a temporary file left by a crash is removed by the next
    `load` of its scope.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self._directory = Path(directory)
        # Temporaries of saves still running in this process: a concurrent load must not take
        # them for a crash's leftovers.
        self._in_flight: set[str] = set()
        self._in_flight_lock = threading.Lock()

    @property
    def directory(self) -> Path:
        return self._directory

    def path(self, scope: str) -> Path:
        """Where `scope`'s checkpoint lives."""
        if not _SAFE_SCOPE.fullmatch(scope):
            raise ValueError(f"checkpoint scope {scope!r} is not a safe file name")
        return self._directory / f"{scope}{_SUFFIX}"

    async def load(self, scope: str) -> Checkpoint | None:
        path = self.path(scope)
        return await asyncio.to_thread(self._read, scope, path)

    async def load_lazy(self, scope: str) -> Checkpoint | None:
        """`load`, but a format 3 snapshot stays in its file (`Checkpoint.lazy`).

        Only the header and the key line are read and checked now; the body's length is checked
        against the file's size. Each object is checked against its own checksum when it is
        read. The checkpoint holds the file open until its snapshot is read whole or closed.
        """
        path = self.path(scope)
        return await asyncio.to_thread(self._open, scope, path)

    async def save(self, scope: str, checkpoint: Checkpoint) -> None:
        path = self.path(scope)
        await asyncio.to_thread(self._write, scope, path, checkpoint)

    async def aclose(self) -> None:
        # Nothing stays open between calls.
        return None

    def _read(self, scope: str, path: Path) -> Checkpoint | None:
        def read() -> Checkpoint | None:
            # Unbuffered: each read lands in a new chunk directly, a megabyte at a time.
            with path.open("rb", buffering=0) as file:
                return read_checkpoint(scope, iter(partial(file.read, READ_CHUNK_BYTES), b""))

        return self._cold_start_on_failure(path, read)

    def _open(self, scope: str, path: Path) -> Checkpoint | None:
        def open_or_read_whole() -> LazySnapshot | _ReadWhole:
            snapshot = open_lazy(scope, path)
            return READ_WHOLE if snapshot is None else snapshot

        snapshot: LazySnapshot | _ReadWhole | None = self._cold_start_on_failure(
            path, open_or_read_whole)
        if snapshot is None:
            return None
        if isinstance(snapshot, _ReadWhole):  # an older format, or only a resourceVersion
            return self._read(scope, path)
        return Checkpoint(snapshot.resource_version, lazy=snapshot, transform=snapshot.transform)

    def _cold_start_on_failure(self, path: Path, load: Callable[[], T]) -> T | None:
        """`load()`, or None (a cold start follows) when the file is missing, unreadable or
        corrupt; leftovers of unfinished saves are removed first."""
        self._remove_leftover_temporaries(path)
        try:
            return load()
        except FileNotFoundError:
            return None
        except OSError as error:
            log.warning("ignoring unreadable checkpoint %s (a cold start follows): %s", path, error)
            return None
        except CorruptCheckpoint as error:
            log.warning("ignoring corrupt checkpoint %s (a cold start follows): %s", path, error)
            return None

    def _write(self, scope: str, path: Path, checkpoint: Checkpoint) -> None:
        pieces = encode_checkpoint(scope, checkpoint)
        self._directory.mkdir(parents=True, exist_ok=True)
        # Created and registered under the lock: a load scanning for leftovers in between
        # would otherwise delete the file this save is writing.
        with self._in_flight_lock:
            descriptor, temporary = tempfile.mkstemp(
                dir=self._directory, prefix=f".{path.name}.", suffix=_TEMP_SUFFIX
            )
            self._in_flight.add(temporary)
        try:
            with os.fdopen(descriptor, "wb") as file:
                for piece in pieces:
                    file.write(piece)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            # The old checkpoint is untouched; only the partial new one goes.
            Path(temporary).unlink(missing_ok=True)
            raise
        finally:
            with self._in_flight_lock:
                self._in_flight.discard(temporary)
        self._fsync_directory()

    def _fsync_directory(self) -> None:
        # Makes the rename itself durable; without it a power loss can bring the old file back.
        if os.name != "posix":
            return
        descriptor = os.open(self._directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def _remove_leftover_temporaries(self, path: Path) -> None:
        with self._in_flight_lock:
            try:
                # Safe scopes hold no glob metacharacters, so the name needs no escaping.
                found = list(self._directory.glob(f".{path.name}.*{_TEMP_SUFFIX}"))
            except OSError:
                return
            leftovers = [p for p in found if str(p) not in self._in_flight]
        for leftover in leftovers:
            log.info("removing %s, left by a save that did not finish", leftover)
            leftover.unlink(missing_ok=True)


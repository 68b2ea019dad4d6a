"""`SQLiteCheckpointStore`: all scopes' checkpoints as rows of one SQLite database.

One row per scope, replaced in one transaction, so a crash at any point leaves the previous
row or the new one. The database runs in WAL mode with `synchronous=FULL`: a save is durable
against power loss once it returns, like the file store's fsyncs (saves are batched, so the
extra fsync per commit is cheap). One worker thread owns the connection; every call runs there.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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

log = logging.getLogger("controllerkit.cache.checkpoint")

# The table layout, in PRAGMA user_version. A database from a newer layout is refused, not
# rewritten: it belongs to a newer release that may still be in use.
SCHEMA_VERSION = 1

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS checkpoints (
    scope            TEXT PRIMARY KEY,
    resource_version TEXT NOT NULL,
    object_count     INTEGER,
    body             BLOB NOT NULL
)
"""
_UPSERT = (
    "INSERT OR REPLACE INTO checkpoints (scope, resource_version, object_count, body) "
    "VALUES (?, ?, ?, ?)"
)
_HAS_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'"
_SELECT_ROWID = "SELECT rowid FROM checkpoints WHERE scope = ?"
# Error codes meaning the file itself is damaged (as opposed to busy or locked).
_DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}

_T = TypeVar("_T")


class CheckpointDatabaseError(RuntimeError):
    """The checkpoint database cannot be used (from a newer layout, or closed)."""


class SQLiteCheckpointStore:
    """Checkpoints as rows of the SQLite database at `path` (created, with its directory).

    Guarantees: a save is atomic and durable once it returns; `load` logs a warning and returns
    None for a row it cannot decode or a database it cannot read. A database file that SQLite
    reports as damaged is moved aside to `<path>.corrupt` (with a warning) and replaced by an
    empty one, so one bad file costs a cold start, not a controller that can never checkpoint.
    Several processes may share the file (SQLite locks it); each scope should have one writer.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint-sqlite")
        # Touched only on the executor's thread.
        self._connection: sqlite3.Connection | None = None
        self._closed = False

    @property
    def path(self) -> Path:
        return self._path

    async def load(self, scope: str) -> Checkpoint | None:
        return await self._on_worker(lambda: self._read(scope))

    async def save(self, scope: str, checkpoint: Checkpoint) -> None:
        await self._on_worker(lambda: self._write(scope, checkpoint))

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)
        finally:
            # The worker is idle now, so this returns at once.
            self._executor.shutdown(wait=False)

    async def _on_worker(self, call: Callable[[], _T]) -> _T:
        if self._closed:
            raise CheckpointDatabaseError(f"checkpoint database {self._path} is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _read(self, scope: str) -> Checkpoint | None:
        try:
            connection = self._connect()
            # One read transaction: the row's blob is read in pieces from one snapshot, even
            # while another process replaces it (WAL readers never see a half-written row).
            connection.execute("BEGIN")
            try:
                return self._read_row(connection, scope)
            finally:
                connection.rollback()
        except (sqlite3.Error, CheckpointDatabaseError) as error:
            if _is_damage(error):
                self._quarantine(error)
            log.warning("ignoring checkpoint database %s for scope %s (a cold start follows): %s",
                        self._path, scope, error)
            return None

    def _read_row(self, connection: sqlite3.Connection, scope: str) -> Checkpoint | None:
        row = connection.execute(_SELECT_ROWID, (scope,)).fetchone()
        if row is None:
            return None
        try:
            # A megabyte at a time: the body is never held whole beside the objects made of it.
            with connection.blobopen("checkpoints", "body", row[0], readonly=True) as blob:
                return read_checkpoint(scope, iter(partial(blob.read, READ_CHUNK_BYTES), b""))
        except CorruptCheckpoint as error:
            log.warning("ignoring corrupt checkpoint for scope %s in %s (a cold start follows): %s",
                        scope, self._path, error)
            return None

    def _write(self, scope: str, checkpoint: Checkpoint) -> None:
        body = b"".join(encode_checkpoint(scope, checkpoint))
        count = checkpoint.object_count
        row = (scope, checkpoint.resource_version, count, body)
        try:
            with self._connect() as connection:
                connection.execute(_UPSERT, row)
        except sqlite3.Error as error:
            if not _is_damage(error):
                raise
            self._quarantine(error)
            with self._connect() as connection:
                connection.execute(_UPSERT, row)

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        self._path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self._path, timeout=10.0)
        try:
            # WAL lets a reader (another process, an operator's sqlite3 shell) look while we write.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise CheckpointDatabaseError(
                    f"checkpoint database {self._path} has layout {version}, newer than "
                    f"{SCHEMA_VERSION}: written by a newer release"
                )
            has_table = connection.execute(_HAS_TABLE).fetchone() is not None
            if version < SCHEMA_VERSION or not has_table:
                # Only a new database needs its table: a restart then opens without writing.
                with connection:
                    connection.execute(_CREATE_TABLE)
                    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _quarantine(self, error: BaseException) -> None:
        self._disconnect()
        aside = self._path.with_name(self._path.name + ".corrupt")
        log.warning("checkpoint database %s is damaged (%s); moved to %s, starting empty",
                    self._path, error, aside)
        try:
            for suffix in ("", "-wal", "-shm"):
                source = self._path.with_name(self._path.name + suffix)
                if source.exists():
                    os.replace(source, aside.with_name(aside.name + suffix))
        except OSError as move_error:
            # Reported, not raised: the caller's own error path (cold start, retried save) runs.
            log.warning("could not move damaged checkpoint database %s aside: %s",
                        self._path, move_error)


def _is_damage(error: BaseException) -> bool:
    return isinstance(error, sqlite3.DatabaseError) and getattr(
        error, "sqlite_errorcode", None) in _DAMAGED

"""Durable storage behind the in-memory store (`--data-dir`).

The in-memory store stays the source of truth while the server runs; a `Persistence` only
records every accepted write so that a restart can rebuild the store exactly as it was: every
object, and the global resourceVersion counter (so resourceVersions never go backwards across
a restart, which would confuse clients resuming a watch).

`SQLitePersistence` keeps one row per object in `<data_dir>/store.sqlite3`;
`MemoryPersistence` records nothing, for the default in-memory mode.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from controllerkit.apiserver.resources import GroupResource, JSONObject

DATABASE_FILE_NAME = "store.sqlite3"

# Bumped when the table layout changes; a store written by a newer layout is refused rather
# than misread.
SCHEMA_VERSION = 1

StoredObject = tuple[GroupResource, JSONObject]
# (group-resource, namespace, name); namespace is "" for cluster-scoped objects.
DeletedKey = tuple[GroupResource, str, str]


class Persistence(Protocol):
    """Where the store records accepted writes, and reads them back at start-up."""

    def load(self) -> tuple[int, list[StoredObject]]:
        """The last committed resourceVersion (0 when nothing was ever committed) and every
        stored object with its group-resource."""
        ...

    def commit(
        self,
        resource_version: int,
        puts: Sequence[StoredObject],
        deletes: Sequence[DeletedKey],
    ) -> None:
        """Record one accepted write atomically: objects created or replaced, objects removed,
        and `resource_version` as the new last committed resourceVersion. Deletes are applied
        after puts. Durable once this returns."""
        ...

    def close(self) -> None:
        """Release the storage; safe to call more than once."""
        ...


class PersistenceError(RuntimeError):
    """The data directory cannot be used (held by another server, or from a newer layout)."""


class MemoryPersistence:
    """Records nothing: the default mode, where a restart starts from an empty store."""

    def load(self) -> tuple[int, list[StoredObject]]:
        return 0, []

    def commit(
        self,
        resource_version: int,
        puts: Sequence[StoredObject],
        deletes: Sequence[DeletedKey],
    ) -> None:
        return None

    def close(self) -> None:
        return None


_CREATE_OBJECTS = """
CREATE TABLE IF NOT EXISTS objects (
    api_group TEXT NOT NULL,
    resource  TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (api_group, resource, namespace, name)
) WITHOUT ROWID
"""
_CREATE_PROGRESS = """
CREATE TABLE IF NOT EXISTS progress (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    resource_version INTEGER NOT NULL
)
"""
_SEED_PROGRESS = "INSERT OR IGNORE INTO progress (id, resource_version) VALUES (1, 0)"
_UPSERT_OBJECT = (
    "INSERT OR REPLACE INTO objects (api_group, resource, namespace, name, body) "
    "VALUES (?, ?, ?, ?, ?)"
)
_DELETE_OBJECT = (
    "DELETE FROM objects WHERE api_group = ? AND resource = ? AND namespace = ? AND name = ?"
)
_RECORD_RESOURCE_VERSION = "UPDATE progress SET resource_version = ? WHERE id = 1"
_SELECT_RESOURCE_VERSION = "SELECT resource_version FROM progress WHERE id = 1"
_SELECT_OBJECTS = (
    "SELECT api_group, resource, body FROM objects ORDER BY api_group, resource, namespace, name"
)


class SQLitePersistence:
    """Every accepted write committed to `<data_dir>/store.sqlite3` before it is acknowledged.

    Durability: the database runs in WAL mode with `synchronous=NORMAL`. SQLite documents that
    transactions are durable across application crashes whatever the synchronous setting: a
    commit has reached the WAL file through write() (so it lives in the operating system's page
    cache, not in this process) before `commit` returns, and the next open replays the WAL.
    Killing the server with SIGKILL therefore loses nothing it committed. What NORMAL gives up
    against FULL is the fsync of the WAL on every commit: after an operating-system crash or
    power loss the most recent transactions may roll back, but the database is never corrupt
    and always holds a consistent prefix of the writes (the WAL is fsynced at checkpoints).
    That trade keeps `commit` cheap enough to call synchronously for every write.

    The connection holds an exclusive lock on the database for as long as it is open, so a
    second server pointed at the same data directory fails at `open` instead of interleaving
    writes. Not thread-safe: use it from one thread at a time (normally the event loop).
    """

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        """Use `SQLitePersistence.open`; this wraps an already prepared connection."""
        self._connection: sqlite3.Connection | None = connection
        self.path = path

    @classmethod
    def open(cls, data_dir: Path) -> SQLitePersistence:
        """Open (creating the directory, database and tables if needed) the store in `data_dir`.

        Raises `PersistenceError` when another process has the store open, or when it was
        written by a newer schema version.
        """
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / DATABASE_FILE_NAME
        # isolation_level=None: transactions are spelled out in `commit`, so the module never
        # opens one implicitly. timeout=0: a locked database means another server owns it, and
        # waiting would only delay the error.
        connection = sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)
        try:
            _prepare(connection, path)
        except BaseException:
            connection.close()
            raise
        return cls(connection, path)

    def load(self) -> tuple[int, list[StoredObject]]:
        connection = self._open_connection()
        row = connection.execute(_SELECT_RESOURCE_VERSION).fetchone()
        resource_version = int(row[0]) if row else 0
        objects: list[StoredObject] = [
            (GroupResource(group, plural), json.loads(body))
            for group, plural, body in connection.execute(_SELECT_OBJECTS)
        ]
        return resource_version, objects

    def commit(
        self,
        resource_version: int,
        puts: Sequence[StoredObject],
        deletes: Sequence[DeletedKey],
    ) -> None:
        connection = self._open_connection()
        # Encode before the transaction starts so a bad object cannot leave one half-applied.
        put_rows = [_object_row(gr, obj) for gr, obj in puts]
        delete_rows = [(gr.group, gr.plural, namespace, name) for gr, namespace, name in deletes]
        connection.execute("BEGIN IMMEDIATE")
        try:
            if put_rows:
                connection.executemany(_UPSERT_OBJECT, put_rows)
            if delete_rows:
                connection.executemany(_DELETE_OBJECT, delete_rows)
            connection.execute(_RECORD_RESOURCE_VERSION, (resource_version,))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _open_connection(self) -> sqlite3.Connection:
        if self._connection is None:
            raise PersistenceError(f"{self.path} is closed")
        return self._connection


def _prepare(connection: sqlite3.Connection, path: Path) -> None:
    """Lock the database for this process, select WAL/NORMAL and create or check the schema."""
    # EXCLUSIVE before the first access: the lock taken by the first write below is then kept
    # until close, and WAL needs no shared-memory index since no other process may read.
    connection.execute("PRAGMA locking_mode = EXCLUSIVE")
    try:
        journal_mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(journal_mode).lower() != "wal":
            raise PersistenceError(f"{path}: SQLite refused WAL mode (got {journal_mode!r})")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("BEGIN EXCLUSIVE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise PersistenceError(
                f"{path} is already open elsewhere; one data directory serves one server"
            ) from exc
        raise
    try:
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise PersistenceError(
                f"{path} was written with storage schema version {version}; this version "
                f"reads up to {SCHEMA_VERSION}"
            )
        connection.execute(_CREATE_OBJECTS)
        connection.execute(_CREATE_PROGRESS)
        connection.execute(_SEED_PROGRESS)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _object_row(gr: GroupResource, obj: JSONObject) -> tuple[str, str, str, str, str]:
    metadata = obj.get("metadata") or {}
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"cannot store a {gr} object without metadata.name")
    namespace = metadata.get("namespace") or ""
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return gr.group, gr.plural, namespace, name, body

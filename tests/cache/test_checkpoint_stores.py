"""Both checkpoint stores: round trips, atomic replacement, corrupt data, independent scopes."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from controllerkit.cache.checkpoint import Checkpoint, CheckpointStore
from controllerkit.cache.checkpoint_codec import (
    CorruptCheckpoint,
    decode_checkpoint,
    encode_checkpoint,
    read_checkpoint,
)
from controllerkit.cache.checkpoint_file import FileCheckpointStore
from controllerkit.cache.checkpoint_sqlite import CheckpointDatabaseError, SQLiteCheckpointStore
from controllerkit.cache.encoding import EncodedObjects
from controllerkit.meta import JSONObject

SCOPE = "configmaps.v1_all_0123456789abcdef0123456789abcdef"
OTHER_SCOPE = "secrets.v1_ns-default_0123456789abcdef0123456789abcdef"


def config_map(index: int, generation: int = 1) -> JSONObject:
    """A ConfigMap of about 1 KB, as the API server returns it."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"cm-{index:05d}",
            "namespace": f"ns-{index % 7}",
            "uid": f"00000000-0000-0000-0000-{index:012d}",
            "resourceVersion": str(1000 + index),
            "labels": {"app": "demo", "generation": str(generation)},
            "annotations": {"note": "ü∂ unicode survives"},
        },
        "data": {"payload": "x" * 800, "index": str(index), "generation": str(generation)},
    }


def snapshot(count: int, generation: int = 1) -> list[JSONObject]:
    return [config_map(index, generation) for index in range(count)]


def file_names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


StoreFactory = Callable[[Path], CheckpointStore]
STORE_FACTORIES: dict[str, StoreFactory] = {
    "file": lambda root: FileCheckpointStore(root / "checkpoints"),
    "sqlite": lambda root: SQLiteCheckpointStore(root / "checkpoints" / "checkpoints.sqlite3"),
}


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store(store_kind: str, tmp_path: Path) -> AsyncIterator[CheckpointStore]:
    opened = STORE_FACTORIES[store_kind](tmp_path)
    yield opened
    await opened.aclose()


async def test_a_scope_never_saved_loads_as_none(store: CheckpointStore) -> None:
    assert await store.load(SCOPE) is None


async def test_resource_version_only_checkpoint_round_trips(store: CheckpointStore) -> None:
    await store.save(SCOPE, Checkpoint("4711", None))

    assert await store.load(SCOPE) == Checkpoint("4711", None)


async def test_snapshot_of_thousands_of_objects_round_trips(store: CheckpointStore) -> None:
    objects = snapshot(5000)
    await store.save(SCOPE, Checkpoint("99999", objects))

    loaded = await store.load(SCOPE)

    assert loaded is not None
    assert loaded.resource_version == "99999"
    assert loaded.objects == objects


async def test_empty_snapshot_round_trips_as_empty_not_absent(store: CheckpointStore) -> None:
    await store.save(SCOPE, Checkpoint("12", []))

    assert await store.load(SCOPE) == Checkpoint("12", [])


async def test_a_save_replaces_the_previous_checkpoint(store: CheckpointStore) -> None:
    await store.save(SCOPE, Checkpoint("10", snapshot(30, generation=1)))
    await store.save(SCOPE, Checkpoint("20", snapshot(3, generation=2)))

    assert await store.load(SCOPE) == Checkpoint("20", snapshot(3, generation=2))


async def test_a_checkpoint_without_resource_version_is_refused(store: CheckpointStore) -> None:
    with pytest.raises(ValueError, match="empty resourceVersion"):
        await store.save(SCOPE, Checkpoint("", []))
    assert await store.load(SCOPE) is None


async def test_concurrent_saves_of_different_scopes_do_not_interfere(
    store: CheckpointStore,
) -> None:
    scopes = [f"widgets.example.com.v1_ns-team-{team}_{team:032x}" for team in range(12)]

    async def save_rounds(team: int, scope: str) -> None:
        for generation in range(1, 4):
            objects = [config_map(team * 100 + index, generation) for index in range(20)]
            await store.save(scope, Checkpoint(f"{team}-{generation}", objects))

    await asyncio.gather(*(save_rounds(team, scope) for team, scope in enumerate(scopes)))

    for team, scope in enumerate(scopes):
        expected = [config_map(team * 100 + index, 3) for index in range(20)]
        assert await store.load(scope) == Checkpoint(f"{team}-3", expected)


async def test_the_data_survives_a_new_store_on_the_same_location(
    store_kind: str, tmp_path: Path
) -> None:
    first = STORE_FACTORIES[store_kind](tmp_path)
    await first.save(SCOPE, Checkpoint("77", snapshot(10)))
    await first.save(OTHER_SCOPE, Checkpoint("78", None))
    await first.aclose()

    second = STORE_FACTORIES[store_kind](tmp_path)
    try:
        assert await second.load(SCOPE) == Checkpoint("77", snapshot(10))
        assert await second.load(OTHER_SCOPE) == Checkpoint("78", None)
    finally:
        await second.aclose()


# --- a crash while saving leaves the previous checkpoint whole ----------------------------------

# Saves checkpoint "1", then dies by SIGKILL inside the save of checkpoint "2": for the file store
# after the new data is written but before the rename, for SQLite after the row is written but
# before the transaction commits. Only public hooks are used (os.fsync, sqlite3.connect).
_DYING_SAVER = textwrap.dedent("""
    import asyncio, os, signal, sqlite3, sys
    from controllerkit.cache.checkpoint import Checkpoint
    from controllerkit.cache.checkpoint_file import FileCheckpointStore
    from controllerkit.cache.checkpoint_sqlite import SQLiteCheckpointStore

    kind, location, scope = sys.argv[1:4]
    armed = False

    def die():
        print("dying mid-save", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    if kind == "file":
        store = FileCheckpointStore(location)
        real_fsync = os.fsync
        def fsync(descriptor):
            if armed:
                die()
            real_fsync(descriptor)
        os.fsync = fsync
    else:
        store = SQLiteCheckpointStore(location + "/checkpoints.sqlite3")
        real_connect = sqlite3.connect
        def connect(*args, **kwargs):
            connection = real_connect(*args, **kwargs)
            connection.set_trace_callback(
                lambda statement: die() if armed and statement == "COMMIT" else None)
            return connection
        sqlite3.connect = connect

    def objects(generation):
        # 3 MB: more than SQLite's page cache, so the row spills into the WAL before COMMIT.
        return [{"metadata": {"name": f"cm-{i}", "annotations": {"generation": str(generation)}},
                 "data": {"payload": "y" * 1000}} for i in range(3000)]

    async def main():
        global armed
        await store.save(scope, Checkpoint("1", objects(1)))
        armed = True
        await store.save(scope, Checkpoint("2", objects(2)))
        print("the second save finished", flush=True)

    asyncio.run(main())
""")


async def test_a_process_killed_mid_save_leaves_the_previous_checkpoint_whole(
    store_kind: str, tmp_path: Path
) -> None:
    location = tmp_path / "checkpoints"  # where both STORE_FACTORIES keep their data
    location.mkdir()
    saver = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", _DYING_SAVER, store_kind, str(location), SCOPE],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert saver.returncode == -signal.SIGKILL, saver.stderr
    assert saver.stdout == "dying mid-save\n"

    store = STORE_FACTORIES[store_kind](tmp_path)
    try:
        loaded = await store.load(SCOPE)
    finally:
        await store.aclose()
    assert loaded is not None and loaded.objects is not None
    assert loaded.resource_version == "1"
    assert len(loaded.objects) == 3000
    assert {obj["metadata"]["annotations"]["generation"] for obj in loaded.objects} == {"1"}


async def test_file_store_load_removes_what_an_interrupted_save_left(tmp_path: Path) -> None:
    directory = tmp_path / "checkpoints"
    directory.mkdir()
    await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", _DYING_SAVER, "file", str(directory), SCOPE],
        capture_output=True, timeout=60, check=False,
    )
    leftovers = [name for name in file_names(directory) if name.endswith(".tmp")]
    assert len(leftovers) == 1, "the interrupted save should have left its temporary file"

    assert await FileCheckpointStore(directory).load(SCOPE) is not None

    assert file_names(directory) == [f"{SCOPE}.json"]


async def test_file_store_failing_rename_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileCheckpointStore(tmp_path)
    await store.save(SCOPE, Checkpoint("1", snapshot(5)))

    def refuse_rename(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse_rename)
    with pytest.raises(OSError, match="No space left"):
        await store.save(SCOPE, Checkpoint("2", snapshot(5, generation=2)))
    monkeypatch.undo()

    assert await store.load(SCOPE) == Checkpoint("1", snapshot(5))
    assert file_names(tmp_path) == [f"{SCOPE}.json"]


# --- the stored format: format 3 keeps bytes; formats 1 and 2 still load -----------------------

def format_1(scope: str, resource_version: str, objects: list[JSONObject]) -> bytes:
    """A checkpoint as releases before format 2 wrote it: a header, then one object per line."""
    header = {"format": 1, "scope": scope, "resourceVersion": resource_version,
              "objectCount": len(objects)}
    return b"".join(orjson.dumps(item) + b"\n" for item in [header, *objects])


def format_2(scope: str, resource_version: str, objects: list[JSONObject]) -> bytes:
    """A checkpoint as releases before format 3 wrote it: header, key line, body, CRC-32."""
    encoded = EncodedObjects.of(objects)
    keys = orjson.dumps([[run.namespace, run.names, run.versions] for run in encoded.runs])
    body = b"".join(data + b"\n" for run in encoded.runs for data in run.data)
    header = {"format": 2, "scope": scope, "resourceVersion": resource_version,
              "objectCount": len(objects), "transform": None, "bodyBytes": len(body)}
    return (orjson.dumps(header) + b"\n" + keys + b"\n" + body
            + orjson.dumps({"crc32": zlib.crc32(body, zlib.crc32(keys + b"\n"))}) + b"\n")


async def write_raw(store_kind: str, store: CheckpointStore, tmp_path: Path,
                    data: bytes) -> None:
    """Put `data` where `store` keeps SCOPE's checkpoint, as an older release would have."""
    await store.save(SCOPE, Checkpoint("1", None))
    if store_kind == "file":
        assert isinstance(store, FileCheckpointStore)
        store.path(SCOPE).write_bytes(data)
        return
    assert isinstance(store, SQLiteCheckpointStore)
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE checkpoints SET body = ? WHERE scope = ?", (data, SCOPE))


async def test_a_format_1_checkpoint_still_loads(
    store_kind: str, store: CheckpointStore, tmp_path: Path
) -> None:
    objects = snapshot(20)
    await write_raw(store_kind, store, tmp_path, format_1(SCOPE, "55", objects))

    loaded = await store.load(SCOPE)

    assert loaded == Checkpoint("55", objects)
    assert loaded is not None and loaded.transform is None


async def test_a_format_2_checkpoint_still_loads(
    store_kind: str, store: CheckpointStore, tmp_path: Path
) -> None:
    objects = snapshot(20)
    await write_raw(store_kind, store, tmp_path, format_2(SCOPE, "56", objects))

    loaded = await store.load(SCOPE)

    assert loaded == Checkpoint("56", objects)
    assert loaded is not None and loaded.encoded is not None


async def test_an_encoded_snapshot_round_trips_as_the_same_bytes(store: CheckpointStore) -> None:
    objects = snapshot(40)
    encoded = EncodedObjects.of(objects)
    await store.save(SCOPE, Checkpoint("8", encoded=encoded, transform="some.transform@1"))

    loaded = await store.load(SCOPE)

    assert loaded is not None and loaded.encoded is not None
    assert loaded.transform == "some.transform@1"
    assert [(run.namespace, run.names, run.versions, run.data) for run in loaded.encoded.runs] \
        == [(run.namespace, run.names, run.versions, run.data) for run in encoded.runs]
    assert loaded.objects == objects
    assert loaded == Checkpoint("8", objects, transform="some.transform@1")


def test_a_checkpoint_converts_between_its_two_forms_on_first_use() -> None:
    objects = snapshot(3)
    decoded = Checkpoint("3", objects)
    assert decoded.object_count == 3 and decoded.has_objects
    assert decoded.encoded is not None and decoded.encoded.decoded() == objects
    encoded = Checkpoint("3", encoded=EncodedObjects.of(objects))
    assert encoded.objects == objects and encoded == decoded
    assert Checkpoint("3", None).object_count is None and not Checkpoint("3", None).has_objects
    assert Checkpoint("3", []) != Checkpoint("3", None)
    with pytest.raises(ValueError, match="not two"):
        Checkpoint("3", objects, encoded=EncodedObjects.of(objects))


def test_stored_bytes_decode_to_the_checkpoint_they_were_made_from() -> None:
    saved = Checkpoint("9", snapshot(1200), transform="")
    data = b"".join(encode_checkpoint(SCOPE, saved))
    assert data.startswith(b'{"format":3,')
    assert decode_checkpoint(SCOPE, data) == saved
    # Read in pieces of any size, the same checkpoint.
    pieces = [data[start:start + 4099] for start in range(0, len(data), 4099)]
    assert read_checkpoint(SCOPE, pieces) == saved


# --- corrupt or unreadable data is no checkpoint, with a warning ---------------------------------

def _replace_line(valid: bytes, index: int, line: bytes) -> bytes:
    lines = valid.split(b"\n")
    lines[index] = line
    return b"\n".join(lines)


def _without_object(valid: bytes, index: int) -> bytes:
    """Format 2 data with object `index` removed, its length and checksum made to match."""
    lines = valid.split(b"\n")
    header, keys, body = lines[0], lines[1], lines[2:-2]
    del body[index]
    joined = b"".join(line + b"\n" for line in body)
    header_fields = orjson.loads(header)
    header_fields["bodyBytes"] = len(joined)
    return (orjson.dumps(header_fields) + b"\n" + keys + b"\n" + joined
            + orjson.dumps({"crc32": zlib.crc32(joined, zlib.crc32(keys + b"\n"))}) + b"\n")


def _with_keys(valid: bytes, change: Callable[[list[list[Any]]], object],
               *, body: Callable[[list[bytes]], object] | None = None) -> bytes:
    """Format 3 data with its key line (and body) changed, and the header made to match;
    what `change` and `body` return is ignored, so one-line lambdas can pop."""
    lines = valid.split(b"\n")
    header, runs, objects = orjson.loads(lines[0]), orjson.loads(lines[1]), lines[2:-1]
    change(runs)
    if body is not None:
        body(objects)
    keys = orjson.dumps(runs) + b"\n"
    joined = b"".join(line + b"\n" for line in objects)
    header.update(keyBytes=len(keys), keyCrc32=zlib.crc32(keys), bodyBytes=len(joined))
    return orjson.dumps(header) + b"\n" + keys + joined


def _miscounted_keys(valid: bytes) -> bytes:
    runs = orjson.loads(valid.split(b"\n")[1])
    runs[-1][1].pop()
    runs[-1][2].pop()
    return _replace_line(valid, 1, orjson.dumps(runs))


# Damages common to both formats, then each format's own.
_HEADER_DAMAGES = [
    (lambda valid: b"", "no header line", "empty"),
    (lambda valid: b"\x00\xff not json\n", "header is not valid JSON", "garbage"),
    (lambda valid: b"[1, 2, 3]\n", "header is not a JSON object", "header-not-an-object"),
    (lambda valid: re.sub(rb'"format":\d', b'"format":7', valid), "format 7", "newer-format"),
    (lambda valid: re.sub(rb'"format":\d,', b"", valid), "no format version", "no-format"),
    (lambda valid: valid.replace(SCOPE.encode(), OTHER_SCOPE.encode()), "written for scope",
     "other-scope"),
    (lambda valid: valid.replace(b'"resourceVersion":"5"', b'"resourceVersion":""'),
     "no resourceVersion", "no-resource-version"),
    (lambda valid: valid.replace(b'"objectCount":3', b'"objectCount":-1'), "not a count",
     "bad-count"),
]
_FORMAT_1_DAMAGES = [
    (lambda valid: valid[: len(valid) // 2], "cut off after 1 of 3 objects", "cut-mid-object"),
    (lambda valid: valid[: valid.rindex(b"{")], "cut off after 2 of 3 objects",
     "cut-between-objects"),
    (lambda valid: _replace_line(valid, 1, b"{oops"), "object 0 is not valid JSON",
     "object-not-json"),
    (lambda valid: _replace_line(valid, 2, b"[7]"), "object 1 is not a JSON object",
     "object-not-an-object"),
    (lambda valid: valid + b'{"one":"too many"}\n', "unexpected bytes after the last",
     "trailing-object"),
]
_FORMAT_2_DAMAGES = [
    (lambda valid: re.sub(rb'"bodyBytes":\d+', b'"bodyBytes":-5', valid), "is not a length",
     "bad-body-length"),
    (lambda valid: valid[: valid.index(b"\n") + 1], "no key line", "no-key-line"),
    (lambda valid: _replace_line(valid, 1, b"[oops"), "key line is not valid JSON",
     "key-line-not-json"),
    (lambda valid: _replace_line(valid, 1, b'[["ns-0",["a"]]]'),
     "key line entry is not [namespace, names, versions]", "key-line-malformed"),
    (_miscounted_keys, "key line names 2 objects, not 3", "key-line-miscounted"),
    (lambda valid: valid[: len(valid) // 2], "cut off", "cut-mid-body"),
    (lambda valid: valid[: valid.rindex(b'{"crc32"')], "no checksum line", "no-checksum"),
    (lambda valid: _replace_line(valid, 3, valid.split(b"\n")[3].replace(b"xxx", b"xyx", 1)),
     "do not match their checksum", "damaged-body"),
    (lambda valid: _without_object(valid, 1), "the body holds 2 objects, not 3",
     "object-missing"),
    (lambda valid: valid.replace(b'"transform":null', b'"transform":7'), "is not a name",
     "bad-transform"),
    (lambda valid: valid + b'{"one":"too many"}\n', "unexpected bytes after the last",
     "trailing-line"),
]
_FORMAT_3_DAMAGES = [
    (lambda valid: re.sub(rb'"bodyBytes":\d+', b'"bodyBytes":-5', valid), "is not a length",
     "bad-body-length"),
    (lambda valid: re.sub(rb'"keyCrc32":\d+', b'"keyCrc32":"x"', valid), "is not a length",
     "bad-key-checksum"),
    (lambda valid: valid[: valid.index(b"\n") + 1], "no key line", "no-key-line"),
    (lambda valid: _replace_line(valid, 1, b"[oops"), "the key line holds", "key-line-cut"),
    (lambda valid: _replace_line(valid, 1, valid.split(b"\n")[1].replace(b"ns-0", b"ns-9", 1)),
     "key line does not match its checksum", "key-line-damaged"),
    (lambda valid: _with_keys(valid, lambda runs: runs[0].pop()),
     "key line entry is not [namespace, names, versions, lengths, checksums]",
     "key-line-malformed"),
    (lambda valid: _with_keys(valid, lambda runs: [part.pop() for part in runs[-1][1:]]),
     "key line names 2 objects, not 3", "key-line-miscounted"),
    (lambda valid: _with_keys(valid, lambda runs: None, body=lambda objects: objects.pop(1)),
     "does not match the key line", "object-missing"),
    (lambda valid: valid[: len(valid) // 2], "cut off", "cut-mid-body"),
    (lambda valid: _replace_line(valid, 3, valid.split(b"\n")[3].replace(b"xxx", b"xyx", 1)),
     "object 1 does not match its checksum", "damaged-body"),
    (lambda valid: _replace_line(valid, 3, valid.split(b"\n")[3][:-1] + b" "),
     "object 1 does not match its checksum", "damaged-last-byte"),
    (lambda valid: valid.replace(b'"transform":null', b'"transform":7'), "is not a name",
     "bad-transform"),
    (lambda valid: valid + b'{"one":"too many"}\n', "unexpected bytes after the last",
     "trailing-line"),
]
_DAMAGES = (
    [pytest.param(1, damage, reason, id=f"format-1-{name}")
     for damage, reason, name in _HEADER_DAMAGES + _FORMAT_1_DAMAGES]
    + [pytest.param(2, damage, reason, id=f"format-2-{name}")
       for damage, reason, name in _HEADER_DAMAGES + _FORMAT_2_DAMAGES]
    + [pytest.param(3, damage, reason, id=f"format-3-{name}")
       for damage, reason, name in _HEADER_DAMAGES + _FORMAT_3_DAMAGES]
)


@pytest.mark.parametrize(("version", "damage", "reason"), _DAMAGES)
async def test_file_store_treats_a_corrupt_file_as_no_checkpoint_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, version: int,
    damage: Callable[[bytes], bytes], reason: str,
) -> None:
    store = FileCheckpointStore(tmp_path)
    if version == 1:
        store.path(SCOPE).write_bytes(format_1(SCOPE, "5", snapshot(3)))
    elif version == 2:
        store.path(SCOPE).write_bytes(format_2(SCOPE, "5", snapshot(3)))
    else:
        await store.save(SCOPE, Checkpoint("5", snapshot(3)))
    valid = store.path(SCOPE).read_bytes()
    assert valid.startswith(b'{"format":%d,' % version)
    assert await store.load(SCOPE) == Checkpoint("5", snapshot(3))
    store.path(SCOPE).write_bytes(damage(valid))

    with caplog.at_level(logging.WARNING, logger="controllerkit.cache.checkpoint"):
        assert await store.load(SCOPE) is None
        # A lazy load refuses the same data, or (for damage in the body, which it reads only
        # later) finds it when the objects are read.
        lazy = await store.load_lazy(SCOPE)
    if lazy is not None:
        assert lazy.lazy is not None
        with pytest.raises(CorruptCheckpoint, match=re.escape(reason)):
            _ = lazy.encoded
        assert lazy.lazy is None or lazy.lazy.closed

    messages = [record.getMessage() for record in caplog.records]
    assert any(reason in message and str(store.path(SCOPE)) in message
               for message in messages), caplog.text
    if lazy is None:
        assert sum(str(store.path(SCOPE)) in message for message in messages) == 2, caplog.text
    await store.save(SCOPE, Checkpoint("6", None))
    assert await store.load(SCOPE) == Checkpoint("6", None), "the next save replaces it"


async def test_file_store_treats_an_unreadable_file_as_no_checkpoint_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileCheckpointStore(tmp_path)
    store.path(SCOPE).mkdir()  # reading a directory fails like an unreadable file

    with caplog.at_level(logging.WARNING, logger="controllerkit.cache.checkpoint"):
        assert await store.load(SCOPE) is None

    assert "unreadable checkpoint" in caplog.text


@pytest.mark.parametrize("scope", ["", "../escape", "a/b", ".hidden", "x" * 201, "a b"])
async def test_file_store_refuses_scopes_that_are_not_safe_file_names(
    tmp_path: Path, scope: str
) -> None:
    store = FileCheckpointStore(tmp_path)
    with pytest.raises(ValueError, match="not a safe file name"):
        await store.save(scope, Checkpoint("1", None))


async def test_sqlite_store_treats_an_undecodable_row_as_no_checkpoint_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "checkpoints.sqlite3"
    store = SQLiteCheckpointStore(path)
    await store.save(SCOPE, Checkpoint("5", snapshot(3)))
    await store.save(OTHER_SCOPE, Checkpoint("6", snapshot(2)))
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE checkpoints SET body = ? WHERE scope = ?", (b"{oops", SCOPE))

    with caplog.at_level(logging.WARNING, logger="controllerkit.cache.checkpoint"):
        assert await store.load(SCOPE) is None
        assert await store.load(OTHER_SCOPE) == Checkpoint("6", snapshot(2))
    await store.aclose()

    assert f"ignoring corrupt checkpoint for scope {SCOPE}" in caplog.text


async def test_sqlite_store_moves_a_damaged_database_aside_and_starts_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "checkpoints.sqlite3"
    path.write_bytes(b"this is not an SQLite database, it only has its name" * 100)
    store = SQLiteCheckpointStore(path)

    with caplog.at_level(logging.WARNING, logger="controllerkit.cache.checkpoint"):
        assert await store.load(SCOPE) is None
        await store.save(SCOPE, Checkpoint("8", snapshot(2)))
        assert await store.load(SCOPE) == Checkpoint("8", snapshot(2))
    await store.aclose()

    assert "is damaged" in caplog.text
    aside = tmp_path / "checkpoints.sqlite3.corrupt"
    assert aside.read_bytes().startswith(b"this is not an SQLite database")


async def test_sqlite_store_refuses_a_database_from_a_newer_layout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "checkpoints.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version=99")
    store = SQLiteCheckpointStore(path)

    with caplog.at_level(logging.WARNING, logger="controllerkit.cache.checkpoint"):
        assert await store.load(SCOPE) is None
    with pytest.raises(CheckpointDatabaseError, match="newer release"):
        await store.save(SCOPE, Checkpoint("1", None))
    await store.aclose()

    assert "layout 99" in caplog.text
    assert path.exists(), "a newer release's database is left alone"


async def test_sqlite_store_refuses_calls_after_aclose(tmp_path: Path) -> None:
    store = SQLiteCheckpointStore(tmp_path / "checkpoints.sqlite3")
    await store.aclose()
    await store.aclose()

    with pytest.raises(CheckpointDatabaseError, match="closed"):
        await store.load(SCOPE)


async def test_loads_during_a_save_of_the_same_scope_do_not_break_it(
    store: CheckpointStore,
) -> None:
    big = Checkpoint("7", snapshot(3000))
    save = asyncio.create_task(store.save("scope", big))
    while not save.done():
        await store.load("scope")
        await asyncio.sleep(0)
    await save
    loaded = await store.load("scope")
    assert loaded is not None and loaded.resource_version == "7"
    assert loaded.objects == big.objects

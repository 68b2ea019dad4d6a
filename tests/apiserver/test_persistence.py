from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from controllerkit.apiserver.persistence import (
    DATABASE_FILE_NAME,
    MemoryPersistence,
    Persistence,
    PersistenceError,
    SQLitePersistence,
)
from controllerkit.apiserver.resources import GroupResource

WIDGETS = GroupResource("example.com", "widgets")
NAMESPACES = GroupResource("", "namespaces")


def widget(name: str, namespace: str = "default", size: int = 1) -> dict[str, object]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1"},
        "spec": {"size": size, "note": "héllo"},
    }


def namespace(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLitePersistence]:
    persistence = SQLitePersistence.open(tmp_path)
    yield persistence
    persistence.close()


def test_both_implementations_satisfy_the_protocol(tmp_path: Path) -> None:
    implementations: list[Persistence] = [MemoryPersistence(), SQLitePersistence.open(tmp_path)]
    for persistence in implementations:
        persistence.close()


def test_memory_persistence_forgets_everything() -> None:
    persistence = MemoryPersistence()
    persistence.commit(5, [(WIDGETS, widget("w1"))], [])
    assert persistence.load() == (0, [])


def test_fresh_store_is_empty_at_resource_version_zero(store: SQLitePersistence) -> None:
    assert store.load() == (0, [])


def test_open_creates_missing_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "a" / "b"
    SQLitePersistence.open(data_dir).close()
    assert (data_dir / DATABASE_FILE_NAME).is_file()


def test_reopened_store_loads_what_was_committed(tmp_path: Path) -> None:
    first = SQLitePersistence.open(tmp_path)
    first.commit(1, [(NAMESPACES, namespace("default"))], [])
    first.commit(2, [(WIDGETS, widget("w1")), (WIDGETS, widget("w2", "other"))], [])
    first.commit(3, [(WIDGETS, widget("w1", size=7))], [])
    first.close()

    second = SQLitePersistence.open(tmp_path)
    try:
        resource_version, objects = second.load()
    finally:
        second.close()

    assert resource_version == 3
    assert sorted(objects, key=repr) == sorted(
        [
            (NAMESPACES, namespace("default")),
            (WIDGETS, widget("w1", size=7)),
            (WIDGETS, widget("w2", "other")),
        ],
        key=repr,
    )


def test_delete_removes_only_the_named_object(store: SQLitePersistence) -> None:
    store.commit(1, [(WIDGETS, widget("w1")), (WIDGETS, widget("w1", "other"))], [])
    store.commit(2, [], [(WIDGETS, "default", "w1")])
    assert store.load() == (2, [(WIDGETS, widget("w1", "other"))])


def test_delete_of_cluster_scoped_object_uses_empty_namespace(store: SQLitePersistence) -> None:
    store.commit(1, [(NAMESPACES, namespace("team-a"))], [])
    store.commit(2, [], [(NAMESPACES, "", "team-a")])
    assert store.load() == (2, [])


def test_same_name_in_different_resources_is_kept_apart(store: SQLitePersistence) -> None:
    gadgets = GroupResource("example.com", "gadgets")
    store.commit(1, [(WIDGETS, widget("x")), (gadgets, widget("x"))], [])
    assert {gr for gr, _ in store.load()[1]} == {WIDGETS, gadgets}


def test_commit_does_not_mutate_its_inputs(store: SQLitePersistence) -> None:
    obj = widget("w1")
    snapshot = repr(obj)
    store.commit(1, [(WIDGETS, obj)], [])
    assert repr(obj) == snapshot


def test_object_without_name_is_rejected_and_nothing_is_written(
    store: SQLitePersistence,
) -> None:
    nameless = {"metadata": {"namespace": "default"}}
    with pytest.raises(ValueError, match=r"metadata\.name"):
        store.commit(1, [(WIDGETS, widget("w1")), (WIDGETS, nameless)], [])
    assert store.load() == (0, [])


def test_failed_transaction_rolls_back_and_store_stays_usable(store: SQLitePersistence) -> None:
    store.commit(1, [(WIDGETS, widget("w1"))], [])
    # A resourceVersion SQLite cannot store fails inside the transaction, after the upsert.
    with pytest.raises(OverflowError):
        store.commit(2**70, [(WIDGETS, widget("w2"))], [])
    assert store.load() == (1, [(WIDGETS, widget("w1"))])
    store.commit(2, [(WIDGETS, widget("w2"))], [])
    assert store.load()[0] == 2


def test_second_open_of_same_data_directory_is_refused(
    store: SQLitePersistence, tmp_path: Path
) -> None:
    with pytest.raises(PersistenceError, match="already open"):
        SQLitePersistence.open(tmp_path)


def test_data_directory_is_free_again_after_close(tmp_path: Path) -> None:
    SQLitePersistence.open(tmp_path).close()
    SQLitePersistence.open(tmp_path).close()


def test_use_after_close_raises(tmp_path: Path) -> None:
    persistence = SQLitePersistence.open(tmp_path)
    persistence.close()
    persistence.close()
    with pytest.raises(PersistenceError, match="closed"):
        persistence.load()


def test_store_from_newer_schema_is_refused(tmp_path: Path) -> None:
    SQLitePersistence.open(tmp_path).close()
    connection = sqlite3.connect(tmp_path / DATABASE_FILE_NAME)
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    with pytest.raises(PersistenceError, match="schema version 99"):
        SQLitePersistence.open(tmp_path)


def test_database_uses_wal_with_normal_synchronous(store: SQLitePersistence) -> None:
    connection = store._open_connection()
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # 1 is NORMAL.
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1


_COMMIT_THEN_HANG = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from controllerkit.apiserver.persistence import SQLitePersistence
    from controllerkit.apiserver.resources import GroupResource

    store = SQLitePersistence.open(Path(sys.argv[1]))
    widgets = GroupResource("example.com", "widgets")
    for rv in range(1, 201):
        obj = {"metadata": {"name": f"w{rv % 20}", "namespace": "default"}, "spec": {"rv": rv}}
        deletes = [(widgets, "default", "w0")] if rv % 50 == 0 else []
        store.commit(rv, [(widgets, obj)], deletes)
    print("committed", flush=True)
    time.sleep(60)
    """
)


def test_sigkill_after_commit_loses_nothing(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _COMMIT_THEN_HANG, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "committed"
        # The writes are still only in the WAL: nothing was checkpointed or closed cleanly.
        assert (tmp_path / f"{DATABASE_FILE_NAME}-wal").stat().st_size > 0
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        assert child.stdout is not None
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    reopened = SQLitePersistence.open(tmp_path)
    try:
        resource_version, objects = reopened.load()
    finally:
        reopened.close()

    assert resource_version == 200
    specs = {obj["metadata"]["name"]: obj["spec"]["rv"] for _, obj in objects}
    # w0's last commit (rv 200) both wrote and deleted it, and deletes apply after puts.
    expected = {f"w{n}": 180 + n for n in range(1, 20)}
    assert specs == expected

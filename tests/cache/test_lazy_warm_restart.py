"""Lazy warm restarts of compact caches from file checkpoints: objects served from the file
before the background load reaches them, races with watch events, damage found late, the file
closed at the end, and saves while loading."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.cache import NAMESPACE_INDEX, SharedInformer, Store
from controllerkit.cache.checkpoint import Checkpoint, CheckpointWriter
from controllerkit.cache.checkpoint_codec import CorruptCheckpoint
from controllerkit.cache.checkpoint_file import FileCheckpointStore
from controllerkit.cache.encoding import EncodedObjects
from controllerkit.cache.lazy_snapshot import LazySnapshot
from controllerkit.cache.snapshots import snapshot
from controllerkit.client import KubeClient
from controllerkit.meta import CONFIG_MAP, JSONObject, ObjectKey, object_key
from controllerkit.testing import eventually

from .support import FAST, EventRecorder, config_map, server_resource_version

SCOPE = "configmaps.v1_all_0123456789abcdef0123456789abcdef"
# About 1 KB each: a few hundred objects span several background load steps.
_FILLER = "x" * 900


def objects(count: int) -> list[JSONObject]:
    return [{
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": f"cm-{i}", "namespace": f"ns-{i % 3}", "resourceVersion": str(i + 1),
                     "uid": f"uid-{i}"},
        "data": {"v": str(i % 7), "filler": _FILLER},
    } for i in range(count)]


def value_index(obj: JSONObject) -> list[str]:
    return [obj["data"]["v"]]


class Damages:
    """A `Store.restore_lazy` damage callback that keeps what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[CorruptCheckpoint, int]] = []

    def __call__(self, error: CorruptCheckpoint, dropped: int) -> None:
        self.calls.append((error, dropped))


def descriptors_open_on(path: Path) -> int:
    """How many of this process's file descriptors refer to `path`."""
    count = 0
    for entry in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{entry}") == str(path):
                count += 1
        except OSError:
            continue  # Closed meanwhile (the listing's own descriptor).
    return count


async def saved(tmp_path: Path, items: list[JSONObject]) -> FileCheckpointStore:
    checkpoints = FileCheckpointStore(tmp_path)
    await checkpoints.save(SCOPE, Checkpoint("1000", encoded=EncodedObjects.of(items),
                                             transform=""))
    return checkpoints


async def lazy_snapshot(checkpoints: FileCheckpointStore) -> LazySnapshot:
    loaded = await checkpoints.load_lazy(SCOPE)
    assert loaded is not None and loaded.lazy is not None
    return loaded.lazy


def by_key(items: list[JSONObject]) -> dict[ObjectKey, JSONObject]:
    return {object_key(obj): obj for obj in items}


def damage_object_in_place(path: Path, checkpoints_data: bytes, name: str) -> None:
    """Change one byte of object `name`'s body line, writing into the file (same inode)."""
    start = checkpoints_data.index(b'"name":"%s"' % name.encode())
    position = checkpoints_data.index(_FILLER.encode(), start) + 10
    with path.open("r+b") as file:
        file.seek(position)
        file.write(b"y")


# --- the store -----------------------------------------------------------------------------------

async def test_a_lazy_restore_serves_every_object_a_full_restore_does(tmp_path: Path) -> None:
    items = objects(600)
    checkpoints = await saved(tmp_path, items)
    full = Store(compact=True, indexes={"v": value_index})
    eager = await checkpoints.load(SCOPE)
    assert eager is not None and eager.encoded is not None
    full.restore(eager.encoded, "1000")
    lazy = Store(compact=True, indexes={"v": value_index})
    damages = Damages()
    lazy.restore_lazy(await lazy_snapshot(checkpoints), "1000", damages)
    path = checkpoints.path(SCOPE)

    assert lazy.unloaded == 600 and len(lazy) == 600 and descriptors_open_on(path) == 1
    assert sorted(lazy.keys()) == sorted(full.keys())
    assert lazy.resource_version == "1000"
    # Reads by key and by namespace come from the file before the background load.
    for key in [object_key(obj) for obj in items[:10]]:
        assert lazy.get(key) == full.get(key) == by_key(items)[key]
    assert lazy.unloaded == 590
    assert sorted(lazy.index_values(NAMESPACE_INDEX)) == ["ns-0", "ns-1", "ns-2"]
    assert by_key(lazy.by_index(NAMESPACE_INDEX, "ns-1")) == by_key(
        full.by_index(NAMESPACE_INDEX, "ns-1"))
    assert lazy.unloaded == 590 - 200 + 3  # ns-1 holds 200 objects, 3 of them read above
    # A few background steps, then everything else at once through a custom index.
    assert lazy.load_step() and lazy.load_step()
    assert 0 < lazy.unloaded < 397
    assert by_key(lazy.by_index("v", "3")) == by_key(full.by_index("v", "3"))
    assert lazy.unloaded == 0 and not lazy.load_step()
    assert by_key(lazy.list()) == by_key(full.list()) == by_key(items)
    assert damages.calls == []
    assert descriptors_open_on(path) == 0, "the file is closed once every object was read"


async def test_the_background_load_never_overwrites_a_newer_object(tmp_path: Path) -> None:
    items = objects(600)
    checkpoints = await saved(tmp_path, items)
    store = Store(compact=True)
    store.restore_lazy(await lazy_snapshot(checkpoints), "1000", Damages())
    assert store.load_step()
    changed = {**items[500], "data": {"v": "changed"}}
    changed["metadata"] = {**items[500]["metadata"], "resourceVersion": "1001"}

    # An update of an object the load has not reached: the delta's old state is the snapshot's.
    delta = store.apply("MODIFIED", changed)
    assert delta is not None and delta.old == items[500] and delta.object == changed
    deleted = store.apply("DELETED", items[501])
    assert deleted is not None
    readded = {**items[502], "metadata": {**items[502]["metadata"], "resourceVersion": "1003",
                                          "uid": "uid-new"}}
    assert store.apply("DELETED", items[502]) is not None
    assert store.apply("ADDED", readded) is not None
    assert store.apply("ADDED", config_map("new", "ns-0")) is not None
    store.load_all()

    assert store.unloaded == 0 and len(store) == 600
    assert store.get(object_key(changed)) == changed
    assert store.get(object_key(items[501])) is None
    assert store.get(object_key(items[502])) == readded
    assert by_key(store.list()) == {**by_key(items[:500]), **by_key([changed]),
                                    **by_key([readded]), **by_key(items[503:]),
                                    ("ns-0", "new"): config_map("new", "ns-0")}
    assert descriptors_open_on(checkpoints.path(SCOPE)) == 0


async def test_a_body_damaged_after_the_start_is_found_and_nothing_unchecked_is_served(
    tmp_path: Path,
) -> None:
    items = objects(600)
    checkpoints = await saved(tmp_path, items)
    path = checkpoints.path(SCOPE)
    store = Store(compact=True, indexes={"v": value_index})
    damages = Damages()
    store.restore_lazy(await lazy_snapshot(checkpoints), "1000", damages)
    first = object_key(items[0])
    assert store.get(first) == items[0]
    damage_object_in_place(path, path.read_bytes(), "cm-300")

    assert store.get(object_key(items[300])) is None
    assert len(damages.calls) == 1
    error, dropped = damages.calls[0]
    assert "object 300 does not match its checksum" in str(error)
    # Everything not read yet is gone; what was read (and checked) stays.
    assert dropped == 599 and len(store) == 1 and store.unloaded == 0
    assert store.get(first) == items[0] and store.list() == [items[0]]
    assert store.by_index("v", "0") == [items[0]]
    assert descriptors_open_on(path) == 0


async def test_a_file_truncated_after_the_start_is_found_by_the_background_load(
    tmp_path: Path,
) -> None:
    items = objects(600)
    checkpoints = await saved(tmp_path, items)
    path = checkpoints.path(SCOPE)
    store = Store(compact=True)
    damages = Damages()
    store.restore_lazy(await lazy_snapshot(checkpoints), "1000", damages)
    assert store.load_step()
    loaded = 600 - store.unloaded
    os.truncate(path, path.stat().st_size // 2)

    store.load_all()

    assert len(damages.calls) == 1
    error, dropped = damages.calls[0]
    assert "cut off" in str(error) and "truncated" in str(error)
    assert len(store) >= loaded and len(store) + dropped == 600
    remaining = store.keys()
    assert all(store.get(key) == by_key(items)[key] for key in remaining)
    assert descriptors_open_on(path) == 0


async def test_a_save_while_loading_writes_every_object(tmp_path: Path) -> None:
    items = objects(600)
    checkpoints = await saved(tmp_path, items)
    store = Store(compact=True)
    store.restore_lazy(await lazy_snapshot(checkpoints), "1000", Damages())
    assert store.load_step() and store.unloaded

    # What a save takes: every object, read from the file now if need be.
    await checkpoints.save(SCOPE, snapshot(store, "", objects=True))

    assert store.unloaded == 0
    reloaded = await checkpoints.load(SCOPE)
    assert reloaded is not None and by_key(reloaded.objects or []) == by_key(items)


async def test_a_writer_defers_saves_while_the_cache_is_incomplete(tmp_path: Path) -> None:
    items = objects(600)
    checkpoints = await saved(tmp_path, items)
    store = Store(compact=True)
    store.restore_lazy(await lazy_snapshot(checkpoints), "1000", Damages())
    store.apply("ADDED", {**config_map("new", "ns-0"),
                          "metadata": {"name": "new", "namespace": "ns-0",
                                       "resourceVersion": "1001"}})
    writer = CheckpointWriter(checkpoints, SCOPE, lambda: snapshot(store, "", objects=True),
                              interval=0, can_save=lambda: not store.unloaded)
    async with writer:
        writer.notify()
        await eventually(lambda: writer.stats.save_attempts == 0 and store.unloaded > 0)
        # Loading on: the writer saves once the cache is whole.
        while store.load_step():
            await eventually(lambda: writer.stats.saves == 0)
        await eventually(lambda: writer.stats.saves == 1)

    reloaded = await checkpoints.load(SCOPE)
    assert reloaded is not None and reloaded.resource_version == "1001"
    assert len(reloaded.objects or []) == 601


# --- informers against the API server ------------------------------------------------------------

def lazy_informer(kube: KubeClient, checkpoints: FileCheckpointStore,
                  registry: CollectorRegistry | None = None) -> SharedInformer:
    return SharedInformer(kube, CONFIG_MAP, namespace="default", options=FAST,
                          checkpoint_store=checkpoints, compact=True, registry=registry)


async def filled(kube: KubeClient, count: int) -> None:
    for i in range(count):
        await kube.create(CONFIG_MAP, config_map(f"cm-{i}", v=str(i), filler=_FILLER))


async def first_run(kube: KubeClient, checkpoints: FileCheckpointStore) -> SharedInformer:
    informer = lazy_informer(kube, checkpoints)
    async with informer:
        await informer.wait_for_sync(timeout=30)
    return informer


async def test_a_lazy_warm_restart_replays_changes_and_ends_whole_with_the_file_closed(
    server: EmbeddedApiServer, kube: KubeClient, tmp_path: Path,
) -> None:
    await filled(kube, 400)
    checkpoints = FileCheckpointStore(tmp_path)
    path = checkpoints.path((await first_run(kube, checkpoints)).reflector.scope)
    expected = []
    for i in range(0, 400, 8):
        await kube.patch(CONFIG_MAP, f"cm-{i}", {"data": {"v": "changed"}}, namespace="default")
        expected.append(("update", ("default", f"cm-{i}")))
    for i in range(3, 400, 40):
        await kube.delete(CONFIG_MAP, f"cm-{i}", namespace="default")
        expected.append(("delete", ("default", f"cm-{i}")))
    server.engine.requests.clear()

    informer = lazy_informer(kube, checkpoints)
    recorder = EventRecorder()
    informer.add_handler(recorder)
    async with informer:
        await informer.wait_for_sync(timeout=30)
        await informer.store.wait_for_resource_version(server_resource_version(server),
                                                       timeout=30)
        await eventually(lambda: informer.store.unloaded == 0)
        assert descriptors_open_on(path) == 0
        assert server.engine.requests.count("list", "configmaps") == 0
        listed = await kube.list(CONFIG_MAP, namespace="default")
        assert by_key(informer.store.list()) == by_key(listed.items)

    assert recorder.summary() == expected
    assert informer.reflector.stats.damaged_snapshots == 0


async def test_a_damaged_snapshot_found_after_a_lazy_start_is_relisted_and_diffed(
    server: EmbeddedApiServer, kube: KubeClient, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await filled(kube, 400)
    checkpoints = FileCheckpointStore(tmp_path)
    scope = (await first_run(kube, checkpoints)).reflector.scope
    path = checkpoints.path(scope)
    damage_object_in_place(path, path.read_bytes(), "cm-390")
    await kube.patch(CONFIG_MAP, "cm-5", {"data": {"v": "changed"}}, namespace="default")
    registry = CollectorRegistry()

    informer = lazy_informer(kube, checkpoints, registry)
    recorder = EventRecorder()
    informer.add_handler(recorder)
    with caplog.at_level(logging.WARNING, logger="controllerkit.cache.reflector"):
        async with informer:
            await informer.wait_for_sync(timeout=30)
            await eventually(lambda: informer.reflector.stats.relists == 1, within=30)
            await informer.store.wait_for_resource_version(server_resource_version(server),
                                                           timeout=30)
            listed = await kube.list(CONFIG_MAP, namespace="default")
            assert by_key(informer.store.list()) == by_key(listed.items)

    stats = informer.reflector.stats
    assert stats.damaged_snapshots == 1 and stats.warm_starts == 1
    assert registry.get_sample_value("controllerkit_checkpoint_load_failures_total",
                                     {"scope": scope}) == 1
    assert f"{path}: object " in caplog.text and "does not match its checksum" in caplog.text
    # Handlers saw the replayed update, and an add for each dropped object (at least the
    # damaged one), never an object from the damaged record.
    added = {key for kind, key in recorder.summary() if kind == "add"}
    assert ("default", "cm-390") in added
    assert ("update", ("default", "cm-5")) in recorder.summary() or ("default", "cm-5") in added
    assert all(event.object == by_key(listed.items)[event.key] for event in recorder.events
               if event.type == "add")
    # The checkpoint saved on the way out is whole again.
    final = await checkpoints.load(scope)
    assert final is not None and by_key(final.objects or []) == by_key(listed.items)


async def test_an_informer_stopped_while_loading_saves_every_object(
    server: EmbeddedApiServer, kube: KubeClient, tmp_path: Path,
) -> None:
    await filled(kube, 400)
    checkpoints = FileCheckpointStore(tmp_path)
    scope = (await first_run(kube, checkpoints)).reflector.scope
    await kube.create(CONFIG_MAP, config_map("late", v="1"))

    informer = lazy_informer(kube, checkpoints)
    async with informer:
        await informer.wait_for_sync(timeout=30)

    listed = await kube.list(CONFIG_MAP, namespace="default")
    final = await checkpoints.load(scope)
    assert final is not None and len(final.objects or []) >= 400
    assert by_key(final.objects or []).items() <= by_key(listed.items).items()
    assert descriptors_open_on(checkpoints.path(scope)) == 0

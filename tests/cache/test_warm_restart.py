"""Warm restart from a checkpoint: handlers get exactly what changed while the process was
down, with no list; past the server's replay window, a relist + diff gives the same result."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.cache import Checkpoint, CheckpointStore, SharedInformer
from controllerkit.cache.checkpoint_file import FileCheckpointStore
from controllerkit.cache.checkpoint_sqlite import SQLiteCheckpointStore
from controllerkit.client import KubeClient
from controllerkit.meta import CONFIG_MAP, ObjectKey, object_key, resource_version
from controllerkit.testing import eventually

from .support import (
    FAST,
    EventRecorder,
    config_map,
    metric,
    requests_with,
    server_resource_version,
)


@pytest.fixture(params=["file", "sqlite"])
async def checkpoints(request: pytest.FixtureRequest, tmp_path: Path
                      ) -> AsyncIterator[CheckpointStore]:
    store: CheckpointStore = (
        FileCheckpointStore(tmp_path / "checkpoints") if request.param == "file"
        else SQLiteCheckpointStore(tmp_path / "checkpoints.db")
    )
    yield store
    await store.aclose()


def informer_for(kube: KubeClient, checkpoints: CheckpointStore, *, compact: bool = False,
                 registry: CollectorRegistry | None = None) -> SharedInformer:
    return SharedInformer(kube, CONFIG_MAP, namespace="default", checkpoint_store=checkpoints,
                          options=FAST, compact=compact, registry=registry)


async def fifty_changes(kube: KubeClient) -> dict[ObjectKey, tuple[str, str]]:
    """20 creates, 20 updates, 10 deletes; each key's (event type, final resourceVersion)."""
    expected: dict[ObjectKey, tuple[str, str]] = {}
    for i in range(20):
        created = await kube.create(CONFIG_MAP, config_map(f"new-{i:02d}"))
        expected[object_key(created)] = ("add", resource_version(created))
    for i in range(20):
        updated = await kube.patch(CONFIG_MAP, f"cm-{i:02d}", {"data": {"v": "2"}},
                                   namespace="default")
        expected[object_key(updated)] = ("update", resource_version(updated))
    for i in range(20, 30):
        await kube.delete(CONFIG_MAP, f"cm-{i:02d}", namespace="default")
        expected[("default", f"cm-{i:02d}")] = ("delete", "")
    return expected


@pytest.mark.parametrize("history", [10_000, 10], ids=["replayed", "replay-window-exceeded"])
async def test_restart_delivers_exactly_the_changes_made_while_down(
    checkpoints: CheckpointStore, history: int, caplog: pytest.LogCaptureFixture, compact: bool
) -> None:
    async with (
        EmbeddedApiServer(watch_history=history, bookmark_interval=0.2) as server,
        KubeClient.from_url(server.url, token=server.token) as kube,
    ):
        for i in range(60):
            await kube.create(CONFIG_MAP, config_map(f"cm-{i:02d}", v="1"))
        first = informer_for(kube, checkpoints, compact=compact)
        async with first:
            await first.wait_for_sync(timeout=10)
        saved = await checkpoints.load(first.reflector.scope)
        assert saved is not None and saved.objects is not None and len(saved.objects) == 60
        assert saved.resource_version == first.store.resource_version
        before = {object_key(obj): obj for obj in saved.objects}

        expected = await fifty_changes(kube)
        server.engine.requests.clear()
        registry = CollectorRegistry()
        recorder = EventRecorder()
        second = informer_for(kube, checkpoints, compact=compact, registry=registry)
        second.add_handler(recorder)
        with caplog.at_level(logging.INFO, logger="controllerkit.cache.reflector"):
            async with second:
                await second.wait_for_sync(timeout=10)
                await second.store.wait_for_resource_version(server_resource_version(server),
                                                             timeout=10)

        assert len(recorder.events) == 50
        got = {event.key: (event.type, "" if event.type == "delete" else event.resource_version)
               for event in recorder.events}
        assert got == expected
        for event in recorder.events:
            if event.type == "update":
                assert event.old == before[event.key]
            if event.type == "delete":
                assert event.object["metadata"]["uid"] == before[event.key]["metadata"]["uid"]
        assert len(second.store) == 70
        stats = second.reflector.stats
        assert stats.warm_starts == 1
        assert metric(registry, "controllerkit_reflector_warm_starts_total") == 1
        full_states = (server.engine.requests.count("list", "configmaps")
                       + requests_with(server, "watch", "sendInitialEvents", "true"))
        if history == 10_000:
            assert full_states == 0
            assert stats.replay_window_exceeded == 0 and stats.relists == 0
            assert metric(registry, "controllerkit_reflector_replay_window_exceeded_total") == 0
            assert not any(event.tombstone for event in recorder.events)
        else:
            # The checkpoint is older than the 10 events the server remembers: 410, relist.
            assert full_states == 1
            assert stats.replay_window_exceeded == 1 and stats.relists == 1
            assert metric(registry, "controllerkit_reflector_replay_window_exceeded_total") == 1
            assert metric(registry, "controllerkit_reflector_relists_total") == 1
            assert all(event.tombstone for event in recorder.events if event.type == "delete")
            assert "replay window exceeded" in caplog.text


async def test_without_a_checkpoint_the_informer_lists(
    server: EmbeddedApiServer, kube: KubeClient, tmp_path: Path
) -> None:
    await kube.create(CONFIG_MAP, config_map("cm"))
    checkpoints = FileCheckpointStore(tmp_path)
    recorder = EventRecorder()
    informer = informer_for(kube, checkpoints)
    informer.add_handler(recorder)
    async with informer:
        await informer.wait_for_sync(timeout=10)
    assert recorder.summary() == [("add", ("default", "cm"))]
    assert informer.reflector.stats.warm_starts == 0
    assert requests_with(server, "watch", "sendInitialEvents", "true") == 1


async def test_a_resource_version_only_checkpoint_restarts_with_a_list(
    server: EmbeddedApiServer, kube: KubeClient, tmp_path: Path
) -> None:
    await kube.create(CONFIG_MAP, config_map("cm"))
    checkpoints = FileCheckpointStore(tmp_path)
    options = dataclasses.replace(FAST, checkpoint_objects=False)
    first = SharedInformer(kube, CONFIG_MAP, checkpoint_store=checkpoints, options=options)
    async with first:
        await first.wait_for_sync(timeout=10)
    saved = await checkpoints.load(first.reflector.scope)
    assert saved is not None and saved.objects is None and saved.resource_version

    second = SharedInformer(kube, CONFIG_MAP, checkpoint_store=checkpoints, options=options)
    async with second:
        await second.wait_for_sync(timeout=10)
    assert second.store.get(("default", "cm")) is not None
    assert second.reflector.stats.warm_starts == 0
    assert requests_with(server, "watch", "sendInitialEvents", "true") == 2


class RecordingCheckpoints:
    """A checkpoint store that remembers what was saved, on top of a real one."""

    def __init__(self, store: CheckpointStore) -> None:
        self.store = store
        self.saved: list[Checkpoint] = []

    async def load(self, scope: str) -> Checkpoint | None:
        return await self.store.load(scope)

    async def save(self, scope: str, checkpoint: Checkpoint) -> None:
        await self.store.save(scope, checkpoint)
        self.saved.append(checkpoint)

    async def aclose(self) -> None:
        await self.store.aclose()


async def test_checkpoints_follow_the_cache_while_it_runs(
    server: EmbeddedApiServer, kube: KubeClient, tmp_path: Path
) -> None:
    checkpoints = RecordingCheckpoints(FileCheckpointStore(tmp_path))
    options = dataclasses.replace(FAST, checkpoint_interval=0.0)
    informer = SharedInformer(kube, CONFIG_MAP, namespace="default",
                              checkpoint_store=checkpoints, options=options)
    async with informer:
        await informer.wait_for_sync(timeout=10)
        await eventually(lambda: len(checkpoints.saved) >= 1)
        assert checkpoints.saved[0].objects == []
        written = await kube.create(CONFIG_MAP, config_map("cm"))
        await eventually(lambda: any(
            int(saved.resource_version) >= int(resource_version(written))
            for saved in checkpoints.saved))
        latest = checkpoints.saved[-1]
        assert latest.objects is not None
        assert [object_key(obj) for obj in latest.objects] == [("default", "cm")]

"""Warm restarts across kinds of cache, checkpoint formats and transforms: a checkpoint is
usable by either kind of cache, old-format checkpoints still warm-start, and a compact cache
adopts a snapshot's bytes only when they went through its own transform."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.cache import Checkpoint, SharedInformer, Transform, drop_managed_fields
from controllerkit.cache.checkpoint_file import FileCheckpointStore
from controllerkit.cache.encoding import EncodedObjects
from controllerkit.cache.transforms import transform_identity
from controllerkit.client import KubeClient, PatchType
from controllerkit.meta import CONFIG_MAP, JSONObject, object_key

from .support import FAST, EventRecorder, config_map, server_resource_version


def informer_for(kube: KubeClient, checkpoints: FileCheckpointStore, *, compact: bool,
                 transform: Transform | None = None) -> SharedInformer:
    informer = SharedInformer(kube, CONFIG_MAP, namespace="default", options=FAST,
                              checkpoint_store=checkpoints, compact=compact, transform=transform)
    informer.add_index("v", lambda obj: [obj.get("data", {}).get("v", "")])
    return informer


async def restart(informer: SharedInformer, server: EmbeddedApiServer) -> EventRecorder:
    """Run `informer` until it caught up with the server; what its handler received."""
    recorder = EventRecorder()
    informer.add_handler(recorder)
    server.engine.requests.clear()
    async with informer:
        await informer.wait_for_sync(timeout=10)
        await informer.store.wait_for_resource_version(server_resource_version(server),
                                                       timeout=10)
    assert informer.reflector.stats.warm_starts == 1
    assert server.engine.requests.count("list", "configmaps") == 0
    assert all("sendInitialEvents" not in r.query for r in server.engine.requests.records)
    return recorder


async def changes_while_down(kube: KubeClient) -> None:
    await kube.create(CONFIG_MAP, config_map("added", v="1"))
    await kube.patch(CONFIG_MAP, "cm-0", {"data": {"v": "2"}}, namespace="default")
    await kube.delete(CONFIG_MAP, "cm-1", namespace="default")


@pytest.mark.parametrize(("writer_compact", "reader_compact"), [(False, True), (True, False)],
                         ids=["dict-to-compact", "compact-to-dict"])
async def test_a_checkpoint_of_either_kind_of_cache_warm_starts_the_other(
    server: EmbeddedApiServer, kube: KubeClient, tmp_path: Path, writer_compact: bool,
    reader_compact: bool,
) -> None:
    for i in range(5):
        await kube.create(CONFIG_MAP, config_map(f"cm-{i}", v="1"))
    checkpoints = FileCheckpointStore(tmp_path)
    async with informer_for(kube, checkpoints, compact=writer_compact) as first:
        await first.wait_for_sync(timeout=10)
    await changes_while_down(kube)

    second = informer_for(kube, checkpoints, compact=reader_compact)
    recorder = await restart(second, server)

    assert recorder.summary() == [("add", ("default", "added")),
                                  ("update", ("default", "cm-0")),
                                  ("delete", ("default", "cm-1"))]
    served = (await kube.list(CONFIG_MAP, namespace="default")).items
    assert sorted(second.store.list(), key=object_key) == sorted(served, key=object_key)
    # The index was built from the restored snapshot plus the replayed changes.
    assert {o["metadata"]["name"] for o in second.store.by_index("v", "1")} == {
        "added", "cm-2", "cm-3", "cm-4"}
    assert [o["metadata"]["name"] for o in second.store.by_index("v", "2")] == ["cm-0"]


def format_1(scope: str, resource_version: str, objects: list[JSONObject]) -> bytes:
    header = {"format": 1, "scope": scope, "resourceVersion": resource_version,
              "objectCount": len(objects)}
    return b"".join(orjson.dumps(item) + b"\n" for item in [header, *objects])


async def test_a_format_1_checkpoint_warm_starts_either_kind_of_cache(
    server: EmbeddedApiServer, kube: KubeClient, tmp_path: Path, compact: bool
) -> None:
    for i in range(5):
        await kube.create(CONFIG_MAP, config_map(f"cm-{i}", v="1"))
    listed = await kube.list(CONFIG_MAP, namespace="default")
    checkpoints = FileCheckpointStore(tmp_path)
    informer = informer_for(kube, checkpoints, compact=compact)
    path = checkpoints.path(informer.reflector.scope)
    path.write_bytes(format_1(informer.reflector.scope, listed.resource_version, listed.items))
    await changes_while_down(kube)

    recorder = await restart(informer, server)

    assert recorder.summary() == [("add", ("default", "added")),
                                  ("update", ("default", "cm-0")),
                                  ("delete", ("default", "cm-1"))]
    assert recorder.events[1].old == listed.items[0]
    assert path.read_bytes().startswith(b'{"format":3,'), "saved again in the current format"


async def test_a_compact_cache_adopts_a_snapshot_written_under_its_own_transform(
    server: EmbeddedApiServer, kube: KubeClient, tmp_path: Path
) -> None:
    await kube.create(CONFIG_MAP, config_map("cm-0", v="1"))
    listed = await kube.list(CONFIG_MAP, namespace="default")
    marked = [{**obj, "metadata": {**obj["metadata"], "annotations": {"from": "snapshot"}}}
              for obj in listed.items]
    checkpoints = FileCheckpointStore(tmp_path)
    informer = informer_for(kube, checkpoints, compact=True, transform=drop_managed_fields)
    # A snapshot claiming to have gone through drop_managed_fields: a compact cache trusts the
    # claim and adopts the bytes as they are (it neither decodes nor transforms them).
    marked[0]["metadata"]["managedFields"] = [{"manager": "snapshot"}]
    await checkpoints.save(informer.reflector.scope, Checkpoint(
        listed.resource_version, encoded=EncodedObjects.of(marked),
        transform=transform_identity(drop_managed_fields)))

    await restart(informer, server)

    assert informer.store.get(("default", "cm-0")) == marked[0]


@pytest.mark.parametrize("saved_with", ["no-transform", "unknown-transform"])
async def test_a_compact_cache_transforms_a_snapshot_written_under_another_transform(
    server: EmbeddedApiServer, kube: KubeClient, tmp_path: Path,
    caplog: pytest.LogCaptureFixture, saved_with: str,
) -> None:
    manifest = config_map("applied", v="1")
    await kube.patch(CONFIG_MAP, "applied", manifest, namespace="default",
                     patch_type=PatchType.APPLY, field_manager="test")
    checkpoints = FileCheckpointStore(tmp_path)
    unknown: Transform = lambda obj: obj  # noqa: E731 - a transform no name pins down
    async with informer_for(kube, checkpoints, compact=True,
                            transform=None if saved_with == "no-transform" else unknown) as first:
        await first.wait_for_sync(timeout=10)
        assert "managedFields" in first.store.get(("default", "applied"))["metadata"]  # type: ignore[index]

    second = informer_for(kube, checkpoints, compact=True, transform=drop_managed_fields)
    with caplog.at_level(logging.INFO, logger="controllerkit.cache.reflector"):
        await restart(second, server)

    cached = second.store.get(("default", "applied"))
    assert cached is not None and cached["data"] == {"v": "1"}
    assert "managedFields" not in cached["metadata"]
    assert "went through another transform" in caplog.text

"""Convergence: under dropped watches and a 410, the cache ends equal to the server."""

from __future__ import annotations

import random

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.cache import SharedInformer
from controllerkit.client import KubeClient
from controllerkit.meta import CONFIG_MAP, object_key
from controllerkit.testing import eventually

from .support import FAST, EventRecorder, config_map, server_resource_version

OPERATIONS = 1000
NAMES = [f"cm-{i:03d}" for i in range(60)]


async def test_cache_converges_under_dropped_watches_and_an_expired_watch(
    server: EmbeddedApiServer, kube: KubeClient, compact: bool
) -> None:
    rng = random.Random(20240603)
    server.engine.faults.drop_watch_every = 50
    recorder = EventRecorder()
    informer = SharedInformer(kube, CONFIG_MAP, namespace="default", options=FAST,
                              compact=compact)
    informer.add_handler(recorder)
    existing: set[str] = set()
    ever_created: set[str] = set()
    async with informer:
        await informer.wait_for_sync(timeout=10)
        for step in range(OPERATIONS):
            if step == OPERATIONS // 2:
                server.engine.faults.expire_next_watches = 1
            name = rng.choice(NAMES)
            if name not in existing:
                await kube.create(CONFIG_MAP, config_map(name, step=str(step)))
                existing.add(name)
                ever_created.add(name)
            elif rng.random() < 0.25:
                await kube.delete(CONFIG_MAP, name, namespace="default")
                existing.discard(name)
            else:
                await kube.patch(CONFIG_MAP, name, {"data": {"step": str(step)}},
                                 namespace="default")
        await eventually(lambda: server.engine.faults.expire_next_watches == 0)
        await informer.store.wait_for_resource_version(server_resource_version(server),
                                                       timeout=20)
        fresh = await kube.list(CONFIG_MAP, namespace="default")

    final = {object_key(obj): obj for obj in fresh.items}
    assert {object_key(obj): obj for obj in informer.store.list()} == final
    assert {key[1] for key in final} == existing

    last = recorder.last_by_key()
    for key, obj in final.items():
        assert last[key].type in ("add", "update"), key
        assert last[key].object == obj, key
    for key in set(last) - set(final):
        assert last[key].type == "delete", key
    assert set(last) == {("default", name) for name in ever_created}

    stats = informer.reflector.stats
    assert stats.expired_watches == 1 and stats.relists == 1
    assert stats.watch_restarts >= OPERATIONS // 50 - 2

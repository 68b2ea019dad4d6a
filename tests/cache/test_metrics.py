"""Where the cache's metrics go: into the registry its factory or informer was given, shared by
every informer of that registry; without one, only into the reflectors' `stats`."""

from __future__ import annotations

from pathlib import Path

import prometheus_client
from prometheus_client import CollectorRegistry

from controllerkit.cache import InformerFactory, SharedInformer
from controllerkit.cache.checkpoint_file import FileCheckpointStore
from controllerkit.client import KubeClient
from controllerkit.meta import CONFIG_MAP, SECRET

from .support import FAST, config_map, metric


async def test_informers_of_one_registry_share_its_families_labelled_by_kind(
    kube: KubeClient, tmp_path: Path,
) -> None:
    registry = CollectorRegistry()
    async with InformerFactory(kube, options=FAST, registry=registry,
                               checkpoint_store=FileCheckpointStore(tmp_path)) as informers:
        config_maps = informers.informer(CONFIG_MAP, namespace="default")
        other_config_maps = informers.informer(CONFIG_MAP, namespace="kube-system")
        secrets = informers.informer(SECRET, namespace="default")
        # An informer of its own, outside the factory, on the same registry.
        lone = SharedInformer(kube, CONFIG_MAP, namespace="kube-public", options=FAST,
                              registry=registry)
        async with lone:
            await informers.wait_for_sync(timeout=30)
            await lone.wait_for_sync(timeout=30)

    for kind in ("ConfigMap", "Secret"):
        assert metric(registry, "controllerkit_reflector_relists_total", kind) == 0
        assert metric(registry, "controllerkit_reflector_warm_starts_total", kind) == 0
    for informer in (config_maps, other_config_maps, secrets):
        scope = informer.reflector.scope
        assert registry.get_sample_value("controllerkit_checkpoint_saves_total",
                                         {"scope": scope}) is not None
    # No checkpoint store, no checkpoint series.
    assert registry.get_sample_value("controllerkit_checkpoint_saves_total",
                                     {"scope": lone.reflector.scope}) is None


async def test_without_a_registry_the_stats_count_and_nothing_is_exported(
    kube: KubeClient,
) -> None:
    await kube.create(CONFIG_MAP, config_map("settings"))
    informer = SharedInformer(kube, CONFIG_MAP, namespace="default", options=FAST)
    async with informer:
        await informer.wait_for_sync(timeout=30)

    assert informer.reflector.stats.lists + informer.reflector.stats.streaming_lists == 1
    exported = [family.name for family in prometheus_client.REGISTRY.collect()
                if family.name.startswith("controllerkit_")]
    assert exported == []

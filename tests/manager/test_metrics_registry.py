"""One registry per manager: the informers' reflector and checkpoint metrics are served on the
manager's `/metrics`, next to its controllers' metrics, and never mixed with another
manager's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from controllerkit.cache import InformerFactory, checkpoint_scope
from controllerkit.cache.checkpoint_file import FileCheckpointStore
from controllerkit.client import KubeClient
from controllerkit.manager import Manager
from controllerkit.meta import CONFIG_MAP
from controllerkit.reconcile import Request, Result
from controllerkit.testing import eventually

from ..client.kinds import configmap

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

KIND = (("kind", "ConfigMap"),)
SCOPE = (("scope", checkpoint_scope(CONFIG_MAP, "default", "", "")),)
REFLECTOR_COUNTERS = ("controllerkit_reflector_relists_total",
                      "controllerkit_reflector_replay_window_exceeded_total",
                      "controllerkit_reflector_warm_starts_total",
                      "controllerkit_reflector_watch_restarts_total")
CHECKPOINT_SAMPLES = ("controllerkit_checkpoint_saves_total",
                      "controllerkit_checkpoint_save_failures_total",
                      "controllerkit_checkpoint_load_failures_total",
                      "controllerkit_checkpoint_last_save_timestamp_seconds",
                      "controllerkit_checkpoint_last_save_duration_seconds")


class Reconciled:
    """A reconciler that only remembers what it was asked to reconcile."""

    def __init__(self) -> None:
        self.requests: set[Request] = set()

    async def reconcile(self, request: Request) -> Result:
        self.requests.add(request)
        return Result()


def manager_over_config_maps(kube: KubeClient, *, checkpoints: FileCheckpointStore | None = None,
                             ) -> tuple[Manager, Reconciled]:
    """A manager with one controller over the ConfigMaps of `default`; with `checkpoints`, its
    informers come from a factory built by the caller with that store and one registry shared
    with the manager, as a user who wants checkpoints builds them."""
    if checkpoints is None:
        manager = Manager(kube, metrics_bind_address="0", health_probe_bind_address="0")
    else:
        registry = CollectorRegistry()
        manager = Manager(
            kube, metrics_bind_address="0", health_probe_bind_address="0", registry=registry,
            informers=InformerFactory(kube, checkpoint_store=checkpoints, registry=registry))
    reconciler = Reconciled()
    (manager.controller_builder().named("configmaps").for_(CONFIG_MAP, namespace="default")
     .build(reconciler))
    return manager, reconciler


@asynccontextmanager
async def running(manager: Manager) -> AsyncIterator[None]:
    """Run the manager until the block ends and it has stopped; ready (synced) in the block."""
    task = asyncio.get_running_loop().create_task(manager.run())

    async def ready() -> bool:
        if task.done():
            task.result()
        if manager.health_probe_url is None:
            return False
        status, _ = await get(f"{manager.health_probe_url}/readyz")
        return status == 200

    try:
        await eventually(ready)
        yield
    finally:
        manager.stop()
        await asyncio.wait_for(asyncio.shield(task), 30)


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as answer:
        return answer.status, await answer.text()


async def scrape(manager: Manager) -> Samples:
    """Every sample `/metrics` serves, by name and sorted labels."""
    status, text = await get(f"{manager.metrics_url}/metrics")
    assert status == 200
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


async def checkpoint_saved(manager: Manager) -> None:
    async def saved() -> bool:
        return (await scrape(manager)).get(("controllerkit_checkpoint_saves_total", SCOPE),
                                           0) >= 1
    await eventually(saved)


async def test_reflector_and_checkpoint_metrics_are_served_on_the_managers_metrics(
    kube: KubeClient, tmp_path: Path,
) -> None:
    for number in range(3):
        await kube.create(CONFIG_MAP, configmap(f"cm-{number}"), namespace="default")
    manager, reconciler = manager_over_config_maps(kube, checkpoints=FileCheckpointStore(tmp_path))

    async with running(manager):
        await eventually(lambda: _reconciled(reconciler, 3))
        await checkpoint_saved(manager)
        samples = await scrape(manager)

    for counter in REFLECTOR_COUNTERS:
        assert (counter, KIND) in samples, counter
    assert samples[("controllerkit_reflector_warm_starts_total", KIND)] == 0  # a cold start
    assert samples[("controllerkit_reflector_relists_total", KIND)] == 0
    for sample in CHECKPOINT_SAMPLES:
        assert (sample, SCOPE) in samples, sample
    assert samples[("controllerkit_checkpoint_save_failures_total", SCOPE)] == 0
    assert samples[("controllerkit_checkpoint_last_save_timestamp_seconds", SCOPE)] > 0
    # The manager's own families come from the same registry.
    assert ("controller_runtime_reconcile_total",
            (("controller", "configmaps"), ("result", "success"))) in samples


async def test_two_managers_in_one_process_each_serve_only_their_own_numbers(
    kube: KubeClient, tmp_path: Path,
) -> None:
    await kube.create(CONFIG_MAP, configmap("settings"), namespace="default")
    checkpoints = FileCheckpointStore(tmp_path)
    first, _ = manager_over_config_maps(kube, checkpoints=checkpoints)
    async with running(first):
        await checkpoint_saved(first)

    # One manager restarts from that checkpoint, the other (the default factory, no
    # checkpoints) lists: both watch ConfigMaps, in one process, at the same time.
    warm, _ = manager_over_config_maps(kube, checkpoints=checkpoints)
    cold, _ = manager_over_config_maps(kube)
    async with running(warm), running(cold):
        warm_samples = await scrape(warm)
        cold_samples = await scrape(cold)

    assert warm_samples[("controllerkit_reflector_warm_starts_total", KIND)] == 1
    assert cold_samples[("controllerkit_reflector_warm_starts_total", KIND)] == 0
    assert first.registry.get_sample_value(
        "controllerkit_reflector_warm_starts_total", dict(KIND)) == 0
    assert ("controllerkit_checkpoint_saves_total", SCOPE) in warm_samples
    assert not [name for name, _ in cold_samples if name.startswith("controllerkit_checkpoint_")]


async def _reconciled(reconciler: Reconciled, count: int) -> bool:
    return len(reconciler.requests) >= count

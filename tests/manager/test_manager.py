"""The Manager in-process: readiness, cache sync failures, metrics, quarantine over HTTP,
and the graceful stop."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.cache import BackoffPolicy, CacheSyncTimeout, InformerFactory, ReflectorOptions
from controllerkit.client import KubeClient
from controllerkit.errors import Forbidden, NoKindMatch
from controllerkit.manager import QUARANTINE_EVENT_REASON, BindAddress, Manager, parse_bind_address
from controllerkit.meta import CONFIG_MAP, CUSTOM_RESOURCE_DEFINITION, EVENT, NAMESPACE
from controllerkit.reconcile import Request, Result
from controllerkit.testing import eventually
from controllerkit.workqueue import ItemExponentialFailureRateLimiter

from ..apiserver.manifests import widget_crd
from ..client.kinds import WIDGET, configmap

FAST_RETRIES = ItemExponentialFailureRateLimiter[Request](0.001, 0.01)


class Recorder:
    """Counts reconciles; raises for the keys in `failing`; blocks while `gate` is clear."""

    def __init__(self) -> None:
        self.calls: Counter[Request] = Counter()
        self.failing: set[str] = set()
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()

    async def reconcile(self, request: Request) -> Result:
        self.calls[request] += 1
        self.started.set()
        await self.gate.wait()
        if request.name in self.failing:
            raise RuntimeError(f"backend refused {request.name}")
        return Result()


def manager_for(kube: KubeClient, **options: object) -> Manager:
    return Manager(kube, metrics_bind_address="0", health_probe_bind_address="0",
                   **options)  # type: ignore[arg-type]


@asynccontextmanager
async def running(manager: Manager) -> AsyncIterator[asyncio.Task[None]]:
    """Run the manager in a task until the block ends, then stop it and check it ended well."""
    task = asyncio.get_running_loop().create_task(manager.run())
    try:
        await eventually(lambda: _done_or(task, manager.health_probe_url is not None))
        yield task
    finally:
        manager.stop()
        await asyncio.wait_for(asyncio.shield(task), 30)


async def _done_or(task: asyncio.Task[None], condition: bool) -> bool:
    if task.done():
        task.result()
    return condition


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as answer:
        return answer.status, await answer.text()


async def post(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(url) as answer:
        return answer.status, await answer.text()


async def scrape(manager: Manager) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, text = await get(f"{manager.metrics_url}/metrics")
    assert status == 200
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


async def test_readyz_answers_503_until_the_caches_sync_then_200(kube: KubeClient) -> None:
    fast_relist = ReflectorOptions(backoff=BackoffPolicy(initial=0.02, cap=0.05))
    manager = manager_for(kube, informers=InformerFactory(kube, options=fast_relist))
    manager.controller_builder().for_(WIDGET).build(Recorder())  # CRD not installed yet
    async with running(manager):
        assert await get(f"{manager.health_probe_url}/readyz") == (
            503, "not ready: caches not synced, or stopping")
        assert (await get(f"{manager.health_probe_url}/healthz"))[0] == 200

        await kube.create(CUSTOM_RESOURCE_DEFINITION, widget_crd())

        async def ready() -> bool:
            return (await get(f"{manager.health_probe_url}/readyz"))[0] == 200
        await eventually(ready)


async def test_a_kind_that_is_not_installed_fails_at_start_naming_it(
    kube: KubeClient,
) -> None:
    manager = manager_for(kube, kind_check_timeout=0.2)
    manager.controller_builder().for_(WIDGET).build(Recorder())

    with pytest.raises(NoKindMatch) as raised:
        await manager.run()

    assert str(raised.value).startswith(
        "no kind Widget in example.com/v1: the server does not serve example.com/v1")


async def test_metrics_show_reconcile_and_workqueue_counters_moving(kube: KubeClient) -> None:
    manager = manager_for(kube)
    reconciler = Recorder()
    (manager.controller_builder().named("configmaps").for_(CONFIG_MAP, namespace="default")
     .with_options(max_concurrent_reconciles=3).build(reconciler))
    async with running(manager):
        before = await scrape(manager)
        for number in range(5):
            await kube.create(CONFIG_MAP, configmap(f"cm-{number}"), namespace="default")
        await eventually(lambda: _at_least(reconciler, 5))

        after = await scrape(manager)

    success = ("controller_runtime_reconcile_total",
               (("controller", "configmaps"), ("result", "success")))
    assert after[success] - before.get(success, 0) >= 5
    timed = ("controller_runtime_reconcile_time_seconds_count", (("controller", "configmaps"),))
    assert after[timed] >= 5
    adds = ("workqueue_adds_total", (("name", "configmaps"),))
    assert after[adds] - before.get(adds, 0) >= 5
    workers = ("controller_runtime_max_concurrent_reconciles", (("controller", "configmaps"),))
    assert after[workers] == 3
    errors = ("controller_runtime_reconcile_errors_total", (("controller", "configmaps"),))
    assert after[errors] == 0


async def _at_least(reconciler: Recorder, count: int) -> bool:
    return len(reconciler.calls) >= count


async def test_quarantined_key_is_listed_evented_and_requeued_over_http(
    kube: KubeClient,
) -> None:
    manager = manager_for(kube)
    reconciler = Recorder()
    reconciler.failing.add("poisoned")
    (manager.controller_builder().named("configmaps").for_(CONFIG_MAP, namespace="default")
     .with_options(max_retries=2, rate_limiter=FAST_RETRIES).build(reconciler))
    quarantine = "/controllers/configmaps/quarantine"
    async with running(manager):
        await kube.create(CONFIG_MAP, configmap("poisoned"), namespace="default")
        await kube.create(CONFIG_MAP, configmap("healthy"), namespace="default")
        listing: list[dict[str, object]] = []

        async def listed() -> bool:
            nonlocal listing
            status, _ = await get(f"{manager.health_probe_url}{quarantine}")
            async with aiohttp.ClientSession() as session, session.get(
                    f"{manager.health_probe_url}{quarantine}") as answer:
                listing = await answer.json()
            return status == 200 and bool(listing)
        await eventually(listed)

        assert [(item["namespace"], item["name"], item["failures"]) for item in listing] == [
            ("default", "poisoned", 3)]
        assert "backend refused poisoned" in str(listing[0]["lastError"])
        assert reconciler.calls[Request("default", "healthy")] == 1
        gauge = ("controllerkit_quarantined_keys", (("controller", "configmaps"),))
        assert (await scrape(manager))[gauge] == 1

        async def evented() -> bool:
            events = await kube.list(EVENT, namespace="default")
            return any(event["reason"] == QUARANTINE_EVENT_REASON
                       and event["involvedObject"]["name"] == "poisoned"
                       for event in events.items)
        await eventually(evented)

        reconciler.failing.clear()
        calls_before = reconciler.calls[Request("default", "poisoned")]
        requeue = f"{manager.health_probe_url}{quarantine}/default/poisoned/requeue"
        assert (await post(requeue))[0] == 200

        async def reconciled_again() -> bool:
            return reconciler.calls[Request("default", "poisoned")] > calls_before
        await eventually(reconciled_again)
        assert (await get(f"{manager.health_probe_url}{quarantine}")) == (200, "[]")
        assert (await post(requeue))[0] == 404
        assert (await get(f"{manager.health_probe_url}/controllers/nope/quarantine"))[0] == 404


async def test_cluster_scoped_keys_use_underscore_as_namespace_in_requeue(
    kube: KubeClient,
) -> None:
    manager = manager_for(kube)
    reconciler = Recorder()
    reconciler.failing.add("doomed")
    (manager.controller_builder().named("namespaces").for_(NAMESPACE)
     .with_options(max_retries=0, rate_limiter=FAST_RETRIES).build(reconciler))
    async with running(manager):
        await kube.create(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": "doomed"}})

        async def quarantined() -> bool:
            return bool(manager.controllers["namespaces"].quarantined())
        await eventually(quarantined)

        reconciler.failing.clear()
        url = f"{manager.health_probe_url}/controllers/namespaces/quarantine/_/doomed/requeue"
        assert (await post(url))[0] == 200

        async def reconciled_again() -> bool:
            return reconciler.calls[Request("", "doomed")] == 2
        await eventually(reconciled_again)
        assert manager.controllers["namespaces"].quarantined() == []


async def test_stop_lets_the_in_flight_reconcile_finish_and_starts_no_other(
    kube: KubeClient,
) -> None:
    manager = manager_for(kube)
    reconciler = Recorder()
    manager.controller_builder().for_(CONFIG_MAP, namespace="default").build(reconciler)
    for name in ("one", "two"):
        await kube.create(CONFIG_MAP, configmap(name), namespace="default")
    reconciler.gate.clear()
    task = asyncio.get_running_loop().create_task(manager.run())
    await asyncio.wait_for(reconciler.started.wait(), 30)

    manager.stop()
    await eventually(lambda: _not_ready(manager))
    reconciler.gate.set()
    await asyncio.wait_for(task, 30)

    assert sum(reconciler.calls.values()) == 1
    stats = manager.controllers["configmaps"].stats
    assert stats.results["success"] == 1


async def _not_ready(manager: Manager) -> bool:
    return not manager.ready


async def test_cancelling_run_stops_gracefully_then_raises_the_cancellation(
    kube: KubeClient,
) -> None:
    manager = manager_for(kube)
    reconciler = Recorder()
    manager.controller_builder().for_(CONFIG_MAP, namespace="default").build(reconciler)
    await kube.create(CONFIG_MAP, configmap("in-flight"), namespace="default")
    reconciler.gate.clear()
    task = asyncio.get_running_loop().create_task(manager.run())
    await asyncio.wait_for(reconciler.started.wait(), 30)

    task.cancel()
    await eventually(lambda: _not_ready(manager))
    assert not task.done()  # the reconcile in flight holds the graceful stop
    reconciler.gate.set()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    assert manager.controllers["configmaps"].stats.results["success"] == 1


async def test_reconcile_still_running_after_the_grace_period_is_cancelled(
    kube: KubeClient,
) -> None:
    manager = manager_for(kube, graceful_shutdown_timeout=0.1)
    reconciler = Recorder()
    manager.controller_builder().for_(CONFIG_MAP, namespace="default").build(reconciler)
    await kube.create(CONFIG_MAP, configmap("stuck"), namespace="default")
    reconciler.gate.clear()  # never opened: the reconcile only ends by cancellation
    task = asyncio.get_running_loop().create_task(manager.run())
    await asyncio.wait_for(reconciler.started.wait(), 30)

    manager.stop()

    await asyncio.wait_for(task, 30)
    assert manager.controllers["configmaps"].stats.active_workers == 0


async def test_watches_default_to_the_manager_namespace(kube: KubeClient) -> None:
    manager = manager_for(kube, namespace="team-a")
    reconciler = Recorder()
    manager.controller_builder().for_(CONFIG_MAP).build(reconciler)
    for namespace in ("team-a", "team-b"):
        await kube.create(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": namespace}})
        await kube.create(CONFIG_MAP, configmap("settings", namespace), namespace=namespace)
    async with running(manager):
        await eventually(lambda: _at_least(reconciler, 1))
    assert list(reconciler.calls) == [Request("team-a", "settings")]


@pytest.mark.parametrize(("value", "expected"), [
    ("", None),
    ("0", BindAddress("127.0.0.1", 0)),
    ("127.0.0.1:8080", BindAddress("127.0.0.1", 8080)),
    (":9090", BindAddress("0.0.0.0", 9090)),
    ("[::1]:8443", BindAddress("::1", 8443)),
])
def test_bind_addresses_parse(value: str, expected: BindAddress | None) -> None:
    assert parse_bind_address(value) == expected


@pytest.mark.parametrize("value", ["8080", "localhost", "host:port", "1.2.3.4:70000"])
def test_bad_bind_address_is_rejected_with_the_value(value: str) -> None:
    with pytest.raises(ValueError, match="is not host:port"):
        parse_bind_address(value)


def test_controller_names_must_be_unique(kube: KubeClient) -> None:
    manager = manager_for(kube)
    manager.controller_builder().named("twin").for_(CONFIG_MAP).build(Recorder())
    with pytest.raises(ValueError, match="already added"):
        manager.controller_builder().named("twin").for_(CONFIG_MAP).build(Recorder())


async def test_cache_sync_timeout_names_the_kind_the_credentials_may_not_list(
    tmp_path: Path,
) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        "identities:\n"
        "  - name: widget-viewer\n"
        "    token: viewer-secret\n"
        "    rules:\n"
        "      - {verbs: [list, watch], apiGroups: [example.com], resources: [widgets]}\n")
    async with EmbeddedApiServer(tls=True, tokens_file=tokens) as server, \
            KubeClient.from_kubeconfig(server.kubeconfig_path) as kube:
        manager = manager_for(kube, cache_sync_timeout=0.3)
        manager.controller_builder().for_(CONFIG_MAP, namespace="default").build(Recorder())

        with pytest.raises(CacheSyncTimeout) as raised:
            await manager.run()

    assert str(raised.value).startswith(
        "ConfigMap namespace=default: cache not synced after 0.3s")
    assert isinstance(raised.value.last_error, Forbidden)
    # a streaming list is a watch; without it, a list: either is refused
    assert re.search(r'User "widget-viewer" cannot (list|watch) resource "configmaps"',
                     str(raised.value))

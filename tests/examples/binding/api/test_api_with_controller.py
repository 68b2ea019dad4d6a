"""The internal API driving the real binding controller and runtime simulator (run in the
test's event loop): a binding upserted through the API becomes ready, and `:replace` of its
runtime answers 202 until the replacement is Ready, then 200 — after which the binding has
cut over and the old runtime goes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from controllerkit import Manager
from controllerkit.testing import eventually
from examples.binding.app import Settings, create_manager
from examples.binding.kinds import SPRITZ
from examples.binding.simulator import SimulatorSettings

from ...support import running
from .support import NAMESPACE, ApiCluster, InternalApi, upsert_body

KEY = "workspace-bob"


@contextlib.asynccontextmanager
async def controller(cluster: ApiCluster) -> AsyncIterator[Manager]:
    settings = Settings(simulator=True, retry_delay=0.2, simulator_settings=SimulatorSettings(
        ready_delay=0.3, deletion_hold=0.3))
    manager = create_manager(cluster.admin, settings, namespace=NAMESPACE,
                             metrics_bind_address="", health_probe_bind_address="")
    async with running(manager):
        yield manager


async def runtime_names(cluster: ApiCluster) -> set[str]:
    page = await cluster.admin.list(SPRITZ, namespace=NAMESPACE)
    return {item["metadata"]["name"] for item in page.items}


async def test_a_binding_upserted_through_the_api_is_replaced_through_it(
        api: InternalApi, cluster: ApiCluster) -> None:
    async with controller(cluster):
        assert (await api.put_binding(KEY, upsert_body(revision="r1"))).status == 201

        async def ready_on(revision: str) -> dict[str, Any]:
            status: dict[str, Any] = (await api.get_binding(KEY)).data["status"]
            assert (status.get("phase"), status.get("observedRevision")) == ("ready", revision)
            return status

        status = await eventually(lambda: ready_on("r1"))
        source = status["activeInstanceRef"]["name"]

        first = await api.replace(source, {"targetRevision": "r2", "idempotencyKey": "k1"})
        assert (first.status, first.data["replayed"]) == (202, False)
        replacement = first.data["replacement"]["instanceId"]
        assert replacement != source

        async def replayed_ready() -> dict[str, Any]:
            answer = await api.replace(source, {"targetRevision": "r2",
                                                "idempotencyKey": "k1"})
            assert answer.data["replacement"]["instanceId"] == replacement
            assert answer.data["replayed"] is True
            assert answer.status == 200, answer
            data: dict[str, Any] = answer.data
            return data

        done = await eventually(replayed_ready)
        assert done["replacement"] == {"namespace": NAMESPACE, "instanceId": replacement,
                                       "targetRevision": "r2", "phase": "Ready",
                                       "ready": True}

        status = await eventually(lambda: ready_on("r2"))
        assert status["activeInstanceRef"]["name"] == replacement

        async def only_the_replacement_left() -> bool:
            return await runtime_names(cluster) == {replacement}

        await eventually(only_the_replacement_left)

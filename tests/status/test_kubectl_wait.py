"""`kubectl wait --for=condition=Ready=true` returns once the gate pipeline marks Ready."""

from __future__ import annotations

import asyncio

from controllerkit.apiserver import ThreadedApiServer
from controllerkit.client import KubeClient
from controllerkit.gates import Phase
from controllerkit.meta import CUSTOM_RESOURCE_DEFINITION, JSONObject
from controllerkit.status import StatusWriter
from controllerkit.testing import Kubectl

from ..apiserver.manifests import widget, widget_crd
from .conftest import WIDGET
from .demo import World, lifecycle


async def reconcile(kube: KubeClient, world: World) -> JSONObject:
    """One reconcile of w1: read, run the gates, write the status if it changed."""
    obj = await kube.get(WIDGET, "w1", namespace="default")
    status: JSONObject = {**(obj.get("status") or {})}
    status["conditions"] = [dict(c) for c in status.get("conditions") or ()]
    await lifecycle().run(world, status, generation=obj["metadata"]["generation"])
    return await StatusWriter(kube).patch(WIDGET, obj, status)


async def test_kubectl_wait_for_ready_returns_once_the_pipeline_marks_ready(
    apiserver: ThreadedApiServer, kubectl: Kubectl,
) -> None:
    async with KubeClient.from_kubeconfig(apiserver.kubeconfig_path) as kube:
        await kube.create(CUSTOM_RESOURCE_DEFINITION, widget_crd())
        await kube.create(WIDGET, widget("w1"))
        syncing = await reconcile(kube, World(snapshot="Running"))
        assert syncing["status"]["phase"] == Phase.SYNCING

        not_yet = await kubectl.arun("wait", "--for=condition=Ready=true", "widget/w1",
                                     "--timeout=1s", check=False)
        assert not_yet.returncode != 0

        waiter = asyncio.create_task(kubectl.arun(
            "wait", "--for=condition=Ready=true", "widget/w1", "--timeout=30s"))
        synced = await kubectl.arun("wait", "--for=condition=SnapshotSynced=false", "widget/w1",
                                    "--timeout=10s")
        assert "condition met" in synced.stdout
        running = await reconcile(kube, World())
        assert running["status"]["phase"] == Phase.RUNNING
        done = await asyncio.wait_for(waiter, 40)
        assert done.returncode == 0 and "widget.example.com/w1 condition met" in done.stdout

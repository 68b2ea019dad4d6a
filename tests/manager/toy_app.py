"""A toy controller process for the `controllerkit run` tests.

`build` is an async factory: it installs the Widget CRD (so it also works with `--embedded`)
and returns a Manager whose one worker marks each widget `Ready`. A widget annotated
`toy.example.com/slow-seconds` takes that long to reconcile; the reconciler logs
`reconcile started <key>` and `reconcile finished <key>` around its work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from controllerkit.client import Client
from controllerkit.errors import AlreadyExists
from controllerkit.manager import Manager
from controllerkit.meta import CUSTOM_RESOURCE_DEFINITION, resource_version
from controllerkit.reconcile import Request, Result

from ..apiserver.manifests import widget_crd
from ..client.kinds import WIDGET

SLOW_ANNOTATION = "toy.example.com/slow-seconds"

logger = logging.getLogger("toy")


class MarkReady:
    """Sets the `Ready` condition at the widget's generation, after its slow delay if any."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def reconcile(self, request: Request) -> Result:
        logger.info("reconcile started %s", request)
        widget = await self.client.get(WIDGET, request.name, namespace=request.namespace)
        annotations = widget["metadata"].get("annotations") or {}
        await asyncio.sleep(float(annotations.get(SLOW_ANNOTATION, 0)))
        generation = widget["metadata"]["generation"]
        await self.client.patch_status(WIDGET, request.name, {"status": {
            "observedGeneration": generation,
            "conditions": [{"type": "Ready", "status": "True", "reason": "Reconciled",
                            "message": "", "observedGeneration": generation,
                            "lastTransitionTime": "2026-01-01T00:00:00Z"}],
        }}, namespace=request.namespace, resource_version=resource_version(widget))
        logger.info("reconcile finished %s", request)
        return Result()


async def build(client: Client, namespace: str | None = None) -> Manager:
    with contextlib.suppress(AlreadyExists):
        await client.create(CUSTOM_RESOURCE_DEFINITION, widget_crd())
    manager = Manager(client, namespace=namespace, metrics_bind_address="0",
                      health_probe_bind_address="0", cache_sync_timeout=30)
    manager.controller_builder().for_(WIDGET).build(MarkReady(client))
    return manager

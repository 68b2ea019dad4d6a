"""The replica the high-availability benchmark runs: a status-writing Gadget controller.

    controllerkit run benchmarks.ha_app:build --kubeconfig K --shard-name bench ...

Each reconcile reads the Gadget from the manager's cache and, when its status lags its
generation, writes `status.observedGeneration` with the cached resourceVersion as the
precondition (a stale cache gets a Conflict and a retry, as in any real controller).
"""

from __future__ import annotations

from controllerkit.cache import Store
from controllerkit.client import Client
from controllerkit.controller import GENERATION_CHANGED
from controllerkit.manager import Manager
from controllerkit.meta import ResourceKind, resource_version
from controllerkit.reconcile import Request, Result

from .resources import GROUP, NAMESPACE, PLURAL, VERSION

GADGET = ResourceKind(GROUP, VERSION, "Gadget", PLURAL)


class WriteObservedGeneration:
    """Brings `status.observedGeneration` up to the cached object's generation."""

    def __init__(self, client: Client, store: Store) -> None:
        self.client = client
        self.store = store

    async def reconcile(self, request: Request) -> Result:
        gadget = self.store.get((request.namespace, request.name))
        if gadget is None:
            return Result()
        generation = gadget["metadata"].get("generation", 1)
        if (gadget.get("status") or {}).get("observedGeneration") == generation:
            return Result()
        await self.client.patch_status(
            GADGET, request.name, {"status": {"observedGeneration": generation}},
            namespace=request.namespace, resource_version=resource_version(gadget))
        return Result()


def build(client: Client) -> Manager:
    """The manager of one replica; sharding or leader election come from the command line."""
    manager = Manager(client, namespace=NAMESPACE, metrics_bind_address="",
                      health_probe_bind_address="", cache_sync_timeout=60)
    store = manager.informers.informer(GADGET, namespace=NAMESPACE).store
    (manager.controller_builder()
        .for_(GADGET, predicates=[GENERATION_CHANGED])
        .with_options(max_concurrent_reconciles=4)
        .build(WriteObservedGeneration(client, store)))
    return manager

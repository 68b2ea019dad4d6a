"""A toy reconciler used by the controller tests: marks each object Ready at its generation."""

from __future__ import annotations

from collections import Counter
from typing import Any

from controllerkit.cache import Store
from controllerkit.client import Client
from controllerkit.meta import ResourceKind, resource_version
from controllerkit.reconcile import Request, Result


def is_ready_at_latest_generation(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    generation = obj["metadata"].get("generation")
    return status.get("observedGeneration") == generation and any(
        c["type"] == "Ready" and c["status"] == "True" and c.get("observedGeneration") ==
        generation for c in status.get("conditions", ()))


class ReadyMarker:
    """Reads the object from the cache and writes `Ready` at its generation, if not there."""

    def __init__(self, client: Client, kind: ResourceKind, store: Store) -> None:
        self.client = client
        self.kind = kind
        self.store = store
        self.calls: Counter[Request] = Counter()

    async def reconcile(self, request: Request) -> Result:
        self.calls[request] += 1
        obj = self.store.get(request.key)
        if obj is None or is_ready_at_latest_generation(obj):
            return Result()
        generation = obj["metadata"]["generation"]
        await self.client.patch_status(
            self.kind, request.name, {"status": {
                "observedGeneration": generation,
                "conditions": [{"type": "Ready", "status": "True", "reason": "Reconciled",
                                "message": "", "observedGeneration": generation,
                                "lastTransitionTime": "2026-01-01T00:00:00Z"}],
            }}, namespace=request.namespace, resource_version=resource_version(obj))
        return Result()

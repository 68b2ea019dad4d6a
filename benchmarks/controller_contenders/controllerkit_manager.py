"""Contender (b): a controllerkit `Manager` running one controller with 16 workers.

    python -m benchmarks.controller_contenders.controllerkit_manager --kubeconfig PATH

The reconciler reads the Gadget from the manager's cache, sets `Ready=True` with
`set_condition` and writes the status with a `StatusWriter` (a merge patch of what changed,
preconditioned on the cached resourceVersion; a stale cache gets a Conflict and the key is
retried). Updates that do not change the generation (its own status writes) are filtered out
by `GENERATION_CHANGED`, as a status-writing controller usually does. SIGTERM stops it
gracefully (`run_until_signalled`, exit 0).

Kept apart from the other contenders so it can follow the library's controller API.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from controllerkit.cache import Store
from controllerkit.client import KubeClient
from controllerkit.conditions import set_condition
from controllerkit.controller import GENERATION_CHANGED
from controllerkit.manager import Manager
from controllerkit.meta import JSONObject, ResourceKind
from controllerkit.reconcile import Request, Result
from controllerkit.status import StatusWriter

from .job import GROUP, NAMESPACE, PLURAL, READY, VERSION

GADGET = ResourceKind(GROUP, VERSION, "Gadget", PLURAL)
WORKERS = 16


class MarkReady:
    """Brings the cached Gadget's `Ready` condition to True at its generation."""

    def __init__(self, gadgets: Store, writer: StatusWriter) -> None:
        self.gadgets = gadgets
        self.writer = writer

    async def reconcile(self, request: Request) -> Result:
        gadget = self.gadgets.get(request.key)
        if gadget is None:
            return Result()
        status: JSONObject = dict(gadget.get("status") or {})
        conditions = [dict(c) for c in status.get("conditions") or ()]
        ready = {"type": READY, "status": "True", "reason": "Reconciled", "message": "",
                 "observedGeneration": gadget["metadata"].get("generation", 1)}
        if set_condition(conditions, ready):
            status["conditions"] = conditions
            await self.writer.patch(GADGET, gadget, status)
        return Result()


def build(client: KubeClient) -> Manager:
    """The manager: no metrics or probe servers, only the controller."""
    manager = Manager(client, namespace=NAMESPACE, metrics_bind_address="",
                      health_probe_bind_address="", cache_sync_timeout=60)
    gadgets = manager.informers.informer(GADGET, namespace=NAMESPACE).store
    (manager.controller_builder()
        .for_(GADGET, predicates=[GENERATION_CHANGED])
        .with_options(max_concurrent_reconciles=WORKERS)
        .build(MarkReady(gadgets, StatusWriter(client, field_manager="bench-controller"))))
    return manager


async def serve(kubeconfig: Path) -> None:
    async with KubeClient.from_kubeconfig(kubeconfig) as client:
        await build(client).run_until_signalled()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.controller_contenders.controllerkit_manager",
        description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(args.kubeconfig))
    return 0


if __name__ == "__main__":
    sys.exit(main())

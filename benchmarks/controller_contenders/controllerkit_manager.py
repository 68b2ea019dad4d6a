"""Contender (b): a controllerkit controller written the one way, with 16 workers.

    python -m benchmarks.controller_contenders.controllerkit_manager --kubeconfig PATH

`Manager.controller` hands the reconcile function each Gadget as the cache holds it; the
function sets `Ready=True` with `ctx.set_condition` and writes it with
`ctx.client.write_status` (a merge patch of what changed, preconditioned on the
resourceVersion read). The echo of its own status write costs no reconcile (the manager knows
its own writes), so no predicate is needed. SIGTERM stops it gracefully
(`run_until_signalled`, exit 0).

Kept apart from the other contenders so it can follow the library's controller API.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from controllerkit import Context, Manager, Result
from controllerkit.meta import JSONObject, ResourceKind

from .job import GROUP, NAMESPACE, PLURAL, READY, VERSION

GADGET = ResourceKind(GROUP, VERSION, "Gadget", PLURAL)
WORKERS = 16


def build(kubeconfig: Path) -> Manager:
    """The manager: no metrics or probe servers, only the controller."""
    manager = Manager.from_kubeconfig(kubeconfig, namespace=NAMESPACE, metrics_bind_address="",
                                      health_probe_bind_address="", cache_sync_timeout=60)

    @manager.controller(GADGET, max_concurrent_reconciles=WORKERS)
    async def mark_ready(gadget: JSONObject | None, ctx: Context) -> Result | None:
        if gadget is not None and ctx.set_condition(gadget, READY, True, reason="Reconciled"):
            await ctx.client.write_status(gadget)
        return None

    return manager


async def serve(kubeconfig: Path) -> None:
    await build(kubeconfig).run_until_signalled()


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

"""Contender (c): a kopf operator with one `@kopf.on.create` handler.

    python -m benchmarks.controller_contenders.kopf_operator --kubeconfig PATH

The handler sets `Ready=True` through kopf's patch (`patch.status`), which kopf sends as a
merge patch of `/status` when the handling cycle ends, along with its own bookkeeping (the
last-handled configuration in an annotation; progress under `status.kopf` when a handler
needs retries). kopf runs in this process's asyncio loop (`kopf.operator`, as `kopf run`
would, but without uvloop so every contender has the same loop), standalone (no peering),
without scanning for CRDs or namespaces, with its logging quiet (`kopf.configure(quiet=True)`)
and without posting a Kubernetes Event per handled object, which the other contenders do not
do either. kopf handles SIGTERM itself: it stops and the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import kopf

from .job import GROUP, PLURAL, VERSION, api_server, ready_condition


def registry_for(kubeconfig: Path) -> kopf.OperatorRegistry:
    url, token = api_server(kubeconfig)
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        if token is None:
            return kopf.ConnectionInfo(server=url)
        return kopf.ConnectionInfo(server=url, scheme="Bearer", token=token)

    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    async def mark_ready(meta: kopf.Meta, patch: kopf.Patch, **_: Any) -> None:
        patch.status["conditions"] = [ready_condition(meta.get("generation", 1))]

    return registry


def settings() -> kopf.OperatorSettings:
    chosen = kopf.OperatorSettings()
    chosen.scanning.disabled = True
    chosen.posting.enabled = False
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.controller_contenders.kopf_operator",
        description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    args = parser.parse_args(argv)
    kopf.configure(quiet=True)
    asyncio.run(kopf.operator(registry=registry_for(args.kubeconfig), settings=settings(),
                              clusterwide=True, standalone=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

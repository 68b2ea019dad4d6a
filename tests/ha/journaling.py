"""The replicas of the multi-process tests: one controller over labelled ConfigMaps whose
every reconcile records its start and end in a journal the replicas share.

`PREFIX_REPLICA` and `PREFIX_JOURNAL` in the environment name the replica and the journal
file (`tests.ha.replicas.Replica` sets them). The end is recorded also when the reconcile is
cancelled, around a short piece of work, and each reconcile asks to run again soon, so
reconciles go on all the time and any overlap between replicas would show.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from controllerkit.client import Client
from controllerkit.manager import Manager
from controllerkit.meta import CONFIG_MAP
from controllerkit.reconcile import Request, Result

from .journal import Journal


class JournaledWork:
    """Works on a key for `work_seconds`, journaling the start and the end, and asks to run
    again after `requeue_seconds`."""

    def __init__(self, journal: Journal, work_seconds: float, requeue_seconds: float) -> None:
        self.journal = journal
        self.work_seconds = work_seconds
        self.requeue_seconds = requeue_seconds

    async def reconcile(self, request: Request) -> Result:
        key = f"{request.namespace}/{request.name}"
        self.journal.record(key, "start")
        try:
            await asyncio.sleep(self.work_seconds)
        finally:
            self.journal.record(key, "end")
        return Result(requeue_after=self.requeue_seconds)


def journaling_manager(
    client: Client, env_prefix: str, *, controller: str, label: str, work_seconds: float,
    requeue_seconds: float, max_concurrent_reconciles: int, metrics_bind_address: str,
    health_probe_bind_address: str,
) -> Manager:
    """A manager in `default` with one controller, `controller`, journaling the reconciles of
    the ConfigMaps matching `label` to `$<env_prefix>_JOURNAL` as `$<env_prefix>_REPLICA`."""
    journal = Journal(Path(os.environ[f"{env_prefix}_JOURNAL"]),
                      os.environ[f"{env_prefix}_REPLICA"])
    manager = Manager(client, namespace="default", metrics_bind_address=metrics_bind_address,
                      health_probe_bind_address=health_probe_bind_address,
                      cache_sync_timeout=30, graceful_shutdown_timeout=5)
    (manager.controller_builder().named(controller)
        .for_(CONFIG_MAP, label_selector=label)
        .with_options(max_concurrent_reconciles=max_concurrent_reconciles)
        .build(JournaledWork(journal, work_seconds, requeue_seconds)))
    return manager

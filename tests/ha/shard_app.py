"""A sharded replica for the multi-process tests: reconciles ConfigMaps, journaling each one.

    SHARD_REPLICA=a SHARD_JOURNAL=/tmp/journal controllerkit run tests.ha.shard_app:build \\
        --kubeconfig K --shard-name shard-test --lease-duration 2 ...

Every reconcile of a ConfigMap labelled `shard-test=yes` records its start and its end in the
shared journal (the end also when it is cancelled because its key moved) around a short
piece of work, and asks to run again soon, so every key is reconciled all the time and any
overlap between replicas would show.
"""

from __future__ import annotations

from controllerkit.client import Client
from controllerkit.manager import Manager

from .journaling import journaling_manager

LABEL = "shard-test=yes"
CONTROLLER = "shard-configmaps"
WORK_SECONDS = 0.001
REQUEUE_SECONDS = 1.5


def build(client: Client) -> Manager:
    return journaling_manager(
        client, "SHARD", controller=CONTROLLER, label=LABEL, work_seconds=WORK_SECONDS,
        requeue_seconds=REQUEUE_SECONDS, max_concurrent_reconciles=32,
        metrics_bind_address="0", health_probe_bind_address="")

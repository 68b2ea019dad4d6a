"""A replica for the leader election tests: reconciles ConfigMaps, journaling each reconcile.

    LE_REPLICA=a LE_JOURNAL=/tmp/journal controllerkit run tests.ha.le_app:build \\
        --kubeconfig K --leader-elect --leader-election-id le-test ...

Every reconcile of a ConfigMap labelled `le-test=yes` records its start and end in the shared
journal (the end also when it is cancelled) around a short piece of work, and asks to run
again soon, so reconciles go on all the time and any overlap between replicas would show.
"""

from __future__ import annotations

from controllerkit.client import Client
from controllerkit.manager import Manager

from .journaling import journaling_manager

LABEL = "le-test=yes"
WORK_SECONDS = 0.05
REQUEUE_SECONDS = 0.3


def build(client: Client) -> Manager:
    return journaling_manager(
        client, "LE", controller="le-configmaps", label=LABEL, work_seconds=WORK_SECONDS,
        requeue_seconds=REQUEUE_SECONDS, max_concurrent_reconciles=4,
        metrics_bind_address="", health_probe_bind_address="0")

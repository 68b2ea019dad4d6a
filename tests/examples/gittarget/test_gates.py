"""The gates of a GitTarget, scenario by scenario (seed plan §7.2): each row sets up the
cluster and the remote, runs the controller, and checks every condition and the phase."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from controllerkit.meta import CONFIG_MAP
from controllerkit.testing import eventually
from examples.gittarget.app import Settings
from examples.gittarget.kinds import GIT_PROVIDER, GIT_TARGET, WATCH_RULE

from .support import (
    CONFIGMAPS_RULE,
    NAMESPACE,
    Cluster,
    RuleChange,
    conditions,
    provider,
    running,
    summary,
    target,
    watch_rule,
)

Setup = Callable[[Cluster, Path], Awaitable[None]]
NOT_STARTED = ("Unknown", "NotStarted")


async def create(cluster: Cluster, *objects: tuple[Any, dict[str, Any]]) -> None:
    for kind, obj in objects:
        await cluster.admin.create(kind, obj, namespace=NAMESPACE)


async def provider_missing(cluster: Cluster, remote: Path) -> None:
    await create(cluster, (GIT_TARGET, target()), (WATCH_RULE, watch_rule()))


async def encryption_secret_missing(cluster: Cluster, remote: Path) -> None:
    encryption = {"enabled": True, "secretRef": {"name": "age-key"},
                  "generateWhenMissing": False}
    await create(cluster, (GIT_PROVIDER, provider(remote)),
                 (GIT_TARGET, target(encryption=encryption)), (WATCH_RULE, watch_rule()))


async def remote_unreachable(cluster: Cluster, remote: Path) -> None:
    await create(cluster, (GIT_PROVIDER, provider(remote.parent / "no-such-repository.git")),
                 (GIT_TARGET, target()), (WATCH_RULE, watch_rule()))


async def happy_path(cluster: Cluster, remote: Path) -> None:
    await create(cluster, (CONFIG_MAP, {"metadata": {"name": "app"}, "data": {"k": "v"}}),
                 (GIT_PROVIDER, provider(remote)), (GIT_TARGET, target()),
                 (WATCH_RULE, watch_rule()))


async def unserved_resource(cluster: Cluster, remote: Path) -> None:
    widgets = {"apiGroups": ["example.com"], "apiVersions": ["v1"], "resources": ["widgets"]}
    await create(cluster, (GIT_PROVIDER, provider(remote)), (GIT_TARGET, target()),
                 (WATCH_RULE, watch_rule(rules=[CONFIGMAPS_RULE, widgets])))


@dataclass(frozen=True)
class Row:
    setup: Setup
    expected: dict[str, tuple[str, str]]
    phase: str
    stream: str | None = None
    """`status.stream.status` (None: no stream is registered)."""
    forbidden: tuple[str, ...] = ()
    """Resources the controller identity may not use (others as in rbac.yaml)."""


def gates(validated: tuple[str, str] = ("True", "OK"),
          encryption: tuple[str, str] = ("True", "NotRequired"),
          bootstrapped: tuple[str, str] = ("True", "BootstrapApplied"),
          snapshot: tuple[str, str] = ("True", "Completed"),
          stream: tuple[str, str] = ("True", "Registered"),
          ready: tuple[str, str] = ("True", "OK")) -> dict[str, tuple[str, str]]:
    return {"Validated": validated, "EncryptionConfigured": encryption,
            "Bootstrapped": bootstrapped, "SnapshotSynced": snapshot,
            "EventStreamLive": stream, "Ready": ready}


TABLE = {
    "provider missing": Row(provider_missing, gates(
        validated=("False", "ProviderNotFound"), encryption=NOT_STARTED,
        bootstrapped=NOT_STARTED, snapshot=NOT_STARTED, stream=NOT_STARTED,
        ready=("False", "ValidationFailed")), "BOOTSTRAPPING"),
    "encryption secret missing, generateWhenMissing=false": Row(
        encryption_secret_missing, gates(
            encryption=("False", "SecretCreateDisabled"), bootstrapped=NOT_STARTED,
            snapshot=NOT_STARTED, stream=NOT_STARTED,
            ready=("False", "EncryptionNotConfigured")), "BOOTSTRAPPING"),
    "worker cannot start: remote unreachable": Row(remote_unreachable, gates(
        bootstrapped=("False", "WorkerNotFound"), snapshot=NOT_STARTED, stream=NOT_STARTED,
        ready=("False", "BootstrapNotComplete")), "BOOTSTRAPPING"),
    "snapshot running: mirrored cache not synced": Row(happy_path, gates(
        snapshot=("False", "Running"), stream=NOT_STARTED,
        ready=("False", "InitialSyncInProgress")), "SYNCING", stream="Buffering",
        forbidden=("configmaps",)),
    "stream registration fails: resource not served": Row(unserved_resource, gates(
        stream=("False", "RegistrationFailed"), ready=("False", "StreamNotLive")), "PENDING",
        stream="Live"),
    "happy path": Row(happy_path, gates(), "RUNNING", stream="Live"),
}


@pytest.mark.parametrize(
    ("row", "controller_rules"),
    [pytest.param(row, RuleChange(drop=row.forbidden), id=name) for name, row in TABLE.items()],
    indirect=["controller_rules"],
)
async def test_gate_table(row: Row, cluster: Cluster, remote: Path,
                          settings: Settings) -> None:
    await row.setup(cluster, remote)
    async with running(cluster.controller_client, settings):
        await eventually(lambda: _ready_reason_is(cluster, row.expected["Ready"][1]))
        found = await conditions(cluster.admin)
        status = (await cluster.admin.get(GIT_TARGET, "cluster", namespace=NAMESPACE))["status"]
    assert summary(found) == row.expected
    assert status["phase"] == row.phase
    assert (status.get("stream") or {}).get("status") == row.stream
    assert status["observedGeneration"] == 1
    assert all(c["observedGeneration"] == 1 for c in found.values())


async def _ready_reason_is(cluster: Cluster, reason: str) -> bool:
    ready = (await conditions(cluster.admin)).get("Ready")
    return ready is not None and ready["reason"] == reason

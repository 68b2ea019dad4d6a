"""A small demo kind for the gate tests: a GitTarget-style lifecycle over an observed world.

`World` is what a GitTarget controller would observe (provider, secret, worker, snapshot,
stream); `lifecycle()` is its gate pipeline with its condition types and reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

from controllerkit.gates import Gate, GatePipeline, GateResult, PhaseRules


@dataclass(frozen=True)
class World:
    provider_exists: bool = True
    encryption: bool = False
    secret_exists: bool = True
    autocreate_secret: bool = False
    worker_exists: bool = True
    snapshot: str = "Completed"  # Completed | Running | Failed
    stream_registered: bool = True


async def validated(world: World) -> GateResult:
    if not world.provider_exists:
        return GateResult("False", "ProviderNotFound", "GitProvider example does not exist")
    return GateResult("True", "OK")


async def encryption_configured(world: World) -> GateResult:
    if not world.encryption:
        return GateResult("True", "NotRequired")
    if world.secret_exists or world.autocreate_secret:
        return GateResult("True", "OK")
    return GateResult("False", "MissingSecret", "secret sops-age is missing and autocreate is off")


async def bootstrapped(world: World) -> GateResult:
    if not world.worker_exists:
        return GateResult("False", "WorkerNotFound", "no worker for provider/main")
    return GateResult("True", "BootstrapApplied")


async def snapshot_synced(world: World) -> GateResult:
    if world.snapshot == "Running":
        return GateResult("False", "Running", "initial snapshot in progress")
    if world.snapshot == "Failed":
        return GateResult("False", "SnapshotFailed", "push rejected")
    return GateResult("True", "Completed")


async def event_stream_live(world: World) -> GateResult:
    if not world.stream_registered:
        return GateResult("False", "RegistrationFailed", "stream endpoint refused")
    return GateResult("True", "Registered")


LIFECYCLE_PHASES = PhaseRules(setup=("Validated", "EncryptionConfigured", "Bootstrapped"),
                              sync="SnapshotSynced")
"""The lifecycle's phases: set up by the first three gates, synced by the snapshot."""


def lifecycle() -> GatePipeline[World]:
    return GatePipeline([
        Gate("Validated", validated, ready_reason="ValidationFailed"),
        Gate("EncryptionConfigured", encryption_configured,
             ready_reason="EncryptionNotConfigured"),
        Gate("Bootstrapped", bootstrapped, ready_reason="BootstrapNotComplete"),
        Gate("SnapshotSynced", snapshot_synced, ready_reason="InitialSyncInProgress"),
        Gate("EventStreamLive", event_stream_live, ready_reason="StreamNotLive"),
    ], phase_rules=LIFECYCLE_PHASES)

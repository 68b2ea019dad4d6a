"""The condition contract of a GitTarget: condition types, the reasons each emits, and how long
the controller waits before it looks again.

Automation relies on these names (`kubectl wait --for=condition=Ready=true`, alerts on
reasons); `docs/examples/gittarget.md` documents each one. Reasons are CamelCase and stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from controllerkit.gates import PipelineOutcome

# Condition types, in gate order; `Ready` summarises them.
READY: Final = "Ready"
VALIDATED: Final = "Validated"
ENCRYPTION_CONFIGURED: Final = "EncryptionConfigured"
BOOTSTRAPPED: Final = "Bootstrapped"
SNAPSHOT_SYNCED: Final = "SnapshotSynced"
EVENT_STREAM_LIVE: Final = "EventStreamLive"
GATE_TYPES: Final = (VALIDATED, ENCRYPTION_CONFIGURED, BOOTSTRAPPED, SNAPSHOT_SYNCED,
                     EVENT_STREAM_LIVE)


class Validated:
    """Reasons of `Validated`."""

    OK: Final = "OK"
    PROVIDER_NOT_FOUND: Final = "ProviderNotFound"
    BRANCH_NOT_ALLOWED: Final = "BranchNotAllowed"
    TARGET_CONFLICT: Final = "TargetConflict"


class EncryptionConfigured:
    """Reasons of `EncryptionConfigured`."""

    OK: Final = "OK"
    NOT_REQUIRED: Final = "NotRequired"
    MISSING_SECRET: Final = "MissingSecret"
    INVALID_RECIPIENTS: Final = "InvalidRecipients"
    SECRET_CREATE_DISABLED: Final = "SecretCreateDisabled"


class Bootstrapped:
    """Reasons of `Bootstrapped`."""

    BOOTSTRAP_APPLIED: Final = "BootstrapApplied"
    BOOTSTRAP_NOT_NEEDED: Final = "BootstrapNotNeeded"
    WORKER_NOT_FOUND: Final = "WorkerNotFound"
    BOOTSTRAP_FAILED: Final = "BootstrapFailed"


class SnapshotSynced:
    """Reasons of `SnapshotSynced`."""

    COMPLETED: Final = "Completed"
    RUNNING: Final = "Running"
    SNAPSHOT_FAILED: Final = "SnapshotFailed"


class EventStreamLive:
    """Reasons of `EventStreamLive`."""

    REGISTERED: Final = "Registered"
    REGISTRATION_FAILED: Final = "RegistrationFailed"
    DISCONNECTED: Final = "Disconnected"


class Ready:
    """Reasons of `Ready`: `OK`, or the first gate that is not True."""

    OK: Final = "OK"
    VALIDATION_FAILED: Final = "ValidationFailed"
    ENCRYPTION_NOT_CONFIGURED: Final = "EncryptionNotConfigured"
    BOOTSTRAP_NOT_COMPLETE: Final = "BootstrapNotComplete"
    INITIAL_SYNC_IN_PROGRESS: Final = "InitialSyncInProgress"
    STREAM_NOT_LIVE: Final = "StreamNotLive"


@dataclass(frozen=True)
class RequeueDelays:
    """How long a target waits before it is reconciled again, by what stopped it.

    Changes of the target, its provider, its WatchRules, and the end of a snapshot reconcile
    it at once; these delays are the backstop that notices what no event announces (a remote
    that became reachable, a Secret created by hand, a resource kind installed later).
    """

    short: timedelta = timedelta(minutes=2)
    """Validation, bootstrap or stream registration failed."""
    medium: timedelta = timedelta(minutes=5)
    """Encryption is not configured."""
    long: timedelta = timedelta(minutes=10)
    """Ready: re-verify now and then."""
    syncing: timedelta = timedelta(seconds=30)
    """A snapshot is running (its end also triggers a reconcile)."""

    def after(self, outcome: PipelineOutcome) -> timedelta:
        """The delay after a reconcile that ended with `outcome`: by its first gate not True."""
        if outcome.ready:
            return self.long
        failing = next((gate for gate, result in outcome.results.items()
                        if result.status != "True"), None)
        if failing == ENCRYPTION_CONFIGURED:
            return self.medium
        if failing == SNAPSHOT_SYNCED and (
                outcome.results[SNAPSHOT_SYNCED].reason == SnapshotSynced.RUNNING):
            return self.syncing
        return self.short

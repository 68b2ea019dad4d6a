"""The five gates of a GitTarget, in order — Validated, EncryptionConfigured, Bootstrapped,
SnapshotSynced, EventStreamLive — summarised by Ready (seed plan §4).

Each gate observes one aspect of the target, writes its details into the typed status being
built (`encryption`, `workerRef`, `bootstrap`, `snapshot`, `stream`) and returns a
`GateResult` with one of the reasons of `contract`. The `GatePipeline` stops at the first gate
that is not True (later gates become Unknown: `NotStarted`, or `Blocked` once they had been
evaluated), sets Ready with the failing gate's Ready reason, and derives the phase from the
conditions alone (`PHASES`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from controllerkit.cache import CachedClient
from controllerkit.gates import Gate, GatePipeline, GateResult, PhaseRules
from controllerkit.meta import SECRET, ObjectKey

from .content import normalize_target_path, recipients_hash
from .contract import (
    BOOTSTRAPPED,
    ENCRYPTION_CONFIGURED,
    EVENT_STREAM_LIVE,
    SNAPSHOT_SYNCED,
    VALIDATED,
    Bootstrapped,
    EventStreamLive,
    Ready,
    SnapshotSynced,
)
from .credentials import CredentialsError, git_environment_for
from .discovery import DiscoveryError, DiscoveryReader
from .encryption_setup import EncryptionPlan, configure_encryption
from .kinds import (
    BootstrapStatus,
    EncryptionStatus,
    GitProvider,
    GitTarget,
    GitTargetStatus,
    SnapshotStats,
    SnapshotStatus,
    StreamStatus,
    WatchRule,
    WorkerRef,
)
from .rules import Resolution, ScopedRule, resolve, rules_for_target
from .session import FolderPlan, SnapshotState, TargetSessions, WorkerPlan, WorkerUnavailable
from .stream import StreamState, TargetStream
from .validation import validate
from .worker import GitError, WorkerKey

PHASES = PhaseRules(setup=(VALIDATED, ENCRYPTION_CONFIGURED, BOOTSTRAPPED), sync=SNAPSHOT_SYNCED)
"""`status.phase`: BOOTSTRAPPING until bootstrapped, SYNCING until the snapshot is done."""


@dataclass
class TargetContext:
    """One reconcile of one target: what it reads through, and what the gates found so far.

    `status` is the target's status being built; the gates write their detail fields into it.
    """

    target: GitTarget
    status: GitTargetStatus
    client: CachedClient
    now: datetime
    provider: GitProvider | None = None
    encryption: EncryptionPlan | None = None
    resolution: Resolution | None = None

    @property
    def key(self) -> ObjectKey:
        return (self.target.metadata.namespace or "", self.target.metadata.name or "")


class GitTargetGates:
    """The gates, bound to the per-target sessions and to discovery.

    `pipeline` runs them in order; they read the cluster through the context's client.
    `key_dir` is where ssh credentials of providers are written; `discovery` opens a discovery
    reader with the controller's credentials.
    """

    def __init__(self, *, sessions: TargetSessions, discovery: Callable[[], DiscoveryReader],
                 key_dir: Path) -> None:
        self.sessions = sessions
        self.discovery = discovery
        self.key_dir = key_dir
        self._resolved: dict[ObjectKey, tuple[str, Resolution]] = {}
        self.pipeline: GatePipeline[TargetContext] = GatePipeline([
            Gate(VALIDATED, self.validated, ready_reason=Ready.VALIDATION_FAILED),
            Gate(ENCRYPTION_CONFIGURED, self.encryption_configured,
                 ready_reason=Ready.ENCRYPTION_NOT_CONFIGURED),
            Gate(BOOTSTRAPPED, self.bootstrapped, ready_reason=Ready.BOOTSTRAP_NOT_COMPLETE),
            Gate(SNAPSHOT_SYNCED, self.snapshot_synced,
                 ready_reason=Ready.INITIAL_SYNC_IN_PROGRESS),
            Gate(EVENT_STREAM_LIVE, self.event_stream_live, ready_reason=Ready.STREAM_NOT_LIVE),
        ], phase_rules=PHASES)

    def forget(self, target: ObjectKey) -> None:
        """Drop what was cached for a target that is gone."""
        self._resolved.pop(target, None)

    # -- 1. Validated ------------------------------------------------------------------------

    async def validated(self, context: TargetContext) -> GateResult:
        namespace, _ = context.key
        provider = await context.client.get(GitProvider, context.target.spec.provider_ref.name,
                                            namespace=namespace)
        result = validate(context.target, provider,
                          await context.client.list(GitTarget, namespace=namespace))
        context.provider = provider
        return result

    # -- 2. EncryptionConfigured -------------------------------------------------------------

    async def encryption_configured(self, context: TargetContext) -> GateResult:
        outcome = await configure_encryption(context.client, context.target)
        context.encryption = outcome.plan
        spec = context.target.spec.encryption
        enabled = spec if spec is not None and spec.enabled else None
        plan = outcome.plan if outcome.plan is not None and outcome.plan.enabled else None
        context.status.encryption = EncryptionStatus(
            mode="None" if enabled is None else "Age",
            secret_ref=None if enabled is None else enabled.secret_ref,
            recipients_hash=None if plan is None else recipients_hash(plan.recipients),
            last_validated_time=None if plan is None else context.now)
        return outcome.result

    # -- 3. Bootstrapped ---------------------------------------------------------------------

    async def bootstrapped(self, context: TargetContext) -> GateResult:
        assert context.provider is not None and context.encryption is not None
        try:
            worker_plan = await self._worker_plan(context, context.provider)
        except CredentialsError as error:
            return GateResult("False", Bootstrapped.WORKER_NOT_FOUND,
                              f"provider credentials: {error}")
        encryption = context.encryption
        identity_secret = ({(context.key[0], encryption.secret_name)}
                           if encryption.secret_name else set())
        folder_plan = FolderPlan(normalize_target_path(context.target.spec.path),
                                 encryption.recipients, encryption.identity,
                                 frozenset(identity_secret))
        try:
            record = await self.sessions.ensure_bootstrapped(context.key, worker_plan,
                                                             folder_plan)
        except WorkerUnavailable as error:
            return GateResult("False", Bootstrapped.WORKER_NOT_FOUND,
                              f"branch worker {worker_plan.key.name} cannot start: {error}")
        except GitError as error:
            return GateResult("False", Bootstrapped.BOOTSTRAP_FAILED, str(error))
        context.status.worker_ref = WorkerRef(name=worker_plan.key.name)
        previous = context.status.bootstrap
        kept = (previous.commit if previous is not None
                and previous.target_path == folder_plan.path else None)
        context.status.bootstrap = BootstrapStatus(
            target_path=folder_plan.path, commit=record.commit or kept,
            last_applied_time=record.time)
        where = folder_plan.path or "the repository root"
        if record.commit is not None:
            return GateResult("True", Bootstrapped.BOOTSTRAP_APPLIED,
                              f"initialized {where} in commit {record.commit[:12]}")
        return GateResult("True", Bootstrapped.BOOTSTRAP_NOT_NEEDED,
                          f"{where} was already initialized")

    async def _worker_plan(self, context: TargetContext, provider: GitProvider) -> WorkerPlan:
        target = context.target
        namespace = target.metadata.namespace or ""
        provider_name = provider.metadata.name or ""
        env: dict[str, str] = {}
        if provider.spec.secret_ref is not None:
            name = provider.spec.secret_ref.name
            secret = await context.client.get(SECRET, name, namespace=namespace)
            if secret is None:
                raise CredentialsError(f"Secret {name!r} not found in namespace {namespace!r}")
            key_dir = self.key_dir / quote(namespace, safe="") / quote(provider_name, safe="")
            env = git_environment_for(secret, key_dir)
        return WorkerPlan(WorkerKey(namespace, provider_name, target.spec.branch),
                          provider.spec.url, provider.spec.push.interval_seconds,
                          provider.spec.push.max_commits, tuple(sorted(env.items())))

    # -- 4. SnapshotSynced -------------------------------------------------------------------

    async def snapshot_synced(self, context: TargetContext) -> GateResult:
        namespace, name = context.key
        rules = rules_for_target(namespace, name,
                                 await context.client.list(WatchRule, namespace=namespace))
        try:
            resolution = await self._resolution(context.key, rules)
        except DiscoveryError as error:
            return GateResult("False", SnapshotSynced.SNAPSHOT_FAILED,
                              f"cannot read the API server's discovery: {error}")
        context.resolution = resolution
        record = await self.sessions.ensure_snapshot(context.key, resolution)
        self._record_stream(context)
        if record.state is SnapshotState.RUNNING:
            return GateResult("False", SnapshotSynced.RUNNING,
                              f"syncing the folder with {len(resolution.sources)} source(s)")
        if record.state is SnapshotState.FAILED:
            return GateResult("False", SnapshotSynced.SNAPSHOT_FAILED, record.error or "")
        assert record.result is not None and record.completed_time is not None
        stats = SnapshotStats(created=record.result.created, updated=record.result.updated,
                              deleted=record.result.deleted)
        context.status.snapshot = SnapshotStatus(last_completed_time=record.completed_time,
                                                 last_commit=record.commit or None, stats=stats)
        return GateResult("True", SnapshotSynced.COMPLETED,
                          f"folder synced: {stats.created} created, {stats.updated} updated, "
                          f"{stats.deleted} deleted")

    async def _resolution(self, target: ObjectKey, rules: list[ScopedRule]) -> Resolution:
        # Discovery is asked again only when the rules changed or something was unresolved
        # (a CRD installed later resolves on a later reconcile).
        fingerprint = json.dumps([(r.namespace, r.rule.model_dump(mode="json")) for r in rules],
                                 sort_keys=True)
        cached = self._resolved.get(target)
        if cached is not None and cached[0] == fingerprint and not cached[1].unresolved:
            return cached[1]
        async with self.discovery() as reader:
            resolution = await resolve(rules, reader)
        self._resolved[target] = (fingerprint, resolution)
        return resolution

    # -- 5. EventStreamLive ------------------------------------------------------------------

    async def event_stream_live(self, context: TargetContext) -> GateResult:
        resolution = context.resolution
        stream = self._record_stream(context)
        assert resolution is not None
        if stream is None:
            return GateResult("False", EventStreamLive.REGISTRATION_FAILED,
                              "no event stream is registered")
        if stream.state is StreamState.FAILED:
            return GateResult("False", EventStreamLive.DISCONNECTED, stream.error or "")
        stopped = [source.describe() for source, informer in stream.informers.items()
                   if not informer.is_running]
        if stopped:
            return GateResult("False", EventStreamLive.DISCONNECTED,
                              f"not watching {', '.join(stopped)}")
        if resolution.unresolved:
            return GateResult("False", EventStreamLive.REGISTRATION_FAILED,
                              f"cannot watch: {resolution.describe_unresolved()}")
        return GateResult("True", EventStreamLive.REGISTERED,
                          f"committing changes of {len(resolution.sources)} source(s) as they "
                          f"happen")

    def _record_stream(self, context: TargetContext) -> TargetStream | None:
        """Write `status.stream` from the target's stream (removed when there is none)."""
        stream = self.sessions.stream(context.key)
        context.status.stream = None if stream is None else StreamStatus(
            status=stream.state.value, registered_time=stream.registered_time,
            last_event_time=stream.last_event_time)
        return stream


__all__ = ["PHASES", "GitTargetGates", "TargetContext"]

"""What the controller keeps in memory per GitTarget: its branch worker, its bootstrap, its
snapshot and its event stream — the machinery behind the Bootstrapped, SnapshotSynced and
EventStreamLive gates.

Gates are evaluated on every reconcile and must observe, so `TargetSessions` is idempotent:
asking for a bootstrap or a snapshot that is already done returns what was done; asking with
other inputs (another provider or branch, another folder or recipients, other rules) tears
down what depended on the old inputs and starts again. Nothing here is authoritative: after a
restart the sessions are empty, the bootstrap finds its files in place (no commit) and the
snapshot finds the folder equal to the cluster (no commit).

A snapshot runs as a task owned by the `MirrorHub`: a reconcile starts it and reports
`Running`; when it ends, `on_change(target)` asks for another reconcile, which reports the
outcome. A failed snapshot (or a failed stream) is retried by a reconcile `retry_after`
seconds later, never in a hot loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from controllerkit.meta import ObjectKey

from .content import bootstrap_files, object_ref_from_path
from .folder import TargetFolder
from .mirror import MirrorHub
from .rules import Resolution
from .stream import StreamState, TargetStream
from .worker import BranchWorker, GitError, SnapshotResult, WorkerKey, WorkerRegistry

logger = logging.getLogger(__name__)

Now = Callable[[], datetime]


class WorkerUnavailable(Exception):
    """The branch worker could not start (the remote is unreachable or refuses us)."""


class SessionsClosed(RuntimeError):
    """The controller is stopping: no session starts any more."""


@dataclass(frozen=True)
class WorkerPlan:
    """Everything the branch worker is built from (a change rebuilds it)."""

    key: WorkerKey
    remote_url: str
    push_interval: float
    max_commits: int
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class FolderPlan:
    """The target's folder and its encryption (a change re-bootstraps and re-snapshots)."""

    path: str
    recipients: tuple[str, ...] = ()
    identity: str | None = field(default=None, repr=False)
    unmirrored_secrets: frozenset[ObjectKey] = frozenset()
    """Secrets never written (the target's own identity Secret)."""


@dataclass(frozen=True)
class BootstrapRecord:
    """The bootstrap of a folder: the commit it made (None: the files were in place)."""

    commit: str | None
    time: datetime


class SnapshotState(StrEnum):
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"


@dataclass
class SnapshotRecord:
    """One snapshot of a resolution: running, completed (with what it changed) or failed."""

    resolution: Resolution
    state: SnapshotState = SnapshotState.RUNNING
    result: SnapshotResult | None = None
    completed_time: datetime | None = None
    commit: str | None = None
    error: str | None = None
    failed_at: float | None = None


@dataclass
class _Session:
    worker_plan: WorkerPlan | None = None
    worker: BranchWorker | None = None
    folder_plan: FolderPlan | None = None
    bootstrap: BootstrapRecord | None = None
    snapshot: SnapshotRecord | None = None
    stream: TargetStream | None = None
    task: asyncio.Task[None] | None = None


class TargetSessions:
    """The in-memory state of every target this process reconciles (see the module doc)."""

    def __init__(self, registry: WorkerRegistry, hub: MirrorHub, *,
                 on_change: Callable[[ObjectKey], None], sync_timeout: float = 60.0,
                 retry_after: float = 120.0, now: Now = lambda: datetime.now(UTC),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.registry = registry
        self.hub = hub
        self.sync_timeout = sync_timeout
        self.retry_after = retry_after
        self._on_change = on_change
        self._now = now
        self._monotonic = monotonic
        self._sessions: dict[ObjectKey, _Session] = {}
        self._closed = False

    # -- reading -----------------------------------------------------------------------------

    def worker(self, target: ObjectKey) -> BranchWorker | None:
        session = self._sessions.get(target)
        return session.worker if session else None

    def snapshot(self, target: ObjectKey) -> SnapshotRecord | None:
        session = self._sessions.get(target)
        return session.snapshot if session else None

    def stream(self, target: ObjectKey) -> TargetStream | None:
        session = self._sessions.get(target)
        return session.stream if session else None

    # -- the gates' work ---------------------------------------------------------------------

    async def ensure_bootstrapped(self, target: ObjectKey, worker_plan: WorkerPlan,
                                  folder_plan: FolderPlan) -> BootstrapRecord:
        """The worker started and the folder bootstrapped for these plans.

        Raises `WorkerUnavailable` when the worker cannot start, `GitError` when the
        bootstrap commit fails.
        """
        if self._closed:
            raise SessionsClosed("the controller is stopping")
        session = self._sessions.setdefault(target, _Session())
        if session.worker_plan != worker_plan:
            await self._stop_worker(target, session)
        if session.worker is None:
            session.worker = await self._start_worker(target, worker_plan)
            session.worker_plan = worker_plan
        if session.folder_plan != folder_plan:
            await self._stop_snapshot(session)
            session.bootstrap = None
            session.folder_plan = folder_plan
        if session.bootstrap is None:
            files = bootstrap_files(folder_plan.path, folder_plan.recipients or None)
            commit = await session.worker.bootstrap(folder_plan.path, files)
            session.bootstrap = BootstrapRecord(commit, self._now())
        return session.bootstrap

    async def ensure_snapshot(self, target: ObjectKey, resolution: Resolution) -> SnapshotRecord:
        """The snapshot of `resolution`: started if there is none for it, restarted if it (or
        the stream after it) failed at least `retry_after` seconds ago. Call after
        `ensure_bootstrapped`."""
        session = self._sessions.get(target)
        if session is None:
            # Closed since its bootstrap in this reconcile: the target was let go meanwhile.
            raise SessionsClosed(f"the session of {_name(target)} was closed")
        assert session.worker is not None and session.folder_plan is not None
        record = session.snapshot
        if record is None or record.resolution != resolution or self._retry_due(session):
            await self._stop_snapshot(session)
            record = session.snapshot = SnapshotRecord(resolution)
            plan = session.folder_plan
            folder = TargetFolder(session.worker, plan.path, plan.recipients, plan.identity,
                                  plan.unmirrored_secrets)
            # Registered before the snapshot reads the caches: what changes meanwhile is
            # buffered, not lost.
            stream = session.stream = TargetStream(
                self.hub, resolution.sources, folder, name=_name(target),
                on_commit=lambda: self._on_change(target), now=self._now,
                monotonic=self._monotonic)
            stream.register()
            session.task = await self.hub.spawn(
                self._take_snapshot(target, session, record, stream),
                name=f"snapshot {_name(target)}")
        return record

    async def close(self, target: ObjectKey) -> None:
        """Forget the target: stream and snapshot stopped, its hold on the worker released."""
        session = self._sessions.pop(target, None)
        if session is not None:
            await self._stop_worker(target, session)

    async def close_all(self) -> None:
        """Close every session; no new one starts afterwards."""
        self._closed = True
        for target in list(self._sessions):
            await self.close(target)

    # -- internals ---------------------------------------------------------------------------

    async def _start_worker(self, target: ObjectKey, plan: WorkerPlan) -> BranchWorker:
        worker = self.registry.acquire(plan.key, plan.remote_url,
                                       push_interval=plan.push_interval,
                                       max_commits=plan.max_commits, env=dict(plan.env),
                                       holder=_name(target))
        try:
            await worker.start()
        except GitError as error:
            await self.registry.release(plan.key, _name(target))
            raise WorkerUnavailable(str(error)) from error
        return worker

    async def _stop_worker(self, target: ObjectKey, session: _Session) -> None:
        await self._stop_snapshot(session)
        session.bootstrap = None
        session.folder_plan = None
        plan, session.worker_plan, session.worker = session.worker_plan, None, None
        if plan is not None:
            try:
                await self.registry.release(plan.key, _name(target))
            except GitError as error:
                # The last push failed; the commits stay in the clone for the next start.
                logger.warning("releasing worker %s: %s", plan.key.name, error)

    async def _stop_snapshot(self, session: _Session) -> None:
        task, session.task = session.task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})
        stream, session.stream = session.stream, None
        if stream is not None:
            await stream.close()
        session.snapshot = None

    def _retry_due(self, session: _Session) -> bool:
        record = session.snapshot
        failed_at = record.failed_at if record else None
        stream = session.stream
        if stream is not None and stream.state is StreamState.FAILED:
            failed_at = stream.failed_at
        return failed_at is not None and self._monotonic() - failed_at >= self.retry_after

    async def _take_snapshot(self, target: ObjectKey, session: _Session,
                             record: SnapshotRecord, stream: TargetStream) -> None:
        folder = stream.folder
        try:
            await stream.wait_for_sync(self.sync_timeout)
            result = await folder.sync(stream.objects(),
                                       keep=_keep_for(record.resolution, folder.path))
        except Exception as error:  # contained: the hub's task group must outlive a target
            record.state = SnapshotState.FAILED
            record.error = f"{type(error).__name__}: {error}"
            record.failed_at = self._monotonic()
            logger.warning("snapshot of %s failed: %s", _name(target), record.error)
            session.stream = None
            await stream.close()
        else:
            record.state = SnapshotState.COMPLETED
            record.result = result
            record.completed_time = self._now()
            record.commit = folder.worker.last_commit
            await stream.go_live()
        self._on_change(target)


def _keep_for(resolution: Resolution, folder: str) -> Callable[[str], bool]:
    """Files a snapshot must not delete: everything that is not an object file, and the files
    of resources that cannot be resolved now (a CRD being reinstalled must not wipe them)."""

    def keep(path: str) -> bool:
        ref = object_ref_from_path(path, folder)
        if ref is None:
            return True
        return any(entry.covers(ref.group, ref.version, ref.plural)
                   for entry in resolution.unresolved)

    return keep


def _name(target: ObjectKey) -> str:
    return f"{target[0]}/{target[1]}"


__all__ = [
    "BootstrapRecord",
    "FolderPlan",
    "SessionsClosed",
    "SnapshotRecord",
    "SnapshotState",
    "TargetSessions",
    "WorkerPlan",
    "WorkerUnavailable",
]

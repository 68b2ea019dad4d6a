"""The GitTarget reconciler: run the gates, write the status, choose when to look again.

Level-triggered: a reconcile reads the target from the cache, evaluates every gate from what
it observes now, and writes the whole status through the status subresource (never the spec),
with the resourceVersion it read. A conflict (the cache was behind our own last write, or
someone else wrote) re-reads the target from the server and evaluates again; the gates are
idempotent, so that repeats no git work.

Status bookkeeping beyond the gates: `lastReconcileTime` on every reconcile, `lastCommit` and
`lastPushTime` from the branch worker. A target blocked before `Bootstrapped` has its session
closed (its stream stops and it lets go of the worker); a target blocked at or before
`Bootstrapped` loses `workerRef` and `stream`, which would otherwise describe machinery that
no longer runs for it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from controllerkit import Request, Result, TerminalError
from controllerkit.cache import Store
from controllerkit.client import Client
from controllerkit.conditions import format_time
from controllerkit.gates import PipelineOutcome
from controllerkit.meta import JSONObject, ObjectKey
from controllerkit.status import StatusWriter, retry_on_conflict

from .contract import (
    BOOTSTRAPPED,
    ENCRYPTION_CONFIGURED,
    SNAPSHOT_SYNCED,
    VALIDATED,
    RequeueDelays,
    SnapshotSynced,
)
from .gates import GitTargetGates, TargetContext
from .kinds import GIT_TARGET, GitTarget
from .session import TargetSessions

FIELD_MANAGER = "gittarget-controller"
_SETUP_GATES = (VALIDATED, ENCRYPTION_CONFIGURED)


class GitTargetReconciler:
    """Reconciles GitTargets (see the module doc). `now` is injectable for exact tests."""

    def __init__(self, client: Client, gates: GitTargetGates, sessions: TargetSessions,
                 targets: Store, *, delays: RequeueDelays | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.client = client
        self.gates = gates
        self.sessions = sessions
        self.targets = targets
        self.delays = delays or RequeueDelays()
        self.writer = StatusWriter(client, field_manager=FIELD_MANAGER)
        self._now = now

    async def reconcile(self, request: Request) -> Result:
        cached = self.targets.get(request.key)
        if cached is None or (cached.get("metadata") or {}).get("deletionTimestamp"):
            await self.sessions.close(request.key)
            self.gates.forget(request.key)
            return Result()
        reads = [cached]

        async def evaluate_and_write() -> PipelineOutcome:
            obj = reads.pop() if reads else await self.client.get(
                GIT_TARGET, request.name, namespace=request.namespace)
            return await self._evaluate_and_write(request.key, obj)

        outcome = await retry_on_conflict(evaluate_and_write)
        return Result(requeue_after=self._delay(outcome))

    async def _evaluate_and_write(self, key: ObjectKey, obj: JSONObject) -> PipelineOutcome:
        try:
            target = GitTarget.model_validate(obj)
        except ValidationError as error:
            raise TerminalError(f"GitTarget {key[0]}/{key[1]} cannot be read: {error}") from error
        status = copy.deepcopy(obj.get("status") or {})
        now = self._now()
        context = TargetContext(target, status, now)
        outcome = await self.gates.pipeline.run(context, status,
                                                generation=target.metadata.generation, now=now)
        if outcome.blocked_by in _SETUP_GATES:
            await self.sessions.close(key)
        if outcome.blocked_by in (*_SETUP_GATES, BOOTSTRAPPED):
            # The snapshot gate (which records the stream) was not evaluated either.
            status.pop("workerRef", None)
            status.pop("stream", None)
        worker = self.sessions.worker(key)
        if worker is not None:
            if worker.last_commit:
                status["lastCommit"] = worker.last_commit
            if worker.last_push_time is not None:
                status["lastPushTime"] = format_time(worker.last_push_time)
        status["lastReconcileTime"] = format_time(now)
        await self.writer.patch(GIT_TARGET, obj, status)
        return outcome

    def _delay(self, outcome: PipelineOutcome) -> timedelta:
        if outcome.ready:
            return self.delays.long
        failing = next((gate for gate, result in outcome.results.items()
                        if result.status != "True"), None)
        if failing == ENCRYPTION_CONFIGURED:
            return self.delays.medium
        if failing == SNAPSHOT_SYNCED and (
                outcome.results[SNAPSHOT_SYNCED].reason == SnapshotSynced.RUNNING):
            return self.delays.syncing
        return self.delays.short

"""The GitTarget controller: run the gates, write the status, choose when to look again.

Level-triggered: each reconcile gets the target as the cache holds it (with this process's own
writes), evaluates every gate from what it observes now, and writes the status through the
status subresource (never the spec), preconditioned on the resourceVersion it was given. A
conflict ends the reconcile, which runs again at once on the newer state; the gates are
idempotent, so that repeats no git work.

Status bookkeeping beyond the gates: `lastReconcileTime` on every reconcile, `lastCommit` and
`lastPushTime` from the branch worker. A target blocked before `Bootstrapped` has its session
closed (its stream stops and it lets go of the worker); a target blocked at or before
`Bootstrapped` loses `workerRef` and `stream`, which would otherwise describe machinery that
no longer runs for it. Becoming Ready, and ceasing to be, is recorded as an Event.

A target is reconciled when its spec changes, when the spec of its provider, of one of its
WatchRules or of a target of the same provider changes (the generation moves), and when its
sessions fire `wake` (a snapshot ended, a change was committed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from controllerkit import Context, Manager, Request, Result
from controllerkit.conditions import is_true
from controllerkit.controller import GENERATION_CHANGED, Trigger
from controllerkit.meta import JSONObject, object_key

from .contract import BOOTSTRAPPED, ENCRYPTION_CONFIGURED, READY, VALIDATED, RequeueDelays
from .gates import GitTargetGates, TargetContext
from .kinds import GIT_TARGET, GitProvider, GitTarget, GitTargetStatus, WatchRule
from .session import TargetSessions

CONTROLLER_NAME = "gittargets"
_SETUP_GATES = (VALIDATED, ENCRYPTION_CONFIGURED)


def add_controller(manager: Manager, *, gates: GitTargetGates, sessions: TargetSessions,
                   wake: Trigger, delays: RequeueDelays, max_concurrent_reconciles: int,
                   now: Callable[[], datetime]) -> None:
    """Declare the `gittargets` controller on `manager` (see the module doc).

    `wake` is the trigger the sessions fire; `now` is the wall clock of status timestamps.
    """
    # Mappers run synchronously on the informers' dispatch, so they read the targets' cache.
    targets = manager.informers.informer(GIT_TARGET, namespace=manager.namespace).store

    def targets_of(namespace: str, provider: str) -> list[Request]:
        return [Request(namespace, object_key(target)[1]) for target in targets.list()
                if object_key(target)[0] == namespace and _provider_of(target) == provider]

    def provider_targets(provider: JSONObject) -> list[Request]:
        return targets_of(*object_key(provider))

    def same_folder_claims(target: JSONObject) -> list[Request]:
        # The later-created one of a pair claiming one folder must re-check TargetConflict.
        namespace, name = object_key(target)
        return [request for request in targets_of(namespace, _provider_of(target))
                if request.name != name]

    def rule_target(rule: JSONObject) -> list[Request]:
        name = ((rule.get("spec") or {}).get("targetRef") or {}).get("name")
        return [Request(object_key(rule)[0], str(name))] if name else []

    @manager.controller(
        GitTarget, name=CONTROLLER_NAME, triggers=[wake],
        watches=[(GitTarget, same_folder_claims), (GitProvider, provider_targets),
                 (WatchRule, rule_target)],
        predicates=[GENERATION_CHANGED], max_concurrent_reconciles=max_concurrent_reconciles)
    async def reconcile(target: GitTarget | None, ctx: Context) -> Result | None:
        key = ctx.request.key
        if target is None or target.metadata.deletion_timestamp is not None:
            await sessions.close(key)
            gates.forget(key)
            return None
        status = target.status = target.status or GitTargetStatus()
        was_ready = is_true(status.conditions, READY)
        moment = now()
        outcome = await gates.pipeline.run(TargetContext(target, status, ctx.client, moment),
                                           status, generation=target.metadata.generation,
                                           now=moment)
        if outcome.blocked_by in _SETUP_GATES:
            await sessions.close(key)
        if outcome.blocked_by in (*_SETUP_GATES, BOOTSTRAPPED):
            # The snapshot gate (which records the stream) was not evaluated either.
            status.worker_ref = status.stream = None
        worker = sessions.worker(key)
        if worker is not None:
            status.last_commit = worker.last_commit or status.last_commit
            status.last_push_time = worker.last_push_time or status.last_push_time
        status.last_reconcile_time = moment
        await ctx.client.write_status(target)
        if outcome.ready != was_ready:
            ready = next(condition for condition in status.conditions if condition.type == READY)
            record = ctx.events.normal if outcome.ready else ctx.events.warning
            record(target, READY if outcome.ready else str(ready.reason), ready.message or "")
        return Result(requeue_after=delays.after(outcome))


def _provider_of(target: JSONObject) -> str:
    return str(((target.get("spec") or {}).get("providerRef") or {}).get("name") or "")

"""The SpritzBinding controller: one pass of the lifecycle per reconcile, ending in at most one
status write.

A pass: keep the finalizer on the binding (on deletion only remove it: the runtimes go by
owner-reference garbage collection); look at the runtimes the status refers to; `plan` the
next status; issue the plan's deletions, take ownership of an adopted runtime or create the
candidate; write the status. Every step is idempotent (deletes of deleting runtimes, a
candidate name that already exists is taken over), so a pass repeated after a `Conflict`
(which ends the pass: the next one reads the newer binding) or after a crash never makes a
second candidate.

Failures the controller can wait out are recorded, not raised: the binding's phase and
`lastErrorCode` say what failed (`candidate_create_failed`, `cleanup_failed`,
`adopt_failed`), a Warning Event says why, and the binding is looked at again after
`retry_delay`.

The status is written only when it changes — or when a reconcile was requested
(`spritz.sh/reconcile-requested-at`) after `lastReconciledAt` — so a binding at rest is
quiet. A pass that changed the status is followed by another at once: the controller's own
write does not wake it, and the next step (deleting the runtime a cutover moved to cleanup,
say) starts from the status just written.
"""

from __future__ import annotations

from datetime import UTC, datetime

from controllerkit import Context, Manager, Result
from controllerkit.errors import ApiError, Conflict
from controllerkit.meta import JSONObject

from . import runtimes
from .kinds import BindingPhase, Spritz, SpritzBinding, SpritzBindingStatus
from .lifecycle import (
    PROGRESSING,
    READY,
    Plan,
    Reason,
    plan,
    readiness,
    record_candidate,
    record_failure,
)
from .naming import BINDING_FINALIZER, RECONCILE_REQUEST_ANNOTATION

CONTROLLER_NAME = "spritzbindings"
RETRY_DELAY = 2.0
"""Seconds before a failed step (candidate create, cleanup, adoption) is tried again."""
STEP_FAILED = "StepFailed"
"""The reason of the Warning Event recorded when a step fails (the message says which)."""


def add_binding_controller(manager: Manager, *, retry_delay: float = RETRY_DELAY,
                           max_concurrent_reconciles: int = 4) -> None:
    """Run the binding controller (see the module doc) with `manager`, in its namespace."""

    # No predicates: spec changes and metadata changes such as the reconcile-request
    # annotation wake the binding, and so does every change of a runtime it owns.
    @manager.controller(SpritzBinding, owns=[Spritz], name=CONTROLLER_NAME,
                        max_concurrent_reconciles=max_concurrent_reconciles)
    async def reconcile(binding: SpritzBinding | None, ctx: Context) -> Result | None:
        if binding is None:
            return None
        binding = await ctx.finalize(binding, BINDING_FINALIZER, _keep_runtimes)
        if binding is None:
            return None  # being deleted: its runtimes are garbage-collected
        current = binding.status or SpritzBindingStatus()
        found = await runtimes.observe(ctx.client, binding)
        step = plan(binding, {name: runtimes.runtime_view(obj) for name, obj in found.items()})
        status, retry = await _execute(ctx, binding, step, found)
        status.observed_generation = binding.metadata.generation
        binding.status = status
        ready, progressing, reason, message = readiness(status, step.reason)
        ctx.set_condition(binding, READY, ready, reason=reason, message=message)
        ctx.set_condition(binding, PROGRESSING, progressing, reason=reason, message=message)
        changed = _comparable(status) != _comparable(current)
        if changed or _reconcile_requested(binding, current):
            status.last_reconciled_at = datetime.now(UTC)
            await ctx.client.write_status(binding)
        if retry:
            return Result(requeue_after=retry_delay)
        return Result(requeue_after=0) if changed else None


async def _keep_runtimes(_: SpritzBinding) -> None:
    """Deleting a binding needs no cleanup of its own: its runtimes are garbage-collected
    through their owner references."""


async def _execute(ctx: Context, binding: SpritzBinding, step: Plan,
                   found: dict[str, JSONObject]) -> tuple[SpritzBindingStatus, bool]:
    """Perform the plan's I/O; the status to write and whether to retry later."""
    current = binding.status or SpritzBindingStatus()
    try:
        for ref in step.deletions:
            await ctx.client.delete(found[ref.name])
    except Conflict:
        raise
    except ApiError as error:
        # Keep every ref as it was: nothing may be forgotten before it is deleted.
        return _failed(ctx, binding, current, Reason.CLEANUP_FAILED, error,
                       phase=BindingPhase.CLEANING_UP), True
    if step.adopt is not None:
        try:
            await runtimes.take_ownership(ctx.client, binding, found[step.adopt.name])
        except Conflict:
            raise
        except (ApiError, runtimes.RuntimeNameTaken) as error:
            return _failed(ctx, binding, current, Reason.ADOPT_FAILED, error), True
    if not step.create_candidate:
        return step.status, False
    sequence = step.status.next_runtime_sequence + 1
    try:
        candidate = await runtimes.ensure_candidate(ctx.client, binding, sequence,
                                                    step.candidate_revision)
    except Conflict:
        raise
    except (ApiError, runtimes.RuntimeNameTaken) as error:
        return _failed(ctx, binding, step.status, Reason.CANDIDATE_CREATE_FAILED, error), True
    ctx.events.normal(binding, "CandidateCreated", f"runtime {candidate.name} for revision "
                                                   f"{candidate.revision or '-'}")
    return record_candidate(step.status, candidate, sequence), False


def _failed(ctx: Context, binding: SpritzBinding, status: SpritzBindingStatus, code: str,
            error: Exception, *,
            phase: BindingPhase = BindingPhase.FAILED) -> SpritzBindingStatus:
    ctx.log.warning("%s: %s", code, error)
    ctx.events.warning(binding, STEP_FAILED, f"{code}: {error}")
    return record_failure(status, code, str(error), phase=phase)


def _reconcile_requested(binding: SpritzBinding, current: SpritzBindingStatus) -> bool:
    """A reconcile was requested after the last status write (by timestamp)."""
    stamp = (binding.metadata.annotations or {}).get(RECONCILE_REQUEST_ANNOTATION)
    if not stamp:
        return False
    try:
        requested = datetime.fromisoformat(stamp)
    except ValueError:
        return False
    if requested.tzinfo is None:
        requested = requested.replace(tzinfo=UTC)
    return current.last_reconciled_at is None or requested > current.last_reconciled_at


def _comparable(status: SpritzBindingStatus) -> JSONObject:
    return status.model_dump(mode="json", by_alias=True, exclude_none=True,
                             exclude={"last_reconciled_at"})

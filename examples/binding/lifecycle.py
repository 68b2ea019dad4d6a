"""The binding lifecycle as a pure decision: from the status and what the runtimes look like
now, the next status and the deletions to issue before it is written.

`plan(binding, runtimes)` is one pass of the state machine (see `docs/examples/binding.md`):

1. Refs to runtimes that no longer exist are dropped; the others get their current phase.
   The cleanup runtime, if it is still there and not yet being deleted, is deleted; its ref
   is kept until a later pass sees it gone.
2. Adopt: no active runtime and `spec.adoptActive` names a usable runtime of the binding's
   namespace → it becomes the active one (the controller takes ownership), phase ready.
3. An active runtime that is no longer usable (not Ready or Provisioning), and a candidate
   that is terminal (Error, Expired, Terminating) or was made for another revision, move to
   cleanup.
4. No active runtime, or `desiredRevision` ≠ `observedRevision`: without a candidate, ask for
   one (phase creating); with a Ready candidate, promote it — when there is an active runtime,
   cut over: candidate → active, old active → cleanup, observedRevision updated, all in this
   one status; otherwise wait (waiting_ready).
5. Otherwise cleaning_up while a cleanup ref remains, then ready.

There is one cleanup slot. Moving a runtime into an occupied slot displaces the runtime there;
the displaced runtime is added to `Plan.deletions` (unless its deletion is already under way),
so every runtime a binding stops referring to is being deleted before the status that forgets
it is written. The controller performs the I/O (`runtimes.py`), records its outcome with
`record_candidate` and `record_failure`, and sets the conditions `readiness` names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .kinds import BindingPhase, InstanceRef, SpritzBinding, SpritzBindingStatus, SpritzPhase

READY = "Ready"
PROGRESSING = "Progressing"

_READY_PHASES = frozenset({SpritzPhase.READY.lower()})
_USABLE_PHASES = frozenset({SpritzPhase.READY.lower(), SpritzPhase.PROVISIONING.lower()})
_TERMINAL_PHASES = frozenset({SpritzPhase.ERROR.lower(), SpritzPhase.EXPIRED.lower(),
                              SpritzPhase.TERMINATING.lower()})


class Reason:
    """Condition reasons and `lastErrorCode` values the controller writes."""

    READY = "runtime_ready"
    CANDIDATE_CREATING = "candidate_creating"
    CANDIDATE_NOT_READY = "candidate_not_ready"
    CLEANUP_PENDING = "cleanup_pending"
    CANDIDATE_CREATE_FAILED = "candidate_create_failed"
    CLEANUP_FAILED = "cleanup_failed"
    ADOPT_FAILED = "adopt_failed"


@dataclass(frozen=True, slots=True)
class Runtime:
    """A runtime (Spritz) as the server has it now."""

    phase: str | None = None
    """Its `status.phase`; None before the runtime operator first reports."""
    deleting: bool = False
    """Its deletion has been requested (`deletionTimestamp` is set)."""
    revision: str | None = None
    """The binding revision it was created for (its target-revision annotation)."""

    @property
    def ready(self) -> bool:
        return not self.deleting and (self.phase or "").lower() in _READY_PHASES

    @property
    def usable(self) -> bool:
        """Ready, or on its way there (Provisioning, or no phase reported yet)."""
        return not self.deleting and (self.phase is None
                                      or self.phase.lower() in _USABLE_PHASES)

    @property
    def terminal(self) -> bool:
        """It will never become Ready: Error, Expired, Terminating, or being deleted."""
        return self.deleting or (self.phase or "").lower() in _TERMINAL_PHASES


@dataclass
class Plan:
    """The outcome of one pass: the status to write, and what to do before writing it."""

    status: SpritzBindingStatus
    """The next status (without the candidate when `create_candidate` asks for one)."""
    deletions: list[InstanceRef] = field(default_factory=list)
    """Runtimes to delete before the status is written (idempotent; gone is fine)."""
    adopt: InstanceRef | None = None
    """A runtime to take ownership of before the status (which makes it active) is written."""
    create_candidate: bool = False
    """Create the next candidate (for `candidate_revision`), then `record_candidate`."""
    candidate_revision: str | None = None
    reason: str = Reason.READY
    """Why the binding is in its phase (the Progressing/Ready condition reason)."""


def referenced_names(binding: SpritzBinding) -> set[str]:
    """The runtimes `plan` needs to see: the status refs and the adoption target."""
    status = binding.status or SpritzBindingStatus()
    refs = [status.active_instance_ref, status.candidate_instance_ref,
            status.cleanup_instance_ref]
    if status.active_instance_ref is None and binding.spec.adopt_active is not None:
        refs.append(binding.spec.adopt_active)
    return {ref.name for ref in refs if ref is not None}


def plan(binding: SpritzBinding, runtimes: Mapping[str, Runtime]) -> Plan:
    """One pass of the lifecycle (see the module doc). `runtimes` holds, by name, every
    runtime of `referenced_names(binding)` that exists; a missing name is gone."""
    current = binding.status or SpritzBindingStatus()
    status = current.model_copy(deep=True)
    status.last_error_code = None
    status.last_error_message = None
    status.active_instance_ref = _observed(status.active_instance_ref, runtimes)
    status.candidate_instance_ref = _observed(status.candidate_instance_ref, runtimes)
    status.cleanup_instance_ref = _observed(status.cleanup_instance_ref, runtimes)
    result = Plan(status)
    cleanup = status.cleanup_instance_ref
    if cleanup is not None and not runtimes[cleanup.name].deleting:
        result.deletions.append(cleanup)

    adoption = _adoption(binding, status, runtimes)
    if adoption is not None:
        if status.candidate_instance_ref is not None:
            _move_to_cleanup(result, status.candidate_instance_ref, runtimes)
            status.candidate_instance_ref = None
        status.active_instance_ref = adoption
        status.observed_revision = adoption.revision
        result.adopt = adoption
        return _settle(result)

    active = status.active_instance_ref
    if active is not None and not runtimes[active.name].usable:
        _move_to_cleanup(result, active, runtimes)
        status.active_instance_ref = active = None
    candidate = status.candidate_instance_ref
    if candidate is not None and runtimes[candidate.name].terminal:
        _move_to_cleanup(result, candidate, runtimes)
        status.candidate_instance_ref = candidate = None

    desired = binding.spec.desired_revision
    replacing = active is None or (desired is not None and desired != status.observed_revision)
    if candidate is not None and (not replacing or candidate.revision != desired):
        # Made for a revision nobody wants any more.
        _move_to_cleanup(result, candidate, runtimes)
        status.candidate_instance_ref = candidate = None
    if not replacing:
        assert active is not None
        status.observed_revision = active.revision
        return _settle(result)
    if candidate is None:
        status.phase = BindingPhase.CREATING
        result.create_candidate = True
        result.candidate_revision = desired
        result.reason = Reason.CANDIDATE_CREATING
        return result
    if not runtimes[candidate.name].ready:
        status.phase = BindingPhase.WAITING_READY
        result.reason = Reason.CANDIDATE_NOT_READY
        return result
    # Promotion, and with an active runtime the cutover: one status write carries it all.
    if active is not None:
        _move_to_cleanup(result, active, runtimes)
    status.active_instance_ref = candidate
    status.candidate_instance_ref = None
    status.observed_revision = candidate.revision
    return _settle(result)


def record_candidate(status: SpritzBindingStatus, candidate: InstanceRef,
                     sequence: int) -> SpritzBindingStatus:
    """`status` with `candidate` created (or found) as runtime number `sequence`."""
    updated = status.model_copy(deep=True)
    updated.candidate_instance_ref = candidate
    updated.next_runtime_sequence = max(updated.next_runtime_sequence, sequence)
    updated.phase = BindingPhase.CREATING
    return updated


def record_failure(status: SpritzBindingStatus, code: str, message: str, *,
                   phase: BindingPhase = BindingPhase.FAILED) -> SpritzBindingStatus:
    """`status` with a failed step: `phase`, `lastErrorCode` and `lastErrorMessage`."""
    updated = status.model_copy(deep=True)
    updated.phase = phase
    updated.last_error_code = code
    updated.last_error_message = message
    return updated


def readiness(status: SpritzBindingStatus, reason: str) -> tuple[bool, bool, str, str]:
    """(Ready, Progressing, reason, message) of the conditions of a binding in `status`,
    reached for `reason`: ready → Ready and not Progressing; a `lastErrorCode` → neither,
    with the error code as the reason; otherwise → Progressing, not Ready, with `reason`."""
    if status.last_error_code:
        return False, False, status.last_error_code, status.last_error_message or ""
    if status.phase == BindingPhase.READY:
        return True, False, Reason.READY, "the active runtime serves the desired revision"
    return False, True, reason, f"phase {status.phase}"


def _observed(ref: InstanceRef | None, runtimes: Mapping[str, Runtime]) -> InstanceRef | None:
    if ref is None or ref.name not in runtimes:
        return None
    return ref.model_copy(update={"phase": runtimes[ref.name].phase})


def _adoption(binding: SpritzBinding, status: SpritzBindingStatus,
              runtimes: Mapping[str, Runtime]) -> InstanceRef | None:
    wanted = binding.spec.adopt_active
    if status.active_instance_ref is not None or wanted is None:
        return None
    runtime = runtimes.get(wanted.name)
    cleanup = status.cleanup_instance_ref
    if (runtime is None or not runtime.usable
            or wanted.namespace != binding.metadata.namespace
            or (cleanup is not None and cleanup.name == wanted.name)):
        # Nothing (usable) to adopt: the binding makes its own runtime instead.
        return None
    revision = wanted.revision or runtime.revision or binding.spec.adopted_revision
    return InstanceRef(namespace=wanted.namespace, name=wanted.name, revision=revision,
                       phase=runtime.phase)


def _move_to_cleanup(result: Plan, ref: InstanceRef, runtimes: Mapping[str, Runtime]) -> None:
    displaced = result.status.cleanup_instance_ref
    if displaced is not None and displaced.name != ref.name:
        runtime = runtimes.get(displaced.name)
        already_deleting = runtime is None or runtime.deleting
        if not already_deleting and displaced not in result.deletions:
            result.deletions.append(displaced)
    result.status.cleanup_instance_ref = ref


def _settle(result: Plan) -> Plan:
    cleaning = result.status.cleanup_instance_ref is not None
    result.status.phase = BindingPhase.CLEANING_UP if cleaning else BindingPhase.READY
    result.reason = Reason.CLEANUP_PENDING if cleaning else Reason.READY
    return result

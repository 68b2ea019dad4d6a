"""Gates: a reconcile as an ordered pipeline of conditions, summarised by `Ready` and a phase.

Each `Gate` observes one aspect of an object and reports a `GateResult`; the `GatePipeline`
writes that result as the gate's condition, in order. The first gate that blocks stops the
pipeline: every later gate is marked Unknown (reason `NotStarted` if it was never evaluated,
`Blocked` if it had been) so no stale True survives a regression upstream. `Ready` is True only
when every gate is True; otherwise it is False with the failing gate's Ready reason.

`derive_phase` turns conditions into a short informational phase. It is a pure function of the
conditions; automation must wait on conditions (`kubectl wait --for=condition=Ready=true`), never
on the phase. Which conditions it reads is the pipeline's `PhaseRules`: by default its own gates.

observedGeneration policy: every condition the pipeline writes carries the generation it was
computed from, and `status.observedGeneration` is set to it once all gates have been evaluated
(whether or not the object is Ready), so `observedGeneration == metadata.generation` means "the
status describes the current spec".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from .conditions import get_condition, is_true, set_condition, unknown
from .meta import Condition, ConditionStatus, JSONObject

__all__ = [
    "BLOCKED",
    "NOT_STARTED",
    "READY",
    "READY_OK",
    "Gate",
    "GatePipeline",
    "GateResult",
    "Phase",
    "PhaseRules",
    "PipelineOutcome",
    "derive_phase",
]

READY = "Ready"
READY_OK = "OK"
NOT_STARTED = "NotStarted"
"""Reason of a gate that has not been evaluated yet because an earlier gate blocks."""
BLOCKED = "Blocked"
"""Reason of a gate evaluated before that an earlier gate now blocks."""

ContextT = TypeVar("ContextT")


@dataclass(frozen=True, slots=True)
class GateResult:
    """What a gate observed: a condition status, a CamelCase reason and a message.

    `blocking` says whether a result other than True stops the pipeline (the default); a True
    result never blocks. A non-blocking gate that is not True still keeps `Ready` False.
    """

    status: ConditionStatus
    reason: str
    message: str = ""
    blocking: bool = True

    @property
    def blocks(self) -> bool:
        return self.status != "True" and self.blocking


@dataclass(frozen=True, slots=True)
class Gate(Generic[ContextT]):
    """One condition type and the check that computes it from a context.

    `check` must observe, not assume: it is awaited on every reconcile. `ready_reason` is the
    reason `Ready` gets while this gate is the first one not True (default: the gate's own
    result reason).
    """

    type: str
    check: Callable[[ContextT], Awaitable[GateResult]]
    ready_reason: str | None = None

    async def evaluate(self, context: ContextT) -> GateResult:
        return await self.check(context)


@dataclass(frozen=True, slots=True)
class PipelineOutcome:
    """The result of one pipeline run: readiness, phase, which gate stopped it, what changed."""

    ready: bool
    phase: str
    blocked_by: str | None
    changed: bool
    results: dict[str, GateResult] = field(default_factory=dict)


class Phase(StrEnum):
    """The informational phases of a lifecycle: small, stable, derived, never a gate."""

    PENDING = "PENDING"
    BOOTSTRAPPING = "BOOTSTRAPPING"
    SYNCING = "SYNCING"
    RUNNING = "RUNNING"


@dataclass(frozen=True, slots=True)
class PhaseRules:
    """Which condition types `derive_phase` reads.

    `setup` are the gates that must hold before syncing starts, `sync` the gate that is the
    initial sync, `ready` the summary condition.
    """

    setup: tuple[str, ...]
    sync: str
    ready: str = READY

    @classmethod
    def for_gates(cls, types: Sequence[str], ready: str = READY) -> PhaseRules:
        """A pipeline's default: its last gate is the sync, the gates before it the setup."""
        return cls(setup=tuple(types[:-1]), sync=types[-1] if types else "", ready=ready)


def derive_phase(conditions: Iterable[Any], rules: PhaseRules) -> str:
    """The phase for these conditions, and nothing else.

    - no gate evaluated yet (all absent or Unknown/NotStarted) -> PENDING
    - Ready=True -> RUNNING
    - the last setup gate True and the sync gate not True -> SYNCING
    - any setup gate not True -> BOOTSTRAPPING
    - otherwise (set up and synced, Ready not yet True) -> PENDING
    """
    entries = list(conditions)
    gates = (*rules.setup, rules.sync)
    evaluated = [c for c in (get_condition(entries, t) for t in gates)
                 if c is not None and c.get("reason") != NOT_STARTED]
    if is_true(entries, rules.ready):
        return Phase.RUNNING
    if not evaluated:
        return Phase.PENDING
    if rules.setup and is_true(entries, rules.setup[-1]) and not is_true(entries, rules.sync):
        return Phase.SYNCING
    if any(not is_true(entries, t) for t in rules.setup):
        return Phase.BOOTSTRAPPING
    return Phase.PENDING


class GatePipeline(Generic[ContextT]):
    """Evaluates gates in order and writes their conditions, `Ready`, the phase and
    observedGeneration into a status dict.

    Guarantees: a gate is evaluated only if every gate before it passed or did not block; after
    the first blocking gate no gate's check runs; writing the same results twice changes nothing
    (no `lastTransitionTime` churn), so an unchanged object needs no status write.
    Not guaranteed: gates are not run concurrently, and a raising check propagates (the
    conditions written before it stay in the status dict, which the caller may not write).
    """

    def __init__(self, gates: Sequence[Gate[ContextT]], *, ready_type: str = READY,
                 ready_reason: str = READY_OK, phase_rules: PhaseRules | None = None) -> None:
        types = [gate.type for gate in gates]
        if len(set(types)) != len(types) or ready_type in types:
            raise ValueError(f"gate types must be unique and differ from {ready_type}: {types}")
        self.gates = tuple(gates)
        self.ready_type = ready_type
        self.ready_reason = ready_reason
        self.phase_rules = phase_rules or PhaseRules.for_gates(types, ready_type)

    async def run(self, context: ContextT, status: MutableMapping[str, Any] | BaseModel, *,
                  generation: int | None = None, now: datetime | None = None) -> PipelineOutcome:
        """Evaluate the gates against `context` and update `status` in place.

        `status` is a status dict, or a status model with `conditions: list[Condition]`,
        `phase` and `observed_generation` fields (the status of a typed custom resource, to
        write with `ctx.client.write_status`). Raises TypeError for a model without them.
        """
        if isinstance(status, BaseModel):
            return await self._run_on_model(context, status, generation, now)
        conditions: list[JSONObject] = status.setdefault("conditions", [])
        before = _snapshot(status)
        results: dict[str, GateResult] = {}
        first_failure: tuple[Gate[ContextT], GateResult] | None = None
        blocked_by: Gate[ContextT] | None = None
        for gate in self.gates:
            if blocked_by is not None:
                set_condition(conditions, self._waiting(conditions, gate, blocked_by, generation),
                              now=now)
                continue
            result = await gate.evaluate(context)
            results[gate.type] = result
            set_condition(conditions, _condition(gate.type, result, generation), now=now)
            if result.status != "True" and first_failure is None:
                first_failure = (gate, result)
            if result.blocks:
                blocked_by = gate
        set_condition(conditions, self._ready(first_failure, generation), now=now)
        phase = derive_phase(conditions, self.phase_rules)
        status["phase"] = str(phase)
        if generation is not None:
            status["observedGeneration"] = generation
        return PipelineOutcome(
            ready=first_failure is None, phase=str(phase),
            blocked_by=blocked_by.type if blocked_by else None,
            changed=_snapshot(status) != before, results=results,
        )

    async def _run_on_model(self, context: ContextT, status: BaseModel, generation: int | None,
                            now: datetime | None) -> PipelineOutcome:
        missing = set(_MODEL_FIELDS) - set(type(status).model_fields)
        if missing:
            raise TypeError(f"{type(status).__name__} has no {', '.join(sorted(missing))} "
                            f"field(s) for the pipeline to write")
        document: JSONObject = {
            "conditions": [condition.model_dump(by_alias=True, exclude_none=True, mode="json")
                           for condition in getattr(status, "conditions", None) or ()],
            "phase": getattr(status, "phase", None),
            "observedGeneration": getattr(status, "observed_generation", None),
        }
        outcome = await self.run(context, document, generation=generation, now=now)
        status.conditions = [Condition.model_validate(c)  # type: ignore[attr-defined]
                             for c in document["conditions"]]
        status.phase = document["phase"]  # type: ignore[attr-defined]
        status.observed_generation = document["observedGeneration"]  # type: ignore[attr-defined]
        return outcome

    def _waiting(self, conditions: list[JSONObject], gate: Gate[ContextT],
                 blocker: Gate[ContextT], generation: int | None) -> JSONObject:
        previous = get_condition(conditions, gate.type)
        if previous is None or previous.get("reason") == NOT_STARTED:
            return unknown(gate.type, NOT_STARTED, f"waiting for {blocker.type}",
                           observed_generation=generation)
        return unknown(gate.type, BLOCKED, f"blocked by {blocker.type}",
                       observed_generation=generation)

    def _ready(self, failure: tuple[Gate[ContextT], GateResult] | None,
               generation: int | None) -> JSONObject:
        if failure is None:
            passed = ", ".join(gate.type for gate in self.gates)
            return _condition(self.ready_type, GateResult(
                "True", self.ready_reason, f"all gates passed: {passed}"), generation)
        gate, result = failure
        message = f"{gate.type} is {result.status}: {result.reason}"
        if result.message:
            message += f": {result.message}"
        return _condition(self.ready_type,
                          GateResult("False", gate.ready_reason or result.reason, message),
                          generation)


_MODEL_FIELDS = ("conditions", "phase", "observed_generation")


def _condition(type: str, result: GateResult, generation: int | None) -> JSONObject:
    condition: JSONObject = {"type": type, "status": result.status, "reason": result.reason,
                             "message": result.message}
    if generation is not None:
        condition["observedGeneration"] = generation
    return condition


def _snapshot(status: MutableMapping[str, Any]) -> tuple[Any, ...]:
    conditions = [dict(c) for c in status.get("conditions") or ()]
    return (status.get("phase"), status.get("observedGeneration"), conditions)

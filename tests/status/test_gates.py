"""The gate pipeline and phase derivation: the lifecycle gate table and the phase rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controllerkit.conditions import get_condition
from controllerkit.gates import Gate, GatePipeline, GateResult, Phase, PhaseRules, derive_phase
from controllerkit.meta import Condition, JSONObject, KubeModel

from .demo import LIFECYCLE_PHASES, World, lifecycle

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
GATES = ("Validated", "EncryptionConfigured", "Bootstrapped", "SnapshotSynced",
         "EventStreamLive")


@dataclass(frozen=True)
class Scenario:
    world: World
    expected: dict[str, tuple[str, str]]  # type -> (status, reason)
    phase: str


SCENARIOS = {
    "provider-missing": Scenario(
        World(provider_exists=False),
        {"Validated": ("False", "ProviderNotFound"), "Ready": ("False", "ValidationFailed"),
         "EncryptionConfigured": ("Unknown", "NotStarted"),
         "EventStreamLive": ("Unknown", "NotStarted")},
        Phase.BOOTSTRAPPING),
    "secret-missing-no-autocreate": Scenario(
        World(encryption=True, secret_exists=False, autocreate_secret=False),
        {"Validated": ("True", "OK"), "EncryptionConfigured": ("False", "MissingSecret"),
         "Bootstrapped": ("Unknown", "NotStarted"),
         "Ready": ("False", "EncryptionNotConfigured")},
        Phase.BOOTSTRAPPING),
    "worker-missing": Scenario(
        World(worker_exists=False),
        {"EncryptionConfigured": ("True", "NotRequired"),
         "Bootstrapped": ("False", "WorkerNotFound"),
         "SnapshotSynced": ("Unknown", "NotStarted"),
         "Ready": ("False", "BootstrapNotComplete")},
        Phase.BOOTSTRAPPING),
    "snapshot-running": Scenario(
        World(snapshot="Running"),
        {"Bootstrapped": ("True", "BootstrapApplied"), "SnapshotSynced": ("False", "Running"),
         "EventStreamLive": ("Unknown", "NotStarted"),
         "Ready": ("False", "InitialSyncInProgress")},
        Phase.SYNCING),
    "stream-registration-fails": Scenario(
        World(stream_registered=False),
        {"SnapshotSynced": ("True", "Completed"),
         "EventStreamLive": ("False", "RegistrationFailed"),
         "Ready": ("False", "StreamNotLive")},
        Phase.PENDING),
    "happy-path": Scenario(
        World(),
        {**{gate: ("True", reason) for gate, reason in zip(
            GATES, ("OK", "NotRequired", "BootstrapApplied", "Completed", "Registered"),
            strict=True)},
         "Ready": ("True", "OK")},
        Phase.RUNNING),
}


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
async def test_reconcile_gate_table(scenario: Scenario) -> None:
    status: JSONObject = {}
    outcome = await lifecycle().run(scenario.world, status, generation=4, now=T0)
    conditions = status["conditions"]
    for type, (expected_status, reason) in scenario.expected.items():
        entry = get_condition(conditions, type)
        assert entry is not None, type
        assert (entry["status"], entry["reason"]) == (expected_status, reason), type
        assert entry["observedGeneration"] == 4
    assert [c["type"] for c in conditions] == [*GATES, "Ready"]
    assert status["phase"] == outcome.phase == scenario.phase
    assert status["observedGeneration"] == 4
    assert outcome.ready is (scenario.phase == Phase.RUNNING)


async def test_ready_message_points_at_the_first_failing_gate() -> None:
    status: JSONObject = {}
    await lifecycle().run(World(worker_exists=False), status, generation=1, now=T0)
    ready = get_condition(status["conditions"], "Ready")
    assert ready is not None
    assert ready["message"] == "Bootstrapped is False: WorkerNotFound: no worker for provider/main"


async def test_gates_after_a_blocking_gate_are_not_evaluated() -> None:
    evaluated: list[str] = []

    def gate(type: str, result: GateResult) -> Gate[None]:
        async def check(_: None) -> GateResult:
            evaluated.append(type)
            return result
        return Gate(type, check)

    pipeline = GatePipeline([gate("A", GateResult("True", "OK")),
                             gate("B", GateResult("False", "Broken")),
                             gate("C", GateResult("True", "OK"))])
    outcome = await pipeline.run(None, {}, now=T0)
    assert evaluated == ["A", "B"]
    assert outcome.blocked_by == "B" and set(outcome.results) == {"A", "B"}


async def test_a_non_blocking_gate_lets_later_gates_run_but_keeps_ready_false() -> None:
    async def degraded(_: None) -> GateResult:
        return GateResult("False", "Slow", blocking=False)

    async def fine(_: None) -> GateResult:
        return GateResult("True", "OK")

    status: JSONObject = {}
    outcome = await GatePipeline([Gate("Metrics", degraded), Gate("Serving", fine)]).run(
        None, status, now=T0)
    assert outcome.blocked_by is None and not outcome.ready
    assert get_condition(status["conditions"], "Serving") is not None
    ready = get_condition(status["conditions"], "Ready")
    assert ready is not None and (ready["status"], ready["reason"]) == ("False", "Slow")


async def test_ready_true_says_which_gates_passed() -> None:
    async def fine(_: None) -> GateResult:
        return GateResult("True", "OK")

    status: JSONObject = {}
    await GatePipeline([Gate("Validated", fine), Gate("Serving", fine)]).run(
        None, status, now=T0)
    ready = get_condition(status["conditions"], "Ready")
    assert ready is not None
    assert (ready["status"], ready["message"]) == ("True", "all gates passed: Validated, Serving")


async def test_a_regression_upstream_marks_evaluated_gates_blocked() -> None:
    status: JSONObject = {}
    pipeline = lifecycle()
    await pipeline.run(World(), status, generation=1, now=T0)
    await pipeline.run(World(provider_exists=False), status, generation=2,
                       now=T0 + timedelta(minutes=1))
    for type in GATES[1:]:
        entry = get_condition(status["conditions"], type)
        assert entry is not None
        assert (entry["status"], entry["reason"]) == ("Unknown", "Blocked")
        assert entry["message"] == "blocked by Validated"


async def test_rerunning_with_the_same_observations_changes_nothing() -> None:
    status: JSONObject = {}
    pipeline = lifecycle()
    first = await pipeline.run(World(snapshot="Running"), status, generation=3, now=T0)
    snapshot: dict[str, Any] = {**status, "conditions": [dict(c) for c in status["conditions"]]}
    second = await pipeline.run(World(snapshot="Running"), status, generation=3,
                                now=T0 + timedelta(hours=1))
    assert first.changed and not second.changed
    assert status == snapshot


async def test_golden_path_progression_moves_through_the_phases() -> None:
    status: JSONObject = {}
    pipeline = lifecycle()
    worlds = [World(provider_exists=False), World(worker_exists=False),
              World(snapshot="Running"), World(stream_registered=False), World()]
    phases = [(await pipeline.run(w, status, generation=1, now=T0)).phase for w in worlds]
    assert phases == ["BOOTSTRAPPING", "BOOTSTRAPPING", "SYNCING", "PENDING", "RUNNING"]
    ready = get_condition(status["conditions"], "Ready")
    assert ready is not None and ready["status"] == "True"


def c(type: str, status: str, reason: str = "R") -> JSONObject:
    return {"type": type, "status": status, "reason": reason}


ALL_SETUP_TRUE = [c("Validated", "True"), c("EncryptionConfigured", "True"),
                  c("Bootstrapped", "True")]

PHASES = {
    "no-conditions": ([], Phase.PENDING),
    "nothing-evaluated": ([c(g, "Unknown", "NotStarted") for g in GATES] + [c("Ready", "False")],
                          Phase.PENDING),
    "ready": ([c("Ready", "True")], Phase.RUNNING),
    "validation-failed": ([c("Validated", "False")], Phase.BOOTSTRAPPING),
    "bootstrapped-sync-unknown": ([*ALL_SETUP_TRUE, c("SnapshotSynced", "Unknown")],
                                  Phase.SYNCING),
    "bootstrapped-sync-false": ([*ALL_SETUP_TRUE, c("SnapshotSynced", "False")], Phase.SYNCING),
    "synced-not-ready": ([*ALL_SETUP_TRUE, c("SnapshotSynced", "True"), c("Ready", "False")],
                         Phase.PENDING),
}


@pytest.mark.parametrize(("conditions", "phase"), PHASES.values(), ids=PHASES.keys())
def test_phase_is_a_pure_function_of_the_conditions(conditions: list[JSONObject],
                                                    phase: str) -> None:
    assert derive_phase(conditions, LIFECYCLE_PHASES) == phase
    assert derive_phase(list(reversed(conditions)), LIFECYCLE_PHASES) == phase


def test_phase_rules_name_other_condition_types() -> None:
    rules = PhaseRules(setup=("Installed",), sync="Migrated", ready="Available")
    conditions = [c("Installed", "True"), c("Migrated", "False")]
    assert derive_phase(conditions, rules) == Phase.SYNCING
    assert derive_phase([*conditions, c("Available", "True")], rules) == Phase.RUNNING


async def test_by_default_the_last_gate_is_the_sync_and_the_others_the_setup() -> None:
    async def fine(_: None) -> GateResult:
        return GateResult("True", "OK")

    async def migrating(_: None) -> GateResult:
        return GateResult("False", "InProgress")

    pipeline = GatePipeline([Gate("Installed", fine), Gate("Migrated", migrating)])
    assert pipeline.phase_rules == PhaseRules(setup=("Installed",), sync="Migrated")
    outcome = await pipeline.run(None, {}, now=T0)
    assert outcome.phase == Phase.SYNCING


class ModelStatus(KubeModel):
    conditions: list[Condition] = []
    phase: str | None = None
    observed_generation: int | None = None
    other: str = "kept"


async def test_a_status_model_gets_the_conditions_phase_and_generation() -> None:
    status = ModelStatus()
    pipeline = lifecycle()
    outcome = await pipeline.run(World(snapshot="Running"), status, generation=2, now=T0)
    assert [c.type for c in status.conditions] == [*GATES, "Ready"]
    assert all(isinstance(c, Condition) and c.observed_generation == 2
               for c in status.conditions)
    assert (status.phase, status.observed_generation, status.other) == (
        Phase.SYNCING, 2, "kept")
    again = await pipeline.run(World(snapshot="Running"), status, generation=2,
                               now=T0 + timedelta(hours=1))
    assert outcome.changed and not again.changed
    assert {c.last_transition_time for c in status.conditions} == {T0}


async def test_a_status_model_without_the_pipeline_fields_is_refused() -> None:
    class Bare(KubeModel):
        conditions: list[Condition] = []

    with pytest.raises(TypeError, match="observed_generation, phase"):
        await lifecycle().run(World(), Bare(), now=T0)


def test_gate_types_must_be_unique() -> None:
    async def ok(_: None) -> GateResult:
        return GateResult("True", "OK")

    with pytest.raises(ValueError, match="unique"):
        GatePipeline([Gate("A", ok), Gate("A", ok)])
    with pytest.raises(ValueError, match="unique"):
        GatePipeline([Gate("Ready", ok)])


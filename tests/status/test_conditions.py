"""`set_condition` and its readers: the condition-helper table, on dicts and on models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controllerkit.conditions import (
    get_condition,
    is_false,
    is_true,
    is_unknown,
    set_condition,
    unknown,
)
from controllerkit.meta import Condition, JSONObject

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def cond(type: str, status: str, reason: str = "R", message: str = "",
         generation: int | None = None) -> JSONObject:
    out: JSONObject = {"type": type, "status": status, "reason": reason, "message": message}
    if generation is not None:
        out["observedGeneration"] = generation
    return out


def test_upsert_inserts_a_new_type_with_the_transition_time() -> None:
    conditions: list[JSONObject] = []
    assert set_condition(conditions, cond("Ready", "False", "Pending", "wait", 1), now=T0)
    assert conditions == [{"type": "Ready", "status": "False", "reason": "Pending",
                           "message": "wait", "observedGeneration": 1,
                           "lastTransitionTime": "2026-01-01T12:00:00Z"}]


def test_upsert_updates_an_existing_type_without_duplicating_it() -> None:
    conditions: list[JSONObject] = []
    set_condition(conditions, cond("Ready", "False"), now=T0)
    set_condition(conditions, cond("Synced", "True"), now=T0)
    set_condition(conditions, cond("Ready", "True", "OK"), now=T1)
    assert [c["type"] for c in conditions] == ["Ready", "Synced"]
    assert get_condition(conditions, "Ready") == {
        "type": "Ready", "status": "True", "reason": "OK", "message": "",
        "lastTransitionTime": "2026-01-01T12:05:00Z"}


@pytest.mark.parametrize(
    ("second", "changed", "transition"),
    [
        (cond("Ready", "False", "Pending"), False, "2026-01-01T12:00:00Z"),
        (cond("Ready", "False", "Waiting", "new message", 2), True, "2026-01-01T12:00:00Z"),
        (cond("Ready", "True", "OK"), True, "2026-01-01T12:05:00Z"),
        (cond("Ready", "Unknown", "NotChecked"), True, "2026-01-01T12:05:00Z"),
    ],
    ids=["same-everything", "reason-message-generation-only", "status-to-true",
         "status-to-unknown"],
)
def test_last_transition_time_changes_only_when_status_changes(
    second: JSONObject, changed: bool, transition: str
) -> None:
    conditions: list[JSONObject] = []
    set_condition(conditions, cond("Ready", "False", "Pending"), now=T0)
    assert set_condition(conditions, second, now=T1) is changed
    (entry,) = conditions
    assert entry["lastTransitionTime"] == transition
    assert (entry["status"], entry["reason"], entry["message"]) == (
        second["status"], second["reason"], second["message"])
    assert entry.get("observedGeneration") == second.get("observedGeneration")


def test_ordering_does_not_matter_for_readers_or_updates() -> None:
    forward = [cond("A", "True"), cond("B", "False"), cond("C", "Unknown")]
    backward = list(reversed([dict(c) for c in forward]))
    for conditions in (forward, backward):
        set_condition(conditions, cond("B", "True", "Fixed"), now=T1)
        assert is_true(conditions, "A") and is_true(conditions, "B") and is_unknown(conditions, "C")
    assert sorted(forward, key=lambda c: c["type"]) == sorted(backward, key=lambda c: c["type"])


def test_an_existing_list_keeps_its_order_when_a_condition_changes() -> None:
    conditions = [cond("C", "True"), cond("A", "True"), cond("B", "True")]
    set_condition(conditions, cond("A", "False"), now=T0)
    set_condition(conditions, cond("D", "True"), now=T0)
    assert [c["type"] for c in conditions] == ["C", "A", "B", "D"]


def test_an_explicit_transition_time_is_kept() -> None:
    conditions: list[JSONObject] = []
    explicit = {**cond("Ready", "True"), "lastTransitionTime": "2020-05-05T00:00:00Z"}
    set_condition(conditions, explicit, now=T0)
    assert conditions[0]["lastTransitionTime"] == "2020-05-05T00:00:00Z"


def test_unknown_builds_a_reasoned_unknown_condition() -> None:
    conditions: list[JSONObject] = []
    set_condition(conditions, unknown("Synced", "NotStarted", "waiting for Ready"), now=T0)
    assert is_unknown(conditions, "Synced") and not is_false(conditions, "Synced")
    assert get_condition(conditions, "Synced") == {
        "type": "Synced", "status": "Unknown", "reason": "NotStarted",
        "message": "waiting for Ready", "lastTransitionTime": "2026-01-01T12:00:00Z"}


def test_an_absent_condition_is_neither_true_nor_false() -> None:
    assert get_condition([], "Ready") is None
    assert not is_true([], "Ready") and not is_false([], "Ready") and is_unknown([], "Ready")


@pytest.mark.parametrize(
    "bad", [{"type": "", "status": "True"}, {"type": "Ready", "status": "true"},
            {"status": "True"}],
    ids=["empty-type", "lowercase-status", "no-type"],
)
def test_malformed_conditions_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        set_condition([], bad)


def test_models_follow_the_same_rules() -> None:
    conditions: list[Condition] = []
    assert set_condition(conditions, Condition(type="Ready", status="False", reason="Pending"),
                         now=T0)
    assert not set_condition(conditions,
                             Condition(type="Ready", status="False", reason="Pending"), now=T1)
    assert set_condition(conditions, Condition(type="Ready", status="False", reason="Waiting",
                                               observed_generation=3), now=T1)
    assert conditions[0].last_transition_time == T0
    assert set_condition(conditions, Condition(type="Ready", status="True", reason="OK"), now=T1)
    (entry,) = conditions
    assert (entry.status, entry.reason, entry.last_transition_time) == ("True", "OK", T1)
    assert is_true(conditions, "Ready")
    assert get_condition(conditions, "Ready") == {
        "type": "Ready", "status": "True", "reason": "OK",
        "lastTransitionTime": "2026-01-01T12:05:00Z"}


def test_dicts_and_models_are_not_mixed_in_one_list() -> None:
    conditions: list[Any] = [cond("Ready", "True")]
    with pytest.raises(TypeError, match="Condition"):
        set_condition(conditions, Condition(type="Ready", status="False"))

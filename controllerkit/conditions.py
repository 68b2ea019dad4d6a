"""Conditions: a list of observations kept as a map keyed by `type` (metav1.Condition semantics).

`set_condition` is the one way to change a condition list. It guarantees:

- at most one condition per type: an existing entry is updated in place, a new type is
  appended, so the order of the list is stable and never churns;
- `lastTransitionTime` changes only when `status` changes (a condition that is re-written with
  the same status keeps its time, so watchers see no flapping);
- `reason`, `message` and `observedGeneration` always take the new values;
- the return value says whether anything changed, so a caller can skip a status write.

It works on plain JSON dicts (the runtime's hot path) and on `Condition` models alike; the time
is injectable (`now=`) so tests are exact. Readers (`get_condition`, `is_true`, `is_false`) never
depend on the order of the list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, overload

from .meta import Condition, JSONObject

__all__ = [
    "CONDITION_STATUSES",
    "format_time",
    "get_condition",
    "is_false",
    "is_true",
    "is_unknown",
    "set_condition",
    "unknown",
]

CONDITION_STATUSES = ("True", "False", "Unknown")


def format_time(moment: datetime) -> str:
    """A time as Kubernetes serialises `metav1.Time`: UTC, whole seconds, `Z` suffix."""
    if moment.tzinfo is None:
        raise ValueError("condition times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unknown(type: str, reason: str, message: str = "", *,
            observed_generation: int | None = None) -> JSONObject:
    """A condition with status Unknown and a reason saying why (`NotStarted`, `Blocked`, ...)."""
    condition: JSONObject = {"type": type, "status": "Unknown", "reason": reason,
                             "message": message}
    if observed_generation is not None:
        condition["observedGeneration"] = observed_generation
    return condition


@overload
def set_condition(conditions: list[JSONObject], condition: Mapping[str, Any], *,
                  now: datetime | None = None) -> bool: ...


@overload
def set_condition(conditions: list[Condition], condition: Condition, *,
                  now: datetime | None = None) -> bool: ...


def set_condition(conditions: list[Any], condition: Mapping[str, Any] | Condition, *,
                  now: datetime | None = None) -> bool:
    """Insert or update the condition of `condition`'s type in `conditions`; True if it changed.

    The list is modified in place and keeps one entry per type. A list of dicts takes a dict
    (stored as a JSON-shaped copy), a list of `Condition` models takes a model. The transition
    time is `condition`'s own `lastTransitionTime` when it has one, else `now` (default: the
    current UTC time); it is applied only to a new entry or on a change of `status`.
    Raises ValueError for an empty type or a status other than True, False, Unknown, and
    TypeError when the list holds the other form.
    """
    moment = now if now is not None else datetime.now(UTC)
    if isinstance(condition, Condition):
        _require_form(conditions, Condition)
        return _set_model(conditions, condition, moment)
    _require_form(conditions, dict)
    return _set_dict(conditions, _validated(condition), moment)


def get_condition(conditions: Iterable[Any], type: str) -> JSONObject | None:
    """The condition of this type as a dict (a copy for models), or None when it is absent."""
    for entry in conditions:
        if isinstance(entry, Condition):
            if entry.type == type:
                return entry.model_dump(by_alias=True, exclude_none=True, mode="json")
        elif entry.get("type") == type:
            return dict(entry)
    return None


def is_true(conditions: Iterable[Any], type: str) -> bool:
    """Whether the condition of this type is present with status True."""
    return _status_of(conditions, type) == "True"


def is_false(conditions: Iterable[Any], type: str) -> bool:
    """Whether the condition of this type is present with status False."""
    return _status_of(conditions, type) == "False"


def is_unknown(conditions: Iterable[Any], type: str) -> bool:
    """Whether the condition of this type is absent or has status Unknown."""
    return _status_of(conditions, type) in (None, "Unknown")


def _status_of(conditions: Iterable[Any], type: str) -> str | None:
    for entry in conditions:
        if isinstance(entry, Condition):
            if entry.type == type:
                return entry.status
        elif entry.get("type") == type:
            return str(entry.get("status"))
    return None


def _require_form(conditions: list[Any], form: type) -> None:
    stray = next((entry for entry in conditions if not isinstance(entry, form)), None)
    if stray is not None:
        raise TypeError(
            f"cannot set a {form.__name__} condition in a list holding {type(stray).__name__}: "
            "pass dicts for a JSON status and Condition models for a typed one"
        )


def _validated(condition: Mapping[str, Any]) -> JSONObject:
    type_ = condition.get("type")
    if not isinstance(type_, str) or not type_:
        raise ValueError(f"a condition needs a non-empty type, got {type_!r}")
    status = condition.get("status")
    if status not in CONDITION_STATUSES:
        raise ValueError(f"condition {type_}: status must be one of {CONDITION_STATUSES}, "
                         f"got {status!r}")
    return dict(condition)


def _set_dict(conditions: list[JSONObject], new: JSONObject, moment: datetime) -> bool:
    transition = new.get("lastTransitionTime") or format_time(moment)
    existing = next((c for c in conditions if c.get("type") == new["type"]), None)
    if existing is None:
        entry = {"type": new["type"], "status": new["status"], "lastTransitionTime": transition,
                 "reason": new.get("reason") or "", "message": new.get("message") or ""}
        if new.get("observedGeneration") is not None:
            entry["observedGeneration"] = new["observedGeneration"]
        conditions.append(entry)
        return True
    before = dict(existing)
    if existing.get("status") != new["status"]:
        existing["status"] = new["status"]
        existing["lastTransitionTime"] = transition
    existing["reason"] = new.get("reason") or ""
    existing["message"] = new.get("message") or ""
    if new.get("observedGeneration") is not None:
        existing["observedGeneration"] = new["observedGeneration"]
    else:
        existing.pop("observedGeneration", None)
    return existing != before


def _set_model(conditions: list[Condition], new: Condition, moment: datetime) -> bool:
    transition = new.last_transition_time or moment.astimezone(UTC).replace(microsecond=0)
    index = next((i for i, c in enumerate(conditions) if c.type == new.type), None)
    if index is None:
        conditions.append(new.model_copy(update={"last_transition_time": transition}))
        return True
    existing = conditions[index]
    updated = existing.model_copy(update={
        "reason": new.reason,
        "message": new.message,
        "observed_generation": new.observed_generation,
    })
    if existing.status != new.status:
        updated = updated.model_copy(update={"status": new.status,
                                             "last_transition_time": transition})
    conditions[index] = updated
    return updated != existing

"""Predicates: which informer events are worth a reconcile.

A `Predicate` answers, for an add, an update (old and new) and a delete, whether the event
should enqueue anything. Predicates combine with `&`, `|` and `~` (or `and_`, `or_`, `not_`).
The built-in ones look only at updates and let adds and deletes through, as
controller-runtime's do, so a filtered controller still sees objects appear and disappear.

Predicates are an optimisation, never a source of truth: a reconcile must still be correct
from the current state alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..cache import DeletedFinalStateUnknown
from ..meta import JSONObject

__all__ = [
    "ANNOTATIONS_CHANGED",
    "GENERATION_CHANGED",
    "LABELS_CHANGED",
    "RESOURCE_VERSION_CHANGED",
    "Predicate",
    "and_",
    "not_",
    "or_",
]

DeletedObject = JSONObject | DeletedFinalStateUnknown


def _always(*_: object) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Predicate:
    """Three tests, one per event type; a missing one lets every event of its type through.

    `Predicate(update=lambda old, new: ...)` builds a custom predicate. The delete test
    receives the deleted object or a `DeletedFinalStateUnknown` tombstone.
    """

    add: Callable[[JSONObject], bool] = _always
    update: Callable[[JSONObject, JSONObject], bool] = _always
    delete: Callable[[DeletedObject], bool] = _always
    name: str = "custom"

    def __and__(self, other: Predicate) -> Predicate:
        return and_(self, other)

    def __or__(self, other: Predicate) -> Predicate:
        return or_(self, other)

    def __invert__(self) -> Predicate:
        return not_(self)

    def __repr__(self) -> str:
        return f"Predicate({self.name})"


def and_(*predicates: Predicate) -> Predicate:
    """Passes an event only if every predicate passes it (all of none: passes)."""
    return Predicate(
        add=lambda obj: all(p.add(obj) for p in predicates),
        update=lambda old, new: all(p.update(old, new) for p in predicates),
        delete=lambda obj: all(p.delete(obj) for p in predicates),
        name=" & ".join(p.name for p in predicates) or "all()",
    )


def or_(*predicates: Predicate) -> Predicate:
    """Passes an event if at least one predicate passes it (any of none: blocks)."""
    return Predicate(
        add=lambda obj: any(p.add(obj) for p in predicates),
        update=lambda old, new: any(p.update(old, new) for p in predicates),
        delete=lambda obj: any(p.delete(obj) for p in predicates),
        name=" | ".join(p.name for p in predicates) or "any()",
    )


def not_(predicate: Predicate) -> Predicate:
    """Passes exactly the events `predicate` blocks."""
    return Predicate(
        add=lambda obj: not predicate.add(obj),
        update=lambda old, new: not predicate.update(old, new),
        delete=lambda obj: not predicate.delete(obj),
        name=f"~{predicate.name}",
    )


def _metadata(obj: JSONObject, field: str) -> Any:
    return (obj.get("metadata") or {}).get(field)


def _changed(field: str, empty: object) -> Callable[[JSONObject, JSONObject], bool]:
    def update(old: JSONObject, new: JSONObject) -> bool:
        before = _metadata(old, field)
        after = _metadata(new, field)
        # An absent map and an empty one mean the same to a reader.
        return (before or empty) != (after or empty)
    return update


GENERATION_CHANGED = Predicate(update=_changed("generation", 0), name="generation changed")
"""Updates that changed `metadata.generation`: spec changes, not status or metadata writes.

Kinds whose server does not set a generation (ConfigMap, Secret) never pass an update.
"""

RESOURCE_VERSION_CHANGED = Predicate(
    update=_changed("resourceVersion", ""), name="resource version changed")
"""Updates that changed `metadata.resourceVersion`: every real change, not a resync."""

LABELS_CHANGED = Predicate(update=_changed("labels", {}), name="labels changed")
"""Updates that changed `metadata.labels`."""

ANNOTATIONS_CHANGED = Predicate(update=_changed("annotations", {}), name="annotations changed")
"""Updates that changed `metadata.annotations`."""

"""Predicates decide which updates enqueue; adds and deletes pass the built-in ones."""

from __future__ import annotations

from typing import Any

import pytest

from controllerkit.cache import DeletedFinalStateUnknown
from controllerkit.controller import (
    ANNOTATIONS_CHANGED,
    GENERATION_CHANGED,
    LABELS_CHANGED,
    RESOURCE_VERSION_CHANGED,
    Predicate,
    and_,
    not_,
    or_,
)


def obj(generation: int = 1, rv: str = "1", labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "a", "namespace": "default", "generation": generation,
                            "resourceVersion": rv}
    if labels is not None:
        meta["labels"] = labels
    if annotations is not None:
        meta["annotations"] = annotations
    return {"metadata": meta}


@pytest.mark.parametrize(("predicate", "old", "new", "passes"), [
    (GENERATION_CHANGED, obj(1, "1"), obj(2, "2"), True),
    (GENERATION_CHANGED, obj(1, "1"), obj(1, "2"), False),
    (RESOURCE_VERSION_CHANGED, obj(1, "1"), obj(1, "2"), True),
    (RESOURCE_VERSION_CHANGED, obj(1, "1"), obj(1, "1"), False),
    (LABELS_CHANGED, obj(labels={"a": "1"}), obj(labels={"a": "2"}), True),
    (LABELS_CHANGED, obj(labels={}), obj(), False),
    (ANNOTATIONS_CHANGED, obj(annotations={"x": "y"}), obj(), True),
    (ANNOTATIONS_CHANGED, obj(annotations={"x": "y"}), obj(2, "2", annotations={"x": "y"}),
     False),
])
def test_builtin_predicates_filter_updates(
    predicate: Predicate, old: dict[str, Any], new: dict[str, Any], passes: bool
) -> None:
    assert predicate.update(old, new) is passes


def test_builtin_predicates_let_adds_and_deletes_through() -> None:
    tombstone = DeletedFinalStateUnknown(("default", "a"), obj())
    for predicate in (GENERATION_CHANGED, RESOURCE_VERSION_CHANGED, LABELS_CHANGED,
                      ANNOTATIONS_CHANGED):
        assert predicate.add(obj())
        assert predicate.delete(obj())
        assert predicate.delete(tombstone)


def test_combinators_follow_boolean_logic() -> None:
    spec_change = (obj(1, "1"), obj(2, "2"))
    label_change = (obj(1, "1", labels={"a": "1"}), obj(1, "2", labels={"a": "2"}))
    either = GENERATION_CHANGED | LABELS_CHANGED
    both = and_(GENERATION_CHANGED, LABELS_CHANGED)
    assert either.update(*spec_change) and either.update(*label_change)
    assert not both.update(*spec_change) and not both.update(*label_change)
    assert (~GENERATION_CHANGED).update(*label_change)
    assert not not_(GENERATION_CHANGED).add(obj())
    assert or_(GENERATION_CHANGED, LABELS_CHANGED).update(*spec_change)
    assert not or_().add(obj()) and and_().add(obj())


def test_custom_predicate_filters_only_the_events_it_names() -> None:
    only_red = Predicate(add=lambda o: o["metadata"].get("labels", {}).get("colour") == "red",
                         name="red")
    assert only_red.add(obj(labels={"colour": "red"}))
    assert not only_red.add(obj(labels={"colour": "blue"}))
    assert only_red.update(obj(), obj())
    assert "red" in repr(only_red & GENERATION_CHANGED)

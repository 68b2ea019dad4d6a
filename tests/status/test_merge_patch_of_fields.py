"""`merge_patch_of_fields`: a typed status writes what it declares and erases nothing else."""

from __future__ import annotations

from controllerkit.merge_patch import merge_patch_of_fields


def test_fields_not_named_are_kept_and_none_removes() -> None:
    current = {"phase": "Running", "kopf": {"progress": {}}, "message": "old", "size": 1}
    desired = {"phase": "Running", "message": None, "size": 2}
    assert merge_patch_of_fields(current, desired) == {"message": None, "size": 2}


def test_nested_objects_are_compared_field_by_field() -> None:
    current = {"summary": {"ready": 1, "other": "kept"}}
    assert merge_patch_of_fields(current, {"summary": {"ready": 2, "gone": None}}) == {
        "summary": {"ready": 2}}


def test_lists_are_replaced_whole_without_their_none_values() -> None:
    current = {"conditions": [{"type": "Ready", "status": "False"}]}
    desired = {"conditions": [{"type": "Ready", "status": "True", "message": None}]}
    assert merge_patch_of_fields(current, desired) == {
        "conditions": [{"type": "Ready", "status": "True"}]}
    same = {"conditions": [{"type": "Ready", "status": "False", "reason": None}]}
    assert merge_patch_of_fields(current, same) == {}

"""`set_controller_reference` marks one controller per object; owners map back to requests."""

from __future__ import annotations

from typing import Any

import pytest

from controllerkit.controller import (
    AlreadyOwnedError,
    controller_reference,
    request_for_owner,
    set_controller_reference,
)
from controllerkit.meta import CONFIG_MAP, NAMESPACE
from controllerkit.reconcile import Request

from ..client.kinds import WIDGET


def widget(name: str = "w", uid: str = "uid-1") -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": name, "namespace": "default", "uid": uid}}


def child() -> dict[str, Any]:
    return {"metadata": {"name": "c", "namespace": "default"}}


def test_controller_reference_names_the_owner_with_controller_true() -> None:
    obj = set_controller_reference(widget(), child())
    assert obj["metadata"]["ownerReferences"] == [{
        "apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "uid-1",
        "controller": True, "blockOwnerDeletion": True}]
    assert controller_reference(obj) == obj["metadata"]["ownerReferences"][0]


def test_setting_the_same_owner_twice_keeps_one_reference() -> None:
    obj = set_controller_reference(widget(), set_controller_reference(widget(), child()))
    assert len(obj["metadata"]["ownerReferences"]) == 1


def test_a_second_controller_is_refused_with_the_existing_owner() -> None:
    obj = set_controller_reference(widget("first", "uid-1"), child())
    with pytest.raises(AlreadyOwnedError, match="first") as error:
        set_controller_reference(widget("second", "uid-2"), obj)
    assert error.value.existing["uid"] == "uid-1"


def test_owner_without_uid_or_across_namespaces_is_refused() -> None:
    unsaved = widget()
    del unsaved["metadata"]["uid"]
    with pytest.raises(ValueError, match="no uid"):
        set_controller_reference(unsaved, child())
    elsewhere = {"metadata": {"name": "c", "namespace": "other"}}
    with pytest.raises(ValueError, match="namespace"):
        set_controller_reference(widget(), elsewhere)


def test_owner_mapper_matches_group_and_kind_of_the_controller_only() -> None:
    owned = set_controller_reference(widget(), child())
    assert list(request_for_owner(WIDGET)(owned)) == [Request("default", "w")]
    assert list(request_for_owner(CONFIG_MAP)(owned)) == []
    owned["metadata"]["ownerReferences"][0]["controller"] = False
    assert list(request_for_owner(WIDGET)(owned)) == []
    cluster_owned = set_controller_reference(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team", "uid": "u"}},
        child())
    assert list(request_for_owner(NAMESPACE)(cluster_owned)) == [Request("", "team")]

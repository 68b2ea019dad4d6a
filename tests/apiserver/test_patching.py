"""Merge, JSON and strategic merge patches: results, Kubernetes error codes, immutability."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from controllerkit.apiserver import patching
from controllerkit.apiserver.errors import StatusError
from controllerkit.apiserver.patching import (
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)

Patcher = Callable[[dict[str, Any], Any], dict[str, Any]]
REJECTED = "the server rejected our request due to an error in our request"


def job() -> dict[str, Any]:
    return {
        "metadata": {"name": "build", "labels": {"app": "ci", "team": "a"},
                     "finalizers": ["x/one", "x/two"]},
        "spec": {
            "parallelism": 1,
            "ratio": 0.5,
            "containers": [
                {"name": "main", "image": "busybox:1",
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                 "volumeMounts": [{"name": "data", "mountPath": "/a"},
                                  {"name": "data", "mountPath": "/b"}]},
                {"name": "sidecar", "image": "envoy:1"},
            ],
            "args": ["--x", "--y"],
        },
    }


def status_error(call: Callable[[], object]) -> StatusError:
    with pytest.raises(StatusError) as caught:
        call()
    return caught.value


ALL_PATCHERS = [apply_merge_patch, apply_json_patch, apply_strategic_merge_patch]
SAMPLE_PATCHES: dict[Patcher, Any] = {
    apply_merge_patch: {"metadata": {"labels": {"team": None, "new": "1"}},
                        "spec": {"containers": [{"name": "x"}]}},
    apply_json_patch: [{"op": "add", "path": "/spec/containers/0/env/-", "value": {"name": "C"}},
                       {"op": "remove", "path": "/metadata/labels/team"}],
    apply_strategic_merge_patch: {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x/one"]},
                                  "spec": {"containers": [{"name": "main", "image": "b:2"}]}},
}


@pytest.mark.parametrize("patcher", ALL_PATCHERS)
def test_patch_never_mutates_target_or_patch(patcher: Patcher) -> None:
    target, patch = job(), copy.deepcopy(SAMPLE_PATCHES[patcher])
    patcher(target, patch)
    assert target == job()
    assert patch == SAMPLE_PATCHES[patcher]


@pytest.mark.parametrize("patcher", ALL_PATCHERS)
def test_patch_result_shares_nothing_with_target_or_patch(patcher: Patcher) -> None:
    target, patch = job(), copy.deepcopy(SAMPLE_PATCHES[patcher])
    result = patcher(target, patch)
    for container in result["spec"]["containers"]:
        container["image"] = "changed"
        container.setdefault("env", []).append({"name": "Z"})
    result["spec"]["args"].append("--z")
    result["metadata"]["name"] = "changed"
    assert target == job()
    assert patch == SAMPLE_PATCHES[patcher]


# --- merge patch -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [
        ({"a": 1}, {"a": 2}, {"a": 2}),
        ({"a": 1, "b": 2}, {"a": None}, {"b": 2}),
        ({"a": {"b": 1, "c": 2}}, {"a": {"c": None, "d": 3}}, {"a": {"b": 1, "d": 3}}),
        ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
        ({"a": "text"}, {"a": {"b": 1, "c": None}}, {"a": {"b": 1}}),
        ({"a": {"b": 1}}, {"a": "text"}, {"a": "text"}),
        ({}, {"missing": None}, {}),
        ({"a": 1}, {}, {"a": 1}),
        ({"a": [{"b": 1}]}, {"a": [{"b": None}]}, {"a": [{"b": None}]}),
    ],
)
def test_merge_patch_follows_rfc_7386(
    target: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert apply_merge_patch(target, patch) == expected


@pytest.mark.parametrize("patch", [None, [], [{"a": 1}], "text", 3, True])
def test_merge_patch_that_is_not_an_object_is_bad_request(patch: Any) -> None:
    error = status_error(lambda: apply_merge_patch({"a": 1}, patch))
    assert (error.code, error.reason, error.message) == (400, "BadRequest", "Invalid JSON Patch")


# --- JSON patch --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ([{"op": "add", "path": "/b", "value": 2}], {"a": {"x": 1}, "l": [1, 2], "b": 2}),
        ([{"op": "add", "path": "/l/1", "value": 9}], {"a": {"x": 1}, "l": [1, 9, 2]}),
        ([{"op": "add", "path": "/l/-", "value": 3}], {"a": {"x": 1}, "l": [1, 2, 3]}),
        ([{"op": "remove", "path": "/a/x"}], {"a": {}, "l": [1, 2]}),
        ([{"op": "replace", "path": "/l/0", "value": "z"}], {"a": {"x": 1}, "l": ["z", 2]}),
        ([{"op": "move", "from": "/a/x", "path": "/y"}], {"a": {}, "l": [1, 2], "y": 1}),
        ([{"op": "copy", "from": "/l", "path": "/m"}], {"a": {"x": 1}, "l": [1, 2], "m": [1, 2]}),
        ([{"op": "test", "path": "/a/x", "value": 1},
          {"op": "replace", "path": "/a/x", "value": 5}], {"a": {"x": 5}, "l": [1, 2]}),
        ([{"op": "test", "path": "/a/x", "value": 1.0}], {"a": {"x": 1}, "l": [1, 2]}),
        ([], {"a": {"x": 1}, "l": [1, 2]}),
        (None, {"a": {"x": 1}, "l": [1, 2]}),
    ],
)
def test_json_patch_applies_rfc_6902_operations(patch: Any, expected: dict[str, Any]) -> None:
    assert apply_json_patch({"a": {"x": 1}, "l": [1, 2]}, patch) == expected


def test_json_patch_preserves_integer_and_float_types() -> None:
    result = apply_json_patch(job(), [{"op": "replace", "path": "/spec/ratio", "value": 2},
                                      {"op": "add", "path": "/spec/weight", "value": 2.0}])
    assert type(result["spec"]["ratio"]) is int
    assert type(result["spec"]["weight"]) is float
    assert type(result["spec"]["parallelism"]) is int


@pytest.mark.parametrize(
    "patch",
    [
        [{"op": "test", "path": "/spec/parallelism", "value": 2}],
        [{"op": "test", "path": "/spec/parallelism", "value": True}],
        [{"op": "test", "path": "/spec/absent", "value": 1}],
        [{"op": "remove", "path": "/spec/absent"}],
        [{"op": "replace", "path": "/spec/absent", "value": 1}],
        [{"op": "add", "path": "/absent/deeper", "value": 1}],
        [{"op": "add", "path": "/spec/args/9", "value": "x"}],
        [{"op": "move", "from": "/spec/absent", "path": "/spec/x"}],
        [{"op": "frobnicate", "path": "/spec"}],
        [{"path": "/spec"}],
        [{"op": "add", "value": 1}],
        [{"op": "add", "path": "/spec/x"}],
        [{"op": "add", "path": 7, "value": 1}],
        [{"op": "add", "path": "no-slash", "value": 1}],
        [None],
        [{"op": "replace", "path": "", "value": [1]}],
    ],
)
def test_json_patch_that_cannot_apply_is_422_invalid(patch: Any) -> None:
    error = status_error(lambda: apply_json_patch(job(), patch))
    assert (error.code, error.reason, error.message) == (422, "Invalid", REJECTED)
    assert error.causes == []


def test_json_patch_failed_test_leaves_earlier_operations_unapplied() -> None:
    target = job()
    status_error(lambda: apply_json_patch(target, [
        {"op": "replace", "path": "/spec/parallelism", "value": 9},
        {"op": "test", "path": "/spec/parallelism", "value": 1},
    ]))
    assert target == job()


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"op": "add"}, "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
        ("ops", "json: cannot unmarshal string into Go value of type jsonpatch.Patch"),
        (1, "json: cannot unmarshal number into Go value of type jsonpatch.Patch"),
        ([1], "json: cannot unmarshal number into Go value of type jsonpatch.Operation"),
        ([[]], "json: cannot unmarshal array into Go value of type jsonpatch.Operation"),
        ([True], "json: cannot unmarshal bool into Go value of type jsonpatch.Operation"),
    ],
)
def test_json_patch_that_is_not_a_list_of_operations_is_bad_request(
    patch: Any, message: str
) -> None:
    error = status_error(lambda: apply_json_patch(job(), patch))
    assert (error.code, error.reason, error.message) == (400, "BadRequest", message)


def test_json_patch_with_too_many_operations_is_request_entity_too_large() -> None:
    patch = [{"op": "test", "path": "/spec/parallelism", "value": 1}] * 10001
    error = status_error(lambda: apply_json_patch(job(), patch))
    assert (error.code, error.reason) == (413, "RequestEntityTooLarge")
    assert error.message == "The allowed maximum operations in a JSON patch is 10000, got 10001"


# --- strategic merge patch ---------------------------------------------------------------------

def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj["spec"]["containers"])


def test_strategic_merge_merges_named_list_elements_by_name() -> None:
    result = apply_strategic_merge_patch(job(), {"spec": {"containers": [
        {"name": "sidecar", "image": "envoy:2"},
        {"name": "main", "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}]},
        {"name": "extra", "image": "x:1"},
    ]}})
    assert [(c["name"], c["image"]) for c in containers(result)] == [
        ("main", "busybox:1"), ("sidecar", "envoy:2"), ("extra", "x:1")]
    assert containers(result)[0]["env"] == [
        {"name": "A", "value": "1"}, {"name": "B", "value": "20"}, {"name": "C", "value": "3"}]


def test_strategic_merge_deletes_named_element_with_patch_delete() -> None:
    result = apply_strategic_merge_patch(job(), {"spec": {"containers": [
        {"name": "sidecar", "$patch": "delete"}, {"name": "ghost", "$patch": "delete"}]}})
    assert [c["name"] for c in containers(result)] == ["main"]


def test_strategic_merge_replace_element_makes_patch_the_whole_list() -> None:
    result = apply_strategic_merge_patch(job(), {"spec": {"containers": [
        {"$patch": "replace"}, {"name": "only", "image": "o:1"}]}})
    assert containers(result) == [{"name": "only", "image": "o:1"}]


def test_strategic_merge_uses_merge_key_named_by_set_element_order() -> None:
    patch = {"spec": {"containers": [{
        "name": "main",
        "$setElementOrder/volumeMounts": [{"mountPath": "/b"}, {"mountPath": "/c"}],
        "volumeMounts": [{"name": "data", "mountPath": "/c"},
                         {"mountPath": "/a", "$patch": "delete"}],
    }]}}
    result = apply_strategic_merge_patch(job(), patch)
    assert containers(result)[0]["volumeMounts"] == [
        {"name": "data", "mountPath": "/b"}, {"name": "data", "mountPath": "/c"}]


def test_strategic_merge_set_element_order_reorders_named_list() -> None:
    result = apply_strategic_merge_patch(job(), {"spec": {
        "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "main"}]}})
    assert [c["name"] for c in containers(result)] == ["sidecar", "main"]


@pytest.mark.parametrize(
    ("metadata_patch", "finalizers"),
    [
        ({"$deleteFromPrimitiveList/finalizers": ["x/one"]}, ["x/two"]),
        ({"$deleteFromPrimitiveList/finalizers": ["x/one"], "finalizers": ["x/three"]},
         ["x/two", "x/three"]),
        ({"$setElementOrder/finalizers": ["x/three", "x/one", "x/two"],
          "finalizers": ["x/three"]}, ["x/three", "x/one", "x/two"]),
        ({"finalizers": ["x/three"]}, ["x/three"]),
        ({"$deleteFromPrimitiveList/finalizers": ["x/one", "x/two"]}, None),
    ],
)
def test_strategic_merge_scalar_list_directives(
    metadata_patch: dict[str, Any], finalizers: list[str] | None
) -> None:
    result = apply_strategic_merge_patch(job(), {"metadata": metadata_patch})
    assert result["metadata"].get("finalizers") == finalizers


@pytest.mark.parametrize(
    ("patch", "expected_spec"),
    [
        ({"spec": {"$patch": "replace", "parallelism": 3}}, {"parallelism": 3}),
        ({"spec": {"$retainKeys": ["parallelism", "ratio"], "ratio": 1}},
         {"parallelism": 1, "ratio": 1}),
        ({"spec": {"args": ["--z"], "ratio": None}},
         {**job()["spec"], "args": ["--z"], "ratio": None}),
    ],
)
def test_strategic_merge_map_directives(patch: dict[str, Any], expected_spec: Any) -> None:
    expected = {k: v for k, v in expected_spec.items() if v is not None}
    assert apply_strategic_merge_patch(job(), patch)["spec"] == expected


def test_strategic_merge_replaces_unkeyed_list_with_clean_copy_of_patch_list() -> None:
    patch = {"spec": {"ports": [{"containerPort": 80, "hostPort": None, "$patch": "merge"},
                                {"containerPort": 81, "$patch": "delete"}]}}
    original = copy.deepcopy(patch)
    result = apply_strategic_merge_patch(job(), patch)
    assert result["spec"]["ports"] == [{"containerPort": 80}]
    result["spec"]["ports"][0]["containerPort"] = 1
    assert patch == original


def test_strategic_merge_patch_delete_removes_the_map() -> None:
    result = apply_strategic_merge_patch(job(), {"metadata": {"labels": {"$patch": "delete"}}})
    assert "labels" not in result["metadata"]


def test_strategic_merge_directives_never_reach_the_result() -> None:
    patch = {"metadata": {"labels": {"$patch": "replace", "z": "1"},
                          "annotations": {"$retainKeys": ["a"], "a": "1"}},
             "spec": {"template": {"$patch": "merge", "x": {"$patch": "replace", "y": 1}},
                      "containers": [{"$patch": "replace"},
                                     {"name": "n", "$setElementOrder/env": [{"name": "E"}],
                                      "env": [{"name": "E", "$patch": "merge"}]}]}}
    result = apply_strategic_merge_patch(job(), patch)
    assert "$" not in repr(result)
    assert result["spec"]["containers"] == [{"name": "n", "env": [{"name": "E"}]}]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"spec": {"$retainKeys": "parallelism"}}, "invalid patch format of retainKeys"),
        ({"spec": {"$retainKeys": ["ratio"], "parallelism": 2}},
         "invalid patch format of retainKeys"),
        ({"metadata": {"$deleteFromPrimitiveList/finalizers": "x/one"}},
         "invalid patch format of primitive list"),
        ({"spec": {"$setElementOrder/containers": {"name": "main"}}},
         "invalid patch format of setElementOrder list"),
        ([{"op": "add"}],
         "json: cannot unmarshal array into Go value of type map[string]interface {}"),
        ("x", "json: cannot unmarshal string into Go value of type map[string]interface {}"),
    ],
)
def test_strategic_merge_malformed_patch_is_bad_request(patch: Any, message: str) -> None:
    error = status_error(lambda: apply_strategic_merge_patch(job(), patch))
    assert (error.code, error.reason, error.message) == (400, "BadRequest", message)


@pytest.mark.parametrize("patch", [{"spec": {"$patch": "explode"}}, {"$patch": "delete"}])
def test_strategic_merge_unusable_patch_directive_is_bad_request(patch: Any) -> None:
    error = status_error(lambda: apply_strategic_merge_patch(job(), patch))
    assert (error.code, error.reason) == (400, "BadRequest")


def test_strategic_merge_null_patch_changes_nothing() -> None:
    assert apply_strategic_merge_patch(job(), None) == job()


def test_patch_content_types_cover_the_supported_formats_only() -> None:
    assert set(patching.PATCH_CONTENT_TYPES) == {
        "application/json-patch+json", "application/merge-patch+json",
        "application/strategic-merge-patch+json", "application/apply-patch+yaml"}

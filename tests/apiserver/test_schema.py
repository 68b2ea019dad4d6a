"""Structural-schema validation, pruning and defaulting, with the real server's cause texts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from controllerkit.apiserver.errors import Cause
from controllerkit.apiserver.field_errors import go_float, go_value
from controllerkit.apiserver.schema import (
    apply_defaults,
    prune,
    strict_decoding_error,
    unknown_field_warnings,
    unknown_fields,
    validate,
)

SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["replicas"],
            "properties": {
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
                "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0,
                          "multipleOf": 0.5},
                "mode": {"type": "string", "enum": ["fast", "slow"]},
                "name": {"type": "string", "minLength": 2, "maxLength": 5,
                         "pattern": "^[a-z]+$"},
                "when": {"type": "string", "format": "date-time"},
                "blob": {"type": "string", "format": "byte"},
                "port": {"x-kubernetes-int-or-string": True},
                "enabled": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                         "maxItems": 2},
                "labels": {"type": "object", "additionalProperties": {"type": "string"},
                           "maxProperties": 2},
                "note": {"type": "string", "nullable": True},
            },
        },
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}


def causes_for(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
           "spec": {"replicas": 1, **spec}}
    return [(c.field, c.reason, c.message) for c in validate(obj, SPEC_SCHEMA)]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"replicas": "abc"}, ("spec.replicas", "FieldValueTypeInvalid",
                               'Invalid value: "string": spec.replicas in body must be of type '
                               'integer: "string"')),
        ({"replicas": 2.5}, ("spec.replicas", "FieldValueTypeInvalid",
                             'Invalid value: "number": spec.replicas in body must be of type '
                             'integer: "number"')),
        ({"replicas": True}, ("spec.replicas", "FieldValueTypeInvalid",
                              'Invalid value: "boolean": spec.replicas in body must be of type '
                              'integer: "boolean"')),
        ({"replicas": None}, ("spec.replicas", "FieldValueTypeInvalid",
                              'Invalid value: "null": spec.replicas in body must be of type '
                              'integer: "null"')),
        ({"replicas": 0}, ("spec.replicas", "FieldValueInvalid",
                           "Invalid value: 0: spec.replicas in body should be greater than or "
                           "equal to 1")),
        ({"replicas": 11}, ("spec.replicas", "FieldValueInvalid",
                            "Invalid value: 11: spec.replicas in body should be less than or "
                            "equal to 10")),
        ({"ratio": 0}, ("spec.ratio", "FieldValueInvalid",
                        "Invalid value: 0: spec.ratio in body should be greater than 0")),
        ({"ratio": 1.2}, ("spec.ratio", "FieldValueInvalid",
                          "Invalid value: 1.2: spec.ratio in body should be a multiple of 0.5")),
        ({"mode": "warp"}, ("spec.mode", "FieldValueNotSupported",
                            'Unsupported value: "warp": supported values: "fast", "slow"')),
        ({"name": "abcdef"}, ("spec.name", "FieldValueTooLong",
                              "Too long: may not be more than 5 bytes")),
        ({"name": "a"}, ("spec.name", "FieldValueInvalid",
                         'Invalid value: "a": spec.name in body should be at least 2 chars '
                         "long")),
        ({"name": "AB"}, ("spec.name", "FieldValueInvalid",
                          "Invalid value: \"AB\": spec.name in body should match '^[a-z]+$'")),
        ({"name": "ab\n"}, ("spec.name", "FieldValueInvalid",
                            "Invalid value: \"ab\\n\": spec.name in body should match "
                            "'^[a-z]+$'")),
        ({"when": "yesterday"}, ("spec.when", "FieldValueTypeInvalid",
                                 'Invalid value: "yesterday": spec.when in body must be of type '
                                 'date-time: "yesterday"')),
        ({"blob": "not base64!"}, ("spec.blob", "FieldValueTypeInvalid",
                                   'Invalid value: "not base64!": spec.blob in body must be of '
                                   'type byte: "not base64!"')),
        ({"port": 1.5}, ("spec.port", "FieldValueTypeInvalid",
                         'Invalid value: "number": spec.port in body must be of type '
                         'integer,string: "number"')),
        ({"enabled": "yes"}, ("spec.enabled", "FieldValueTypeInvalid",
                              'Invalid value: "string": spec.enabled in body must be of type '
                              'boolean: "string"')),
        ({"tags": []}, ("spec.tags", "FieldValueInvalid",
                        "Invalid value: 0: spec.tags in body should have at least 1 items")),
        ({"tags": ["a", "b", "c"]}, ("spec.tags", "FieldValueTooMany",
                                     "Too many: 3: must have at most 2 items")),
        ({"tags": ["a", 1]}, ("spec.tags[1]", "FieldValueTypeInvalid",
                              'Invalid value: "integer": spec.tags[1] in body must be of type '
                              'string: "integer"')),
        ({"labels": {"a": "1", "b": "2", "c": "3"}}, ("spec.labels", "FieldValueTooMany",
                                                      "Too many: 3: must have at most 2 items")),
        ({"labels": {"a": 1}}, ("spec.labels.a", "FieldValueTypeInvalid",
                                'Invalid value: "integer": spec.labels.a in body must be of type '
                                'string: "integer"')),
    ],
)
def test_invalid_value_gets_the_real_servers_cause(
    spec: dict[str, Any], expected: tuple[str, str, str],
) -> None:
    assert causes_for(spec) == [expected]


@pytest.mark.parametrize(
    "spec",
    [
        {"replicas": 10},
        {"replicas": 2.0},
        {"ratio": 1.5},
        {"mode": "fast"},
        {"name": "abc"},
        {"when": "2024-02-29T12:30:00Z"},
        {"when": "2024-02-29T12:30:00.123456+02:00"},
        {"blob": "aGVsbG8="},
        {"port": 8080},
        {"port": "http"},
        {"tags": ["a", "b"]},
        {"labels": {"a": "1"}},
        {"note": None},
        {"unknown": "ignored by validation, dropped by pruning"},
    ],
)
def test_valid_value_has_no_causes(spec: dict[str, Any]) -> None:
    assert causes_for(spec) == []


def test_missing_required_field_is_reported_at_its_path() -> None:
    obj = {"metadata": {"name": "w"}, "spec": {}}
    assert validate(obj, SPEC_SCHEMA) == [Cause("FieldValueRequired", "Required value",
                                                "spec.replicas")]


def test_one_bad_value_can_fail_type_and_enum_together() -> None:
    schema = {"type": "object",
              "properties": {"mode": {"type": "string", "enum": ["a", "b"]}}}
    assert [c.reason for c in validate({"mode": 3}, schema)] == [
        "FieldValueTypeInvalid", "FieldValueNotSupported"]


def test_enum_of_numbers_lists_supported_values_as_json() -> None:
    schema = {"type": "object", "properties": {"size": {"type": "integer", "enum": [1, 2]}}}
    assert validate({"size": 3}, schema)[0].message == (
        'Unsupported value: 3: supported values: "1", "2"')


def test_enum_matches_float_written_as_integer() -> None:
    schema = {"type": "object", "properties": {"size": {"type": "number", "enum": [1, 2]}}}
    assert validate({"size": 2.0}, schema) == []


def test_root_type_meta_and_metadata_are_not_validated_against_the_schema() -> None:
    schema = {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata"],
        "properties": {"metadata": {"type": "object", "properties": {
            "name": {"type": "string", "maxLength": 2}}}},
    }
    obj = {"apiVersion": "v1", "kind": "Widget", "metadata": {"name": "much-too-long"}}
    assert validate(obj, schema) == []


def test_additional_properties_false_forbids_unknown_keys() -> None:
    schema = {"type": "object", "properties": {"spec": {
        "type": "object", "properties": {"a": {"type": "string"}},
        "additionalProperties": False}}}
    assert validate({"spec": {"b": 1}}, schema) == [Cause(
        "FieldValueInvalid", 'Invalid value: "b": spec.b in body is a forbidden property',
        "spec")]


def test_min_properties_failure_hides_the_objects_other_checks() -> None:
    schema = {"type": "object", "properties": {"spec": {
        "type": "object", "minProperties": 2, "required": ["a"],
        "properties": {"b": {"type": "integer"}}}}}
    assert validate({"spec": {"b": "x"}}, schema) == [Cause(
        "FieldValueInvalid", "Invalid value: 1: spec in body should have at least 2 properties",
        "spec")]


@pytest.mark.parametrize(
    ("junctor", "value", "expected_summary"),
    [
        ("anyOf", "x", '"spec.v" must validate at least one schema (anyOf)'),
        ("oneOf", "x", '"spec.v" must validate one and only one schema (oneOf). Found none valid'),
        ("oneOf", "abcd", '"spec.v" must validate one and only one schema (oneOf). Found 2 valid '
                          "alternatives"),
        ("allOf", "x", '"spec.v" must validate all the schemas (allOf). None validated'),
    ],
)
def test_junctor_failure_is_summarised_without_a_field(
    junctor: str, value: str, expected_summary: str,
) -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "v": {"type": "string", junctor: [{"minLength": 3}, {"pattern": "^[a-d]+$"}]}}}}}
    summaries = [c for c in validate({"spec": {"v": value}}, schema) if c.field == "<nil>"]
    assert summaries == [Cause("FieldValueInvalid", f'Invalid value: "": {expected_summary}',
                               "<nil>")]


def test_not_rejects_a_value_matching_the_negated_schema() -> None:
    schema = {"type": "object", "properties": {"v": {"type": "string", "not": {"enum": ["x"]}}}}
    assert [c.message for c in validate({"v": "x"}, schema)] == [
        'Invalid value: "": "v" must not validate the schema (not)']


def test_embedded_resource_needs_api_version_and_kind() -> None:
    schema = {"type": "object", "properties": {"template": {
        "type": "object", "x-kubernetes-embedded-resource": True,
        "x-kubernetes-preserve-unknown-fields": True}}}
    assert validate({"template": {"metadata": {}}}, schema) == [
        Cause("FieldValueRequired", "Required value: must not be empty", "template.apiVersion"),
        Cause("FieldValueRequired", "Required value: must not be empty", "template.kind"),
    ]


@pytest.mark.parametrize(
    ("list_type", "items", "field", "duplicate"),
    [
        ("set", ["a", "b", "a"], "ports[2]", '"a"'),
        ("map", [{"name": "a", "port": 1}, {"name": "a", "port": 2}], "ports[1]",
         'map[string]interface {}{"name":"a", "port":2}'),
    ],
)
def test_list_type_rejects_repeated_items_and_keys(
    list_type: str, items: list[Any], field: str, duplicate: str,
) -> None:
    item_schema: dict[str, Any] = (
        {"type": "string"} if list_type == "set" else
        {"type": "object", "required": ["name"],
         "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}})
    schema = {"type": "object", "properties": {"ports": {
        "type": "array", "items": item_schema, "x-kubernetes-list-type": list_type,
        "x-kubernetes-list-map-keys": ["name"]}}}
    assert validate({"ports": items}, schema) == [
        Cause("FieldValueDuplicate", f"Duplicate value: {duplicate}", field)]


def test_prune_drops_undeclared_fields_and_keeps_root_meta() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": "w", "anything": 1},
           "spec": {"replicas": 1, "extra": True, "labels": {"a": "b"}},
           "status": {"free": {"form": 1}}, "top": 1}
    original = copy.deepcopy(obj)
    assert prune(obj, SPEC_SCHEMA) == {
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "anything": 1},
        "spec": {"replicas": 1, "labels": {"a": "b"}},
        "status": {"free": {"form": 1}},
    }
    assert obj == original


def test_prune_returns_the_same_object_when_nothing_is_unknown() -> None:
    obj = {"metadata": {"name": "w"}, "spec": {"replicas": 1}}
    assert prune(obj, SPEC_SCHEMA) is obj


def test_prune_keeps_type_meta_and_metadata_of_embedded_resources() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                     "properties": {"spec": {"type": "object"}}}}}}}
    template = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {},
                "junk": 1}
    pruned = prune({"spec": {"template": template}}, schema)
    assert pruned["spec"]["template"] == {"apiVersion": "v1", "kind": "Pod",
                                          "metadata": {"name": "p"}, "spec": {}}


def test_preserve_unknown_fields_still_prunes_declared_children() -> None:
    schema = {"type": "object", "properties": {"spec": {
        "type": "object", "x-kubernetes-preserve-unknown-fields": True,
        "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}}}}}
    obj = {"spec": {"free": 1, "known": {"a": "x", "b": "y"}}}
    assert prune(obj, schema) == {"spec": {"free": 1, "known": {"a": "x"}}}
    assert unknown_fields(obj, schema) == ["spec.known.b"]


def test_unknown_fields_are_sorted_paths_with_array_indexes() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "a": {"type": "string"}}}}}}}}
    obj = {"spec": {"z": 1, "items": [{"a": "x"}, {"b": 1}]}, "extra": 2}
    assert unknown_fields(obj, schema) == ["extra", "spec.items[1].b", "spec.z"]


def test_strict_field_validation_error_is_a_bad_request() -> None:
    error = strict_decoding_error(["spec.bar", "spec.foo"])
    assert (error.code, error.reason) == (400, "BadRequest")
    assert error.message == ('strict decoding error: unknown field "spec.bar", '
                             'unknown field "spec.foo"')
    assert unknown_field_warnings(["spec.foo"]) == ['unknown field "spec.foo"']


def test_strict_error_on_create_names_the_kind_and_version() -> None:
    error = strict_decoding_error(["spec.foo"], kind="Widget", version="v1")
    assert error.message == ('Widget in version "v1" cannot be handled as a Widget: strict '
                             'decoding error: unknown field "spec.foo"')


DEFAULTING_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"spec": {
    "type": "object",
    "properties": {
        "replicas": {"type": "integer", "default": 1},
        "mode": {"type": "string"},
        "note": {"type": "string", "nullable": True, "default": "n"},
        "options": {"type": "object", "default": {"level": 3},
                    "properties": {"level": {"type": "integer"},
                                   "color": {"type": "string", "default": "red"}}},
        "ports": {"type": "array", "items": {
            "type": "object", "properties": {"protocol": {"type": "string",
                                                          "default": "TCP"}}}},
    },
}}}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, {"replicas": 1, "note": "n", "options": {"level": 3, "color": "red"}}),
        ({"replicas": None}, {"replicas": 1, "note": "n",
                              "options": {"level": 3, "color": "red"}}),
        ({"mode": None}, {"replicas": 1, "note": "n", "options": {"level": 3, "color": "red"}}),
        ({"note": None}, {"replicas": 1, "note": None, "options": {"level": 3, "color": "red"}}),
        ({"ports": [{}, {"protocol": "UDP"}]},
         {"replicas": 1, "note": "n", "options": {"level": 3, "color": "red"},
          "ports": [{"protocol": "TCP"}, {"protocol": "UDP"}]}),
    ],
)
def test_defaults_fill_missing_and_non_nullable_null_fields(
    spec: dict[str, Any], expected: dict[str, Any],
) -> None:
    assert apply_defaults({"spec": spec}, DEFAULTING_SCHEMA) == {"spec": expected}


def test_defaults_are_deep_copies_and_inputs_stay_untouched() -> None:
    obj: dict[str, Any] = {"spec": {}}
    first = apply_defaults(obj, DEFAULTING_SCHEMA)
    first["spec"]["options"]["level"] = 99
    assert apply_defaults(obj, DEFAULTING_SCHEMA)["spec"]["options"]["level"] == 3
    assert obj == {"spec": {}}


def test_null_without_default_is_dropped_so_required_reports_it() -> None:
    schema = {"type": "object", "properties": {"spec": {
        "type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}}}
    defaulted = apply_defaults({"spec": {"a": None}}, schema)
    assert defaulted == {"spec": {}}
    assert validate(defaulted, schema) == [Cause("FieldValueRequired", "Required value",
                                                 "spec.a")]


@pytest.mark.parametrize(
    ("value", "printed"),
    [(1.5, "1.5"), (100.0, "100"), (1e6, "1e+06"), (123456.0, "123456"), (0.0001, "0.0001"),
     (0.00001, "1e-05"), (-2.25, "-2.25")],
)
def test_floats_print_as_go_prints_them(value: float, printed: str) -> None:
    assert go_float(value) == printed


@pytest.mark.parametrize(
    ("value", "printed"),
    [("a\"b", '"a\\"b"'), (None, "null"), (True, "true"), (7, "7"),
     (["a", 1], '[]interface {}{"a", 1}'),
     ({"b": 1, "a": "x"}, 'map[string]interface {}{"a":"x", "b":1}')],
)
def test_bad_values_print_as_go_prints_them(value: Any, printed: str) -> None:
    assert go_value(value) == printed

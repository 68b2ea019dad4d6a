"""CustomResourceDefinitions: defaults, validation causes, served types and status."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from controllerkit.apiserver.crds import (
    accepted_status,
    apply_crd_defaults,
    crd_storage_version,
    crd_types,
    validate_crd,
)

WIDGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "properties": {
            "replicas": {"type": "integer", "default": 1, "minimum": 0}}},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}


def widget_crd(**spec_overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"],
                  "categories": ["all"]},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "additionalPrinterColumns": [
                {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"}],
            "schema": {"openAPIV3Schema": copy.deepcopy(WIDGET_SCHEMA)},
        }],
    }
    spec.update(spec_overrides)
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"}, "spec": spec}


def fields_and_messages(crd: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in validate_crd(apply_crd_defaults(crd))]


def with_schema(schema: dict[str, Any], **version: Any) -> dict[str, Any]:
    crd = widget_crd()
    crd["spec"]["versions"][0]["schema"] = {"openAPIV3Schema": schema}
    crd["spec"]["versions"][0].update(version)
    return crd


def test_valid_crd_has_no_causes() -> None:
    assert fields_and_messages(widget_crd()) == []


def test_defaults_fill_singular_list_kind_conversion_and_stored_versions() -> None:
    crd = widget_crd()
    defaulted = apply_crd_defaults(crd)
    assert defaulted["spec"]["names"]["singular"] == "widget"
    assert defaulted["spec"]["names"]["listKind"] == "WidgetList"
    assert defaulted["spec"]["conversion"] == {"strategy": "None"}
    assert defaulted["status"]["storedVersions"] == ["v1"]
    assert "singular" not in crd["spec"]["names"]


def test_defaults_keep_explicit_names_and_add_a_new_storage_version() -> None:
    crd = widget_crd(versions=[{"name": "v2", "served": True, "storage": True,
                                "schema": {"openAPIV3Schema": WIDGET_SCHEMA}}])
    crd["spec"]["names"].update(singular="gadget", listKind="Gadgets")
    crd["status"] = {"storedVersions": ["v1"]}
    defaulted = apply_crd_defaults(crd)
    assert defaulted["spec"]["names"]["singular"] == "gadget"
    assert defaulted["spec"]["names"]["listKind"] == "Gadgets"
    assert defaulted["status"]["storedVersions"] == ["v1", "v2"]


@pytest.mark.parametrize(
    ("crd", "expected"),
    [
        ({**widget_crd(), "metadata": {"name": "gadgets.example.com"}},
         ("metadata.name",
          'Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group')),
        ({**widget_crd(group="example"), "metadata": {"name": "widgets.example"}},
         ("spec.group", 'Invalid value: "example": should be a domain with at least one dot')),
        (widget_crd(scope="Global"),
         ("spec.scope", 'Unsupported value: "Global": supported values: "Cluster", '
                        '"Namespaced"')),
        (widget_crd(scope=""), ("spec.scope", "Required value")),
        (widget_crd(names={"plural": "widgets", "kind": "Widget", "shortNames": ["W D"]}),
         ("spec.names.shortNames[0]",
          "Invalid value: \"W D\": a DNS-1035 label must consist of lower case alphanumeric "
          "characters or '-', start with an alphabetic character, and end with an alphanumeric "
          "character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
          "'[a-z]([-a-z0-9]*[a-z0-9])?')")),
        (widget_crd(names={"plural": "widgets", "kind": "Widget", "listKind": "Widget"}),
         ("spec.names.listKind", 'Invalid value: "Widget": kind and listKind may not be the '
                                 "same")),
    ],
)
def test_invalid_crd_gets_the_real_servers_cause(
    crd: dict[str, Any], expected: tuple[str, str],
) -> None:
    assert fields_and_messages(crd) == [expected]


def test_names_must_be_lowercase() -> None:
    crd = widget_crd(names={"plural": "Widgets", "kind": "Widget"})
    found = fields_and_messages({**crd, "metadata": {"name": "Widgets.example.com"}})
    assert [field for field, _ in found] == ["spec.names.plural"]


def test_names_are_required_when_the_kind_cannot_default_them() -> None:
    crd = widget_crd(names={})
    crd["metadata"]["name"] = ".example.com"
    assert fields_and_messages(crd) == [
        (f"spec.names.{field}", "Required value")
        for field in ("plural", "singular", "kind", "listKind")]


def test_name_must_be_plural_dot_group() -> None:
    crd = widget_crd()
    crd["metadata"] = {"generateName": "widgets-"}
    assert fields_and_messages(crd) == [(
        "metadata.generateName",
        'Invalid value: "widgets-": must be spec.names.plural+"."+spec.group')]


@pytest.mark.parametrize(
    ("storage_flags", "expected_message_end"),
    [
        ((False, False), "must have exactly one version marked as storage version"),
        ((True, True), "must have exactly one version marked as storage version"),
    ],
)
def test_exactly_one_storage_version(
    storage_flags: tuple[bool, bool], expected_message_end: str,
) -> None:
    versions = [{"name": name, "served": True, "storage": flag,
                 "schema": {"openAPIV3Schema": WIDGET_SCHEMA}}
                for name, flag in zip(("v1", "v2"), storage_flags, strict=True)]
    found = [(f, m) for f, m in fields_and_messages(widget_crd(versions=versions))
             if f == "spec.versions"]
    assert len(found) == 1
    assert found[0][1].endswith(expected_message_end)


def test_every_version_needs_a_schema() -> None:
    crd = widget_crd()
    del crd["spec"]["versions"][0]["schema"]
    assert fields_and_messages(crd) == [
        ("spec.versions[0].schema.openAPIV3Schema", "Required value: schemas are required")]


def test_version_names_must_be_unique_dns_labels() -> None:
    versions = [{"name": "V1", "served": True, "storage": True,
                 "schema": {"openAPIV3Schema": WIDGET_SCHEMA}},
                {"name": "V1", "served": True, "storage": False,
                 "schema": {"openAPIV3Schema": WIDGET_SCHEMA}}]
    found = fields_and_messages(widget_crd(versions=versions))
    assert [field for field, _ in found] == [
        "spec.versions[0].name", "spec.versions[1].name", "spec.versions"]
    assert found[2][1].endswith("must contain unique version names")


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "object", "properties": {"spec": {"properties": {}}}},
         ("spec.validation.openAPIV3Schema.properties[spec].type",
          "Required value: must not be empty for specified object fields")),
        ({"type": "object", "properties": {"spec": {"type": "array"}}},
         ("spec.validation.openAPIV3Schema.properties[spec].items",
          "Required value: must be specified")),
        ({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "tags": {"type": "array", "uniqueItems": True, "items": {"type": "string"}}}}}},
         ("spec.validation.openAPIV3Schema.properties[spec].properties[tags].uniqueItems",
          "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes "
          "quadratic")),
        ({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "a": {"type": "string"}}, "additionalProperties": {"type": "string"}}}},
         ("spec.validation.openAPIV3Schema.properties[spec].additionalProperties",
          "Forbidden: additionalProperties and properties are mutual exclusive")),
        ({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "a": {"type": "string", "anyOf": [{"type": "string"}]}}}}},
         ("spec.validation.openAPIV3Schema.properties[spec].properties[a].anyOf[0].type",
          "Forbidden: must be empty to be structural")),
        ({"type": "object", "properties": {"metadata": {"type": "object", "properties": {
            "labels": {"type": "object"}}}}},
         ("spec.validation.openAPIV3Schema.properties[metadata]",
          "Forbidden: must not specify anything other than name and generateName, but "
          "metadata is implicitly specified")),
        ({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "replicas": {"type": "integer", "default": "one"}}}}},
         ("spec.validation.openAPIV3Schema.properties[spec].properties[replicas].default",
          'Invalid value: "string":  in body must be of type integer: "string"')),
        ({"type": "object", "properties": {"spec": {"type": "object", "default": {"x": 1},
                                                    "properties": {"a": {"type": "string"}}}}},
         ("spec.validation.openAPIV3Schema.properties[spec].default",
          'Invalid value: map[string]interface {}{"x":1}: must not have unknown fields')),
        ({"type": "object", "properties": {"metadata": {"type": "object", "default": {}}}},
         ("spec.validation.openAPIV3Schema.properties[metadata].default",
          "Forbidden: must not be set in top-level metadata")),
        ({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "a": {"type": "string", "pattern": "("}}}}},
         ("spec.validation.openAPIV3Schema.properties[spec].properties[a].pattern",
          'Invalid value: "(": must be a valid regular expression, but isn\'t: missing ), '
          "unterminated subpattern at position 0")),
    ],
)
def test_schema_that_is_not_structural_is_refused(
    schema: dict[str, Any], expected: tuple[str, str],
) -> None:
    assert fields_and_messages(with_schema(schema)) == [expected]


def test_root_schema_must_be_an_object_with_only_allowed_keywords_given_status() -> None:
    schema = {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}}
    fields = [field for field, _ in fields_and_messages(with_schema(schema))]
    assert "spec.validation.openAPIV3Schema" in fields
    assert "spec.validation.openAPIV3Schema.additionalProperties" in fields


def test_int_or_string_may_use_the_any_of_pattern() -> None:
    schema = {"type": "object", "properties": {"port": {
        "x-kubernetes-int-or-string": True,
        "anyOf": [{"type": "integer"}, {"type": "string"}]}}}
    assert fields_and_messages(with_schema(schema)) == []


def test_per_version_schemas_are_reported_per_version() -> None:
    other = {"type": "object", "properties": {"spec": {"properties": {}}}}
    crd = widget_crd(versions=[
        {"name": "v1", "served": True, "storage": True,
         "schema": {"openAPIV3Schema": WIDGET_SCHEMA}},
        {"name": "v2", "served": True, "storage": False, "schema": {"openAPIV3Schema": other}},
    ])
    assert fields_and_messages(crd) == [(
        "spec.versions[1].schema.openAPIV3Schema.properties[spec].type",
        "Required value: must not be empty for specified object fields")]


def test_printer_column_needs_a_type_and_a_json_path() -> None:
    crd = with_schema(WIDGET_SCHEMA, additionalPrinterColumns=[
        {"name": "Bad", "type": "text", "jsonPath": "spec.x"}])
    assert fields_and_messages(crd) == [
        ("spec.additionalPrinterColumns[0].type",
         'Invalid value: "text": must be one of boolean,date,integer,number,string'),
        ("spec.additionalPrinterColumns[0].JSONPath",
         'Invalid value: "spec.x": must be a simple json path starting with .'),
    ]


def test_protected_groups_need_the_approval_annotation() -> None:
    crd = widget_crd(group="widgets.k8s.io")
    crd["metadata"]["name"] = "widgets.widgets.k8s.io"
    assert fields_and_messages(crd) == [(
        "metadata.annotations[api-approved.kubernetes.io]",
        'Required value: protected groups must have approval annotation '
        '"api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111')]


def test_storage_version_is_the_one_marked_storage() -> None:
    crd = widget_crd(versions=[{"name": "v1", "served": True, "storage": False},
                               {"name": "v2", "served": True, "storage": True}])
    assert crd_storage_version(crd) == "v2"
    assert crd_storage_version(widget_crd(versions=[])) == ""


def test_crd_types_serve_each_served_version_preferred_first() -> None:
    crd = apply_crd_defaults(widget_crd(versions=[
        {"name": "v1beta1", "served": True, "storage": False},
        {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
         "schema": {"openAPIV3Schema": WIDGET_SCHEMA}},
        {"name": "v2alpha1", "served": False, "storage": False},
    ]))
    types = crd_types(crd)
    assert [t.version for t in types] == ["v1", "v1beta1"]
    served = types[0]
    assert (served.group, served.kind, served.plural, served.singular, served.list_kind) == (
        "example.com", "Widget", "widgets", "widget", "WidgetList")
    assert served.namespaced and served.has_status and not types[1].has_status
    assert served.short_names == ("wd",) and served.categories == ("all",)
    assert served.schema == WIDGET_SCHEMA and types[1].schema is None
    assert served.crd_name == "widgets.example.com"
    assert served.tracks_generation and not served.strategic_merge
    assert not served.delete_returns_object


def test_crd_types_carry_printer_columns() -> None:
    (served,) = crd_types(apply_crd_defaults(widget_crd()))
    assert served.printer_columns == (
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},)


def test_accepted_status_establishes_the_crd() -> None:
    status = accepted_status(apply_crd_defaults(widget_crd()), "2024-05-01T10:00:00Z")
    assert status["conditions"] == [
        {"type": "NamesAccepted", "status": "True", "lastTransitionTime": "2024-05-01T10:00:00Z",
         "reason": "NoConflicts", "message": "no conflicts found"},
        {"type": "Established", "status": "True", "lastTransitionTime": "2024-05-01T10:00:00Z",
         "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
    ]
    assert status["acceptedNames"] == {"plural": "widgets", "kind": "Widget",
                                       "shortNames": ["wd"], "categories": ["all"],
                                       "singular": "widget", "listKind": "WidgetList"}
    assert status["storedVersions"] == ["v1"]


def test_accepted_status_keeps_transition_time_of_unchanged_conditions() -> None:
    crd = apply_crd_defaults(widget_crd())
    first = accepted_status(crd, "2024-05-01T10:00:00Z")
    again = accepted_status({**crd, "status": first}, "2024-06-01T10:00:00Z")
    assert again == first


def test_accepted_status_moves_transition_time_when_status_changes() -> None:
    crd = apply_crd_defaults(widget_crd())
    crd["status"]["conditions"] = [
        {"type": "Established", "status": "False", "lastTransitionTime": "2024-01-01T00:00:00Z",
         "reason": "Installing", "message": "installing"},
        {"type": "Terminating", "status": "False", "lastTransitionTime": "2024-01-01T00:00:00Z",
         "reason": "NotTerminating", "message": ""},
    ]
    status = accepted_status(crd, "2024-05-01T10:00:00Z")
    assert [(c["type"], c["status"], c["lastTransitionTime"]) for c in status["conditions"]] == [
        ("Established", "True", "2024-05-01T10:00:00Z"),
        ("Terminating", "False", "2024-01-01T00:00:00Z"),
        ("NamesAccepted", "True", "2024-05-01T10:00:00Z"),
    ]

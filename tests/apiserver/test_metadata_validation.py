"""Metadata validation: names, namespaces, labels, annotations, finalizers, owners."""

from __future__ import annotations

from typing import Any

import pytest

from controllerkit.apiserver.errors import Cause
from controllerkit.apiserver.metadata_validation import (
    unknown_metadata_fields,
    validate_metadata,
    validate_metadata_update,
)

SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_RULE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
NAME_PART_RULE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
    "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def causes(metadata: dict[str, Any], *, namespaced: bool = True,
           name_rule: str = "subdomain") -> list[tuple[str, str, str]]:
    found = validate_metadata({"metadata": metadata}, namespaced=namespaced, name_rule=name_rule)
    return [(c.field, c.reason, c.message) for c in found]


def ok(**metadata: Any) -> dict[str, Any]:
    return {"name": "web", "namespace": "default", **metadata}


def test_valid_metadata_has_no_causes() -> None:
    assert causes(ok(labels={"app": "web", "example.com/tier": ""},
                     annotations={"Example.com/Note": "anything at all"},
                     finalizers=["example.com/cleanup"],
                     ownerReferences=[{"apiVersion": "apps/v1", "kind": "Deployment",
                                       "name": "d", "uid": "u1", "controller": True}])) == []


def test_name_or_generate_name_is_required() -> None:
    assert causes({"namespace": "default"}) == [
        ("metadata.name", "FieldValueRequired", "Required value: name or generateName is "
                                                "required")]


def test_generate_name_alone_is_enough_and_may_end_with_a_dash() -> None:
    assert causes({"generateName": "web-", "namespace": "default"}) == []


@pytest.mark.parametrize(
    ("name", "rule", "messages"),
    [
        ("Foo", "subdomain", [SUBDOMAIN_RULE]),
        ("a" * 254, "subdomain", ["must be no more than 253 characters"]),
        ("my.ns", "label", ["must not contain dots"]),
        ("-ns", "label", [LABEL_RULE]),
        ("a" * 64, "label", ["must be no more than 63 characters"]),
        ("a/b", "path", ["may not contain '/'"]),
        ("..", "path", ["may not be '..'"]),
    ],
)
def test_bad_name_gets_the_real_servers_message(
    name: str, rule: str, messages: list[str],
) -> None:
    assert causes({"name": name}, namespaced=False, name_rule=rule) == [
        ("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {message}')
        for message in messages]


def test_bad_generate_name_is_reported_on_generate_name() -> None:
    assert causes({"generateName": "Web-", "namespace": "default"}) == [
        ("metadata.generateName", "FieldValueInvalid", f'Invalid value: "Web-": {SUBDOMAIN_RULE}')]


@pytest.mark.parametrize(
    ("namespaced", "namespace", "expected"),
    [
        (True, "", [("metadata.namespace", "FieldValueRequired", "Required value")]),
        (True, "Bad_NS", [("metadata.namespace", "FieldValueInvalid",
                           f'Invalid value: "Bad_NS": {LABEL_RULE}')]),
        (False, "default", [("metadata.namespace", "FieldValueForbidden",
                             "Forbidden: not allowed on this type")]),
        (False, "", []),
    ],
)
def test_namespace_must_match_the_scope(
    namespaced: bool, namespace: str, expected: list[tuple[str, str, str]],
) -> None:
    assert causes({"name": "web", "namespace": namespace}, namespaced=namespaced) == expected


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"bad key!": "v"}, f'Invalid value: "bad key!": {NAME_PART_RULE}'),
        ({"/x": "v"}, 'Invalid value: "/x": prefix part must be non-empty'),
        ({"a/b/c": "v"}, (
            "Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
            "'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix "
            "and '/' (e.g. 'example.com/MyName')")),
        ({"k": "bad value"}, f'Invalid value: "bad value": {LABEL_VALUE_RULE}'),
        ({"k": "v" * 64}, f'Invalid value: "{"v" * 64}": must be no more than 63 characters'),
    ],
)
def test_bad_label_is_reported_on_metadata_labels(labels: dict[str, str], message: str) -> None:
    assert causes(ok(labels=labels)) == [("metadata.labels", "FieldValueInvalid", message)]


def test_label_value_of_wrong_type_is_invalid_not_a_crash() -> None:
    assert [c[0] for c in causes(ok(labels={"a": 1}))] == ["metadata.labels"]


def test_annotation_keys_ignore_case_but_must_be_qualified() -> None:
    assert causes(ok(annotations={"MixedCase/Key": "v"})) == []
    assert causes(ok(annotations={"bad key": "v"})) == [
        ("metadata.annotations", "FieldValueInvalid", f'Invalid value: "bad key": '
                                                      f"{NAME_PART_RULE}")]


def test_annotations_larger_than_256_kib_are_too_long() -> None:
    assert causes(ok(annotations={"a": "x" * (256 * 1024)})) == [
        ("metadata.annotations", "FieldValueTooLong",
         "Too long: may not be more than 262144 bytes")]


def test_finalizers_must_be_qualified_and_not_both_orphan_and_foreground() -> None:
    assert causes(ok(finalizers=["bad finalizer"])) == [
        ("metadata.finalizers", "FieldValueInvalid",
         f'Invalid value: "bad finalizer": {NAME_PART_RULE}')]
    both = causes(ok(finalizers=["orphan", "foregroundDeletion"]))
    assert [(field, message.rsplit(": ", 1)[-1]) for field, _, message in both] == [
        ("metadata.finalizers", "finalizer orphan and foregroundDeletion cannot be both set")]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ({"kind": "K", "name": "n", "uid": "u"},
         ("metadata.ownerReferences.apiVersion", 'Invalid value: "": version must not be empty')),
        ({"apiVersion": "apps/", "kind": "K", "name": "n", "uid": "u"},
         ("metadata.ownerReferences.apiVersion",
          'Invalid value: "apps/": version must not be empty')),
        ({"apiVersion": "v1", "name": "n", "uid": "u"},
         ("metadata.ownerReferences.kind", 'Invalid value: "": must not be empty')),
        ({"apiVersion": "v1", "kind": "K", "uid": "u"},
         ("metadata.ownerReferences.name", 'Invalid value: "": must not be empty')),
        ({"apiVersion": "v1", "kind": "K", "name": "n"},
         ("metadata.ownerReferences.uid", 'Invalid value: "": must not be empty')),
    ],
)
def test_owner_reference_needs_api_version_kind_name_and_uid(
    reference: dict[str, Any], expected: tuple[str, str],
) -> None:
    assert [(f, m) for f, _, m in causes(ok(ownerReferences=[reference]))] == [expected]


def test_events_cannot_own_objects() -> None:
    found = causes(ok(ownerReferences=[{"apiVersion": "v1", "kind": "Event", "name": "e",
                                        "uid": "u"}]))
    assert [m.rsplit(": ", 1)[-1] for _, _, m in found] == [
        "/v1, Kind=Event is disallowed from being an owner"]


def test_at_most_one_owner_reference_is_the_controller() -> None:
    owners = [{"apiVersion": "v1", "kind": "A", "name": "a", "uid": "1", "controller": True},
              {"apiVersion": "v1", "kind": "B", "name": "b", "uid": "2", "controller": True}]
    found = causes(ok(ownerReferences=owners))
    assert len(found) == 1
    assert found[0][2].endswith(
        'Only one reference can have Controller set to true. Found "true" in references for '
        "A/a and B/b")


def test_update_cannot_rename_or_add_finalizers_while_deleting() -> None:
    old = {"metadata": {"name": "a", "namespace": "ns", "uid": "1",
                        "deletionTimestamp": "2024-01-01T00:00:00Z", "finalizers": ["x.io/f"]}}
    new = {"metadata": {"name": "b", "namespace": "ns", "uid": "1",
                        "finalizers": ["x.io/f", "x.io/g"]}}
    assert validate_metadata_update(new, old) == [
        Cause("FieldValueForbidden", 'Forbidden: no new finalizers can be added if the object is '
                                     'being deleted, found new finalizers []string{"x.io/g"}',
              "metadata.finalizers"),
        Cause("FieldValueInvalid", 'Invalid value: "b": field is immutable', "metadata.name"),
    ]


def test_update_with_same_identity_is_valid() -> None:
    meta = {"name": "a", "namespace": "ns", "uid": "1", "labels": {"a": "b"}}
    assert validate_metadata_update({"metadata": {**meta, "uid": ""}}, {"metadata": meta}) == []


def test_unknown_metadata_fields_are_listed_with_their_path() -> None:
    assert unknown_metadata_fields({"metadata": {"name": "a", "colour": "red"}}) == [
        "metadata.colour"]

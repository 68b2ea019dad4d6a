"""Label and field selectors: Kubernetes grammar, matching semantics and error texts."""

from __future__ import annotations

from typing import Any

import pytest

from controllerkit.apiserver.errors import StatusError
from controllerkit.apiserver.selectors import FieldSelector, LabelSelector

WEB = {"app": "web", "tier": "frontend", "app.kubernetes.io/name": "shop", "replicas": "3"}

_KEY_REGEX = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
    "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_VALUE_REGEX = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)

NOT_KNOWN = ' is not a known field selector: only "metadata.name", "metadata.namespace"'


def bad_request_message(call: Any, *args: Any) -> str:
    with pytest.raises(StatusError) as caught:
        call(*args)
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")
    return caught.value.message


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("app=web", WEB, True),
        ("app==web", WEB, True),
        ("app=db", WEB, False),
        ("app!=db", WEB, True),
        ("app!=web", WEB, False),
        ("app in (web,db)", WEB, True),
        ("app in (db,cache)", WEB, False),
        ("app notin (db,cache)", WEB, True),
        ("app notin (web)", WEB, False),
        ("tier", WEB, True),
        ("missing", WEB, False),
        ("!missing", WEB, True),
        ("!tier", WEB, False),
        ("app=web,tier=frontend", WEB, True),
        ("app=web,tier=backend", WEB, False),
        ("  app = web ,  tier in ( frontend , x )  ", WEB, True),
        ("app.kubernetes.io/name=shop", WEB, True),
        ("app.kubernetes.io/name in (shop)", WEB, True),
        ("replicas>2", WEB, True),
        ("replicas>3", WEB, False),
        ("replicas<4", WEB, True),
        ("app>2", WEB, False),
        ("app=", {"app": ""}, True),
        ("app=", WEB, False),
        ("app in (a,,b)", {"app": ""}, True),
        ("in=notin", {"in": "notin"}, True),
        ("x in (in,notin)", {"x": "notin"}, True),
    ],
)
def test_label_selector_matches_like_kubernetes(
    text: str, labels: dict[str, str], expected: bool
) -> None:
    assert LabelSelector.parse(text).matches(labels) is expected


@pytest.mark.parametrize("text", ["app!=web", "app notin (web)", "!app"])
def test_negative_label_requirements_match_when_key_is_absent(text: str) -> None:
    assert LabelSelector.parse(text).matches({})


@pytest.mark.parametrize("text", ["app=web", "app in (web)", "app", "app>1"])
def test_positive_label_requirements_exclude_missing_key(text: str) -> None:
    assert not LabelSelector.parse(text).matches({"other": "web"})


@pytest.mark.parametrize("text", ["", "   ", "\t"])
def test_empty_label_selector_is_empty_and_matches_everything(text: str) -> None:
    selector = LabelSelector.parse(text)
    assert selector.is_empty
    assert selector.matches({}) and selector.matches(WEB)


def test_label_selector_with_requirements_is_not_empty() -> None:
    assert not LabelSelector.parse("a").is_empty


def test_label_selector_prints_canonically_sorted_by_key() -> None:
    assert str(LabelSelector.parse("z notin (b,a), !y ,x==1,w")) == "w,x==1,!y,z notin (a,b)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,", "found '', expected: identifier after ','"),
        (",a", "found ',', expected: !, identifier, or 'end of string'"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
        ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
        ("a in (b,=)", "unable to parse requirement: found '=', expected: ',', or identifier"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        ("! =a", "unable to parse requirement: found '=', expected: identifier"),
        ("!=a", "found '!=', expected: !, identifier, or 'end of string'"),
        ("a>x", "unable to parse requirement: values[0]: Invalid value: \"x\": "
                "for 'Gt', 'Lt' operators, the value must be an integer"),
        ("-a=b", f'unable to parse requirement: <nil>: Invalid value: "-a": {_KEY_REGEX}'),
        ("a=-b", f'unable to parse requirement: values[0][a]: Invalid value: "-b": {_VALUE_REGEX}'),
    ],
)
def test_label_selector_syntax_error_is_bad_request_with_kubernetes_text(
    text: str, message: str
) -> None:
    assert bad_request_message(LabelSelector.parse, text) == message


def test_label_selector_reports_every_invalid_value_in_one_list() -> None:
    message = bad_request_message(LabelSelector.parse, "a in (-y,-x)")
    assert message == (
        f'unable to parse requirement: [values[0][a]: Invalid value: "-x": {_VALUE_REGEX}, '
        f'values[1][a]: Invalid value: "-y": {_VALUE_REGEX}]'
    )


@pytest.mark.parametrize(
    ("key", "detail"),
    [
        ("a/b/c", "a qualified name must consist of alphanumeric characters"),
        ("/b", "prefix part must be non-empty"),
        ("Example.com/b", "prefix part a lowercase RFC 1123 subdomain must consist of"),
        ("example.com/", "name part must be non-empty"),
        ("x" * 64, "name part must be no more than 63 characters"),
    ],
)
def test_invalid_label_key_is_rejected_with_its_reason(key: str, detail: str) -> None:
    message = bad_request_message(LabelSelector.parse, f"{key}=v")
    assert message.startswith(f'unable to parse requirement: <nil>: Invalid value: "{key}": ')
    assert detail in message


def test_label_value_longer_than_63_characters_is_rejected() -> None:
    message = bad_request_message(LabelSelector.parse, "a=" + "v" * 64)
    assert "must be no more than 63 characters" in message


def test_label_selector_from_json_combines_match_labels_and_expressions() -> None:
    selector = LabelSelector.from_json({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["frontend", "edge"]},
            {"key": "legacy", "operator": "DoesNotExist"},
            {"key": "replicas", "operator": "Exists"},
            {"key": "zone", "operator": "NotIn", "values": ["b"]},
        ],
    })
    assert selector.matches(WEB)
    assert not selector.matches({**WEB, "legacy": "1"})
    assert not selector.matches({**WEB, "tier": "backend"})


def test_label_selector_from_json_none_matches_nothing() -> None:
    selector = LabelSelector.from_json(None)
    assert not selector.is_empty
    assert not selector.matches({})


def test_label_selector_from_empty_json_matches_everything() -> None:
    selector = LabelSelector.from_json({})
    assert selector.is_empty and selector.matches(WEB)


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
         '"Gt" is not a valid label selector operator'),
        ({"matchExpressions": [{"key": "a", "operator": "In"}]},
         "values: Invalid value: []string(nil): for 'in', 'notin' operators, "
         "values set can't be empty"),
        ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
         'values: Invalid value: []string{"x"}: values set must be empty for exists and '
         "does not exist"),
        ({"matchLabels": {"-a": "b"}}, f'key: Invalid value: "-a": {_KEY_REGEX}'),
    ],
)
def test_invalid_json_label_selector_is_bad_request(
    selector: dict[str, Any], message: str
) -> None:
    assert bad_request_message(LabelSelector.from_json, selector) == message


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"metadata": {"labels": {"app": "web"}}}, True),
        ({"metadata": {"labels": None}}, False),
        ({"metadata": {}}, False),
        ({}, False),
    ],
)
def test_label_selector_matches_object_reads_metadata_labels(
    obj: dict[str, Any], expected: bool
) -> None:
    assert LabelSelector.parse("app=web").matches_object(obj) is expected


CONFIG = {"metadata": {"name": "settings", "namespace": "prod"}, "type": "Opaque",
          "spec": {"paused": True, "replicas": 2}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metadata.name=settings", True),
        ("metadata.name==settings", True),
        ("metadata.name=other", False),
        ("metadata.name!=other", True),
        ("metadata.name!=settings", False),
        ("metadata.name=settings,metadata.namespace=prod", True),
        ("metadata.name=settings,metadata.namespace=dev", False),
        ("metadata.namespace!=", True),
        ("metadata.namespace=", False),
        ("", True),
        (",", True),
    ],
)
def test_field_selector_matches_dotted_paths(text: str, expected: bool) -> None:
    assert FieldSelector.parse(text).matches(CONFIG) is expected


def test_field_selector_treats_missing_field_as_empty_string() -> None:
    cluster_scoped = {"metadata": {"name": "node-1"}}
    assert FieldSelector.parse("metadata.namespace=").matches(cluster_scoped)
    assert not FieldSelector.parse("metadata.namespace!=").matches(cluster_scoped)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("spec.paused=true", True), ("spec.replicas=2", True), ("type=Opaque", True),
     ("spec=", True), ("spec.replicas.deeper=", True)],
)
def test_field_selector_renders_scalars_and_blanks_structures(text: str, expected: bool) -> None:
    supported = ("spec.paused", "spec.replicas", "type", "spec", "spec.replicas.deeper")
    assert FieldSelector.parse(text, supported).matches(CONFIG) is expected


@pytest.mark.parametrize(("text", "empty"), [("", True), (",,", True), ("metadata.name=a", False)])
def test_field_selector_is_empty_only_without_terms(text: str, empty: bool) -> None:
    assert FieldSelector.parse(text).is_empty is empty


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('spec.replicas=1', '"spec.replicas"' + NOT_KNOWN),
        ('metadata.name = x', '"metadata.name "' + NOT_KNOWN),
        ('=x', '""' + NOT_KNOWN),
        ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
        ("metadata.name=a=b", "invalid field selector: unescaped character in value: 61"),
        ("metadata.name=a\\x", "invalid field selector: invalid escape sequence: \\x"),
        ("metadata.name=a\\", "invalid field selector: invalid escape sequence: \\"),
    ],
)
def test_field_selector_error_is_bad_request_with_kubernetes_text(text: str, message: str) -> None:
    assert bad_request_message(FieldSelector.parse, text) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('spec.b=1,spec.a=1', '"spec.a"' + NOT_KNOWN),
        ("zzz,aaa", "invalid selector: 'zzz,aaa'; can't understand 'aaa'"),
        ("spec.x=1,zzz", "invalid selector: 'spec.x=1,zzz'; can't understand 'zzz'"),
    ],
)
def test_field_selector_reports_first_bad_term_in_sorted_order_syntax_first(
    text: str, message: str
) -> None:
    assert bad_request_message(FieldSelector.parse, text) == message


def test_field_selector_supported_fields_are_configurable() -> None:
    supported = ("metadata.name", "metadata.namespace", "type")
    assert FieldSelector.parse("type=Opaque", supported).matches({"type": "Opaque"})
    message = bad_request_message(FieldSelector.parse, "spec.x=a", supported)
    assert message == "field label not supported: spec.x"


def test_field_selector_unescapes_values() -> None:
    selector = FieldSelector.parse("metadata.name=a\\,b\\=c\\\\d")
    assert selector.matches({"metadata": {"name": "a,b=c\\d"}})
    assert str(selector) == "metadata.name=a\\,b\\=c\\\\d"


def test_field_selector_splits_on_leftmost_operator() -> None:
    assert FieldSelector.parse("metadata.name=!x").matches({"metadata": {"name": "!x"}})


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("metadata.name=web", "web"),
        ("metadata.namespace=prod,metadata.name==web", "web"),
        ("metadata.name!=web", None),
        ("metadata.namespace=prod", None),
        ("", None),
    ],
)
def test_field_selector_exact_name_only_for_equality_on_name(text: str, name: str | None) -> None:
    assert FieldSelector.parse(text).exact_name() == name

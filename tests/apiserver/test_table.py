"""Server-side Table printing and the JSONPath of printer columns."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from controllerkit.apiserver.errors import StatusError
from controllerkit.apiserver.jsonpath import JSONPathError, compile_path
from controllerkit.apiserver.resources import JSONObject, ResourceType
from controllerkit.apiserver.table import (
    column_definitions,
    human_duration,
    to_table,
    validate_include_object,
    wants_table,
)

NOW = datetime(2026, 1, 2, 12, 0, 0, tzinfo=UTC)
KUBECTL_GET_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)

WIDGET: JSONObject = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "w1", "namespace": "default", "labels": {"app": "shop"},
                 "creationTimestamp": "2026-01-02T11:55:00Z", "resourceVersion": "7"},
    "spec": {"replicas": 3, "ratio": 1.5, "paused": False, "items": [{"name": "first"}],
             "selector": {"b": 2, "a": "<x>"}, "nothing": None, "text": "hello"},
    "status": {"phase": "Running",
               "conditions": [{"type": "Synced", "status": "False"},
                              {"type": "Ready", "status": "True"}]},
}


def widget_type(*columns: JSONObject) -> ResourceType:
    return ResourceType("example.com", "v1", "Widget", "widgets", "widget", True,
                        printer_columns=columns, crd_name="widgets.example.com")


def column(name: str, kind: str, path: str, **extra: Any) -> JSONObject:
    return {"name": name, "type": kind, "jsonPath": path, **extra}


def only_cell(kind: str, path: str, obj: JSONObject = WIDGET) -> Any:
    table = to_table(widget_type(column("C", kind, path)), [obj], now=NOW)
    return table["rows"][0]["cells"][1]


# -- content negotiation -----------------------------------------------------------------------

@pytest.mark.parametrize(("accept", "expected"), [
    (KUBECTL_GET_ACCEPT, True),
    ("application/json;as=Table;v=v1;g=meta.k8s.io", True),
    ("application/json", False),
    ("", False),
    ("*/*", False),
    ("application/json, application/json;as=Table;v=v1;g=meta.k8s.io", False),
    ("application/json;q=0.5, application/json;as=Table;v=v1;g=meta.k8s.io", True),
    ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", False),
    ("application/json;as=Table;v=v1;g=example.com, application/json", False),
    ("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,"
     "application/json;as=Table;v=v1;g=meta.k8s.io", True),
    ("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json", False),
    ("application/json;as=Table;v=v1;g=meta.k8s.io;q=0, application/json", False),
])
def test_table_is_chosen_only_when_negotiation_picks_a_v1_table(
    accept: str, expected: bool
) -> None:
    assert wants_table(accept) is expected


@pytest.mark.parametrize(("value", "normalised"), [
    ("", "Metadata"), ("Metadata", "Metadata"), ("Object", "Object"), ("None", "None"),
])
def test_include_object_accepts_the_three_values_and_empty(value: str, normalised: str) -> None:
    assert validate_include_object(value) == normalised


def test_unknown_include_object_is_a_bad_request_with_the_real_message() -> None:
    with pytest.raises(StatusError) as caught:
        validate_include_object("Everything")
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")
    assert caught.value.message == (
        "includeObject: Invalid value: \"Everything\": must be 'Metadata', 'Object', 'None', "
        "or empty"
    )


# -- columns -----------------------------------------------------------------------------------

def test_type_without_printer_columns_shows_name_and_age() -> None:
    columns = column_definitions(widget_type())
    assert [(c["name"], c["type"], c["format"]) for c in columns] == [
        ("Name", "string", "name"), ("Age", "date", "")]


def test_printer_columns_follow_name_and_replace_the_default_age() -> None:
    columns = column_definitions(widget_type(
        column("Phase", "string", ".status.phase"),
        column("Replicas", "integer", ".spec.replicas", priority=1, description="How many"),
    ))
    assert [c["name"] for c in columns] == ["Name", "Phase", "Replicas"]
    assert columns[1]["description"] == (
        "Custom resource definition column (in JSONPath format): .status.phase")
    assert (columns[2]["description"], columns[2]["priority"]) == ("How many", 1)
    assert all(set(c) == {"name", "type", "format", "description", "priority"} for c in columns)


# -- cells -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "path", "expected"), [
    ("string", ".status.phase", "Running"),
    ("string", ".spec.replicas", "3"),
    ("string", ".spec.ratio", "1.5"),
    ("string", ".spec.paused", "false"),
    ("string", ".spec.selector", '{"a":"\\u003cx\\u003e","b":2}'),
    ("string", ".spec.items", '[{"name":"first"}]'),
    ("string", ".spec.nothing", "<no value>"),
    ("string", ".metadata.labels.app", "shop"),
    ("string", '.status.conditions[?(@.type=="Ready")].status', "True"),
    ("string", ".spec.items[0].name", "first"),
    ("string", ".status.missing", None),
    ("integer", ".spec.replicas", 3),
    ("integer", ".spec.ratio", 1),
    ("integer", ".status.phase", None),
    ("integer", ".spec.paused", None),
    ("number", ".spec.replicas", 3.0),
    ("number", ".spec.ratio", 1.5),
    ("boolean", ".spec.paused", False),
    ("boolean", ".spec.replicas", None),
    ("date", ".metadata.creationTimestamp", "5m"),
    ("date", ".spec.replicas", None),
    ("date", ".spec.nothing", None),
    ("integer", ".spec.nothing", None),
])
def test_cell_is_the_first_match_typed_by_its_column(kind: str, path: str, expected: Any) -> None:
    cell = only_cell(kind, path)
    assert cell == expected
    assert type(cell) is type(expected)


@pytest.mark.parametrize(("timestamp", "expected"), [
    ("2026-01-02T11:59:30Z", "30s"),
    ("2026-01-02T11:59:30.123456789Z", "29s"),
    ("2026-01-02T13:59:30+02:00", "30s"),
    ("2025-12-31T12:00:00Z", "2d"),
    ("", "<unknown>"),
    ("2026-01-02", "<invalid>"),
    ("yesterday", "<invalid>"),
])
def test_date_cell_is_the_age_measured_from_now(timestamp: str, expected: str) -> None:
    obj = {**WIDGET, "status": {"since": timestamp}}
    assert only_cell("date", ".status.since", obj) == expected


def test_default_age_column_uses_creation_timestamp() -> None:
    table = to_table(widget_type(), [WIDGET], now=NOW)
    assert table["rows"][0]["cells"] == ["w1", "5m"]


def test_unparsable_column_path_leaves_the_cell_empty() -> None:
    assert only_cell("string", ".spec..deep") is None


# -- table shape -------------------------------------------------------------------------------

def test_table_has_one_row_per_object_in_order_with_list_metadata() -> None:
    second = {**WIDGET, "metadata": {**WIDGET["metadata"], "name": "w2"}}
    table = to_table(widget_type(column("Phase", "string", ".status.phase")), [WIDGET, second],
                     list_metadata={"resourceVersion": "9", "continue": "abc"}, now=NOW)
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert table["metadata"] == {"resourceVersion": "9", "continue": "abc"}
    assert [row["cells"] for row in table["rows"]] == [["w1", "Running"], ["w2", "Running"]]
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Phase"]


def test_rows_carry_partial_object_metadata_by_default() -> None:
    row = to_table(widget_type(), [WIDGET], now=NOW)["rows"][0]
    assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": WIDGET["metadata"]}


def test_rows_carry_the_whole_object_or_nothing_when_asked() -> None:
    with_object = to_table(widget_type(), [WIDGET], include_object="Object", now=NOW)
    without = to_table(widget_type(), [WIDGET], include_object="None", now=NOW)
    assert with_object["rows"][0]["object"] == WIDGET
    assert "object" not in without["rows"][0]


def test_watch_rows_after_the_first_omit_column_definitions() -> None:
    table = to_table(widget_type(), [WIDGET], with_definitions=False, now=NOW)
    assert table["columnDefinitions"] == []
    assert table["rows"][0]["cells"] == ["w1", "5m"]


def test_empty_list_is_a_table_without_rows() -> None:
    table = to_table(widget_type(), [], list_metadata={"resourceVersion": "3"}, now=NOW)
    assert table["rows"] == []
    assert table["metadata"] == {"resourceVersion": "3"}


def test_building_a_table_leaves_its_inputs_unchanged() -> None:
    before = copy.deepcopy(WIDGET)
    metadata = {"resourceVersion": "1"}
    table = to_table(widget_type(column("Phase", "string", ".status.phase")), [WIDGET],
                     list_metadata=metadata, now=NOW)
    table["metadata"]["continue"] = "x"
    assert before == WIDGET
    assert metadata == {"resourceVersion": "1"}


def test_invalid_include_object_is_rejected_by_to_table() -> None:
    with pytest.raises(StatusError):
        to_table(widget_type(), [WIDGET], include_object="All")


@pytest.mark.parametrize(("seconds", "expected"), [
    (-3, "<invalid>"), (-1.5, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (150, "2m30s"),
    (599, "9m59s"), (600, "10m"), (3 * 3600 - 1, "179m"), (3 * 3600, "3h"),
    (3 * 3600 + 300, "3h5m"), (8 * 3600, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"),
    (50 * 3600, "2d2h"), (8 * 86400, "8d"), (2 * 365 * 86400, "2y"),
    (2 * 365 * 86400 + 30 * 86400, "2y30d"), (9 * 365 * 86400, "9y"),
])
def test_human_duration_matches_kubernetes_rounding(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


# -- JSONPath ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "expected"), [
    (".status.phase", ["Running"]),
    ("{.status.phase}", ["Running"]),
    ("status.phase", ["Running"]),
    (".spec.items[0].name", ["first"]),
    (".spec.items[-1].name", ["first"]),
    (".spec.items[5].name", []),
    (".spec.items[*].name", ["first"]),
    (".status.conditions[*].type", ["Synced", "Ready"]),
    (".status.conditions[0:1].type", ["Synced"]),
    (".status.conditions[?(@.type=='Ready')].status", ["True"]),
    (".status.conditions[?(@.type!=\"Ready\")].type", ["Synced"]),
    (".status.conditions[?(@.missing)].type", []),
    (".status.conditions[?(@.status)].type", ["Synced", "Ready"]),
    (".spec.selector.*", ["<x>", 2]),
    (".metadata.labels['app']", ["shop"]),
    (".spec.nothing", [None]),
    (".spec.replicas.deeper", []),
    (".", [WIDGET]),
])
def test_jsonpath_selects_what_kubectl_would(expression: str, expected: list[Any]) -> None:
    assert compile_path(expression).find(WIDGET) == expected


@pytest.mark.parametrize(("expression", "expected"), [
    (".metadata.annotations.example\\.com/owner", ["team-a"]),
    (".metadata.annotations['example.com/owner']", ["team-a"]),
    (".spec.ports[?(@.port > 80)].name", ["https"]),
    (".spec.ports[?(@.port <= 80)].name", ["http"]),
    (".spec.ports[?(@.port == 443.0)].name", ["https"]),
    (".spec.ports[?(@.port == '443')].name", []),
    (".spec.ports[?(@.open == true)].name", ["http"]),
])
def test_jsonpath_reads_escaped_keys_and_compares_like_types(
    expression: str, expected: list[Any]
) -> None:
    obj = {"metadata": {"annotations": {"example.com/owner": "team-a"}},
           "spec": {"ports": [{"name": "http", "port": 80, "open": True},
                              {"name": "https", "port": 443, "open": False}]}}
    assert compile_path(expression).find(obj) == expected


@pytest.mark.parametrize("expression", [
    "", "{}", ".spec..name", ".items[", ".items[a]", ".items[?(@.a == nope)]", ".items[?@.a]",
    ".items[1:2:3:4]", ".a.",
])
def test_jsonpath_rejects_what_it_cannot_evaluate(expression: str) -> None:
    with pytest.raises(JSONPathError):
        compile_path(expression)


@pytest.mark.parametrize(("obj", "expected"), [
    ({"data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}, 3),
    ({"data": {"a": "1"}}, 1),
    ({"data": {}}, 0),
    ({}, 0),
    ({"data": "not-a-map"}, 0),
])
def test_count_column_totals_the_entries_of_its_maps(obj: JSONObject, expected: int) -> None:
    configmap = ResourceType("", "v1", "ConfigMap", "configmaps", "configmap", True,
                             printer_columns=({"name": "Data", "type": "integer",
                                               "jsonPath": ".data",
                                               "countOf": [".data", ".binaryData"]},))
    table = to_table(configmap, [{"metadata": {"name": "c"}, **obj}], now=NOW)
    assert table["rows"][0]["cells"] == ["c", expected]
    assert "countOf" not in table["columnDefinitions"][1]

"""`crd_for`: the CRD a model generates, checked against the structural-schema rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from controllerkit.apiserver.crds import apply_crd_defaults, validate_crd
from controllerkit.crd import UnsupportedSchema, crd_for, structural_schema
from controllerkit.kinds import ConfigMap
from controllerkit.meta import KubeModel
from controllerkit.resource import CustomResource, Resource

from .models import ClusterGadget, Widget


class FreeStatus(KubeModel):
    model_config = ConfigDict(extra="allow")

    seen: int = 0


class PlainSpec(BaseModel):
    """A spec written with plain pydantic: field names are the JSON names."""

    replicaCount: int = 1


class Free(CustomResource[PlainSpec, FreeStatus], group="example.com", version="v1",
           kind="Free", plural="frees"):
    pass


def openapi(model: type[Resource]) -> dict[str, Any]:
    schema: dict[str, Any] = crd_for(model)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def spec_field(name: str) -> dict[str, Any]:
    field: dict[str, Any] = openapi(Widget)["properties"]["spec"]["properties"][name]
    return field


def walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with its path."""
    if not isinstance(node, dict):
        return
    yield path, node
    for name, sub in (node.get("properties") or {}).items():
        yield from walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}[*]")


@pytest.mark.parametrize("model", [Widget, ClusterGadget, Free])
def test_generated_crd_passes_the_servers_crd_validation(model: type[Resource]) -> None:
    assert validate_crd(apply_crd_defaults(crd_for(model))) == []


@pytest.mark.parametrize("model", [Widget, ClusterGadget, Free])
def test_schema_has_no_references_titles_or_junctors(model: type[Resource]) -> None:
    forbidden = {"$ref", "$defs", "title", "anyOf", "allOf", "oneOf", "not", "const",
                 "uniqueItems", "examples", "x-controllerkit-list-map-keys"}
    for path, node in walk(openapi(model)):
        assert not forbidden & set(node), (path, node)
        assert node.get("type") or node.get("x-kubernetes-int-or-string") or node.get(
            "x-kubernetes-preserve-unknown-fields"), (path, node)


def test_crd_carries_names_scope_status_subresource_and_printer_columns() -> None:
    crd = crd_for(Widget)
    assert crd["metadata"]["name"] == "widgets.example.com"
    spec = crd["spec"]
    assert (spec["group"], spec["scope"]) == ("example.com", "Namespaced")
    assert spec["names"] == {"plural": "widgets", "singular": "widget", "kind": "Widget",
                             "listKind": "WidgetList", "shortNames": ["wd"],
                             "categories": ["gadgets"]}
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1", True, True)
    assert version["subresources"] == {"status": {}}
    assert version["additionalPrinterColumns"] == [
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Tier", "type": "string", "jsonPath": ".spec.tier",
         "description": "Size class", "priority": 1},
    ]
    assert crd_for(ClusterGadget)["spec"]["scope"] == "Cluster"
    assert "additionalPrinterColumns" not in crd_for(ClusterGadget)["spec"]["versions"][0]


def test_root_declares_type_meta_as_strings_and_metadata_as_a_plain_object() -> None:
    root = openapi(Widget)
    assert root["type"] == "object"
    assert root["properties"]["apiVersion"]["type"] == "string"
    assert root["properties"]["kind"]["type"] == "string"
    assert root["properties"]["metadata"] == {"type": "object"}
    assert root["required"] == ["spec"]
    assert root["description"] == "A widget: a small thing a controller keeps running."


def test_optional_fields_are_nullable_and_not_required() -> None:
    assert spec_field("paused") == {"type": "boolean", "nullable": True}
    backup = spec_field("backupLimits")
    assert (backup["type"], backup["nullable"]) == ("object", True)
    assert "memory" in backup["properties"]
    assert openapi(Widget)["properties"]["spec"]["required"] == ["image"]


def test_enums_and_literals_become_enum_lists() -> None:
    assert spec_field("tier") == {"description": "How much the widget may use.",
                                  "enum": ["small", "large"], "type": "string",
                                  "default": "small"}
    assert spec_field("priority") == {"enum": [1, 2], "type": "integer", "nullable": True}
    assert spec_field("mode") == {"default": "safe", "enum": ["fast", "safe"], "type": "string"}


def test_dict_fields_become_maps_and_any_keeps_unknown_fields() -> None:
    assert spec_field("selector") == {"additionalProperties": {"type": "string"}, "default": {},
                                      "type": "object"}
    assert spec_field("config") == {"type": "object", "nullable": True,
                                    "x-kubernetes-preserve-unknown-fields": True}
    assert spec_field("anything") == {"x-kubernetes-preserve-unknown-fields": True}
    free_status = openapi(Free)["properties"]["status"]
    assert free_status["x-kubernetes-preserve-unknown-fields"] is True
    assert "additionalProperties" not in free_status


def test_numbers_keep_integer_and_number_apart_with_openapi_bounds() -> None:
    limits = spec_field("limits")["properties"]
    assert limits["burst"] == {"default": 1.5, "type": "number"}
    assert limits["cpuMillis"] == {"default": 100, "description": "CPU in thousandths of a core.",
                                   "minimum": 0, "exclusiveMinimum": True, "type": "integer"}
    assert spec_field("replicas") == {"default": 1, "minimum": 0, "type": "integer"}


def test_int_or_string_and_datetime_fields() -> None:
    assert spec_field("targetPort") == {"default": 80, "x-kubernetes-int-or-string": True}
    assert spec_field("startAfter") == {"format": "date-time", "type": "string",
                                        "nullable": True}


def test_descriptions_come_from_docstrings_and_field_descriptions() -> None:
    assert openapi(Widget)["properties"]["spec"]["description"] == (
        "What the user wants the widget to be.")
    assert spec_field("image")["description"] == "The container image to run."
    assert spec_field("limits")["properties"]["cpuMillis"]["description"] == (
        "CPU in thousandths of a core.")


def test_model_defaults_are_kept_without_their_none_members() -> None:
    assert spec_field("limits")["default"] == {"cpuMillis": 100, "burst": 1.5}
    assert "default" not in spec_field("paused")


def test_conditions_are_a_list_map_keyed_by_type() -> None:
    conditions = openapi(Widget)["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert conditions["items"]["required"] == ["type", "status"]
    assert conditions["items"]["properties"]["lastTransitionTime"]["format"] == "date-time"


def test_a_list_of_a_model_with_map_keys_is_a_list_map_and_a_set_is_a_list_set() -> None:
    assert spec_field("ports")["x-kubernetes-list-type"] == "map"
    assert spec_field("ports")["x-kubernetes-list-map-keys"] == ["name"]
    assert spec_field("tags") == {"default": [], "items": {"type": "string"}, "type": "array",
                                  "x-kubernetes-list-type": "set"}


def test_a_spec_without_required_fields_defaults_to_empty_and_may_be_left_out() -> None:
    root = openapi(ClusterGadget)
    assert root["properties"]["spec"]["default"] == {}
    assert "required" not in root
    assert "default" not in openapi(Widget)["properties"]["spec"]


def test_plain_pydantic_models_keep_their_field_names() -> None:
    assert openapi(Free)["properties"]["spec"]["properties"] == {
        "replicaCount": {"default": 1, "type": "integer"}}


class Node(KubeModel):
    children: list[Node] = []


class Cat(KubeModel):
    meow: bool = True


class Dog(KubeModel):
    woof: bool = True


class UnionSpec(KubeModel):
    pet: Cat | Dog


class TupleSpec(KubeModel):
    pair: tuple[int, str]


class RecursiveSpec(KubeModel):
    root: Node


class NothingStatus(KubeModel):
    pass


class UnionThing(CustomResource[UnionSpec, NothingStatus], group="example.com", version="v1",
                 kind="UnionThing", plural="unionthings"):
    pass


class TupleThing(CustomResource[TupleSpec, NothingStatus], group="example.com", version="v1",
                 kind="TupleThing", plural="tuplethings"):
    pass


class RecursiveThing(CustomResource[RecursiveSpec, NothingStatus], group="example.com",
                     version="v1", kind="RecursiveThing", plural="recursivethings"):
    pass


@pytest.mark.parametrize(("model", "path", "reason"), [
    (UnionThing, "spec.pet", "union of several types"),
    (TupleThing, "spec.pair", "tuples cannot be expressed"),
    (RecursiveThing, "spec.root.children[]", "recursive type Node -> Node"),
])
def test_types_a_structural_schema_cannot_express_are_refused_naming_the_field(
    model: type[Resource], path: str, reason: str,
) -> None:
    with pytest.raises(UnsupportedSchema) as caught:
        crd_for(model)
    assert caught.value.model == model.__name__
    assert caught.value.path == path
    assert reason in caught.value.reason


class BadKeyItem(KubeModel):
    __list_map_keys__ = ("key",)

    key: str | None = None


class BadKeySpec(KubeModel):
    items: list[BadKeyItem] = Field(default_factory=list)


class BadKeyThing(CustomResource[BadKeySpec, NothingStatus], group="example.com",
                  version="v1", kind="BadKeyThing", plural="badkeythings"):
    pass


def test_a_list_map_key_that_may_be_missing_is_refused() -> None:
    with pytest.raises(UnsupportedSchema, match="must be required or have a default"):
        crd_for(BadKeyThing)


def test_built_in_and_undeclared_models_have_no_crd() -> None:
    with pytest.raises(TypeError, match="core group"):
        crd_for(ConfigMap)

    class Undeclared(CustomResource[UnionSpec, NothingStatus]):
        pass

    with pytest.raises(TypeError, match="declares no kind"):
        crd_for(Undeclared)


def test_structural_schema_is_the_crds_openapi_schema() -> None:
    assert structural_schema(Widget) == openapi(Widget)

"""OpenAPI v2 and v3 documents: what kubectl apply, create, explain and patch rely on."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from controllerkit.apiserver.openapi import OpenAPIDocuments, definition_name, to_v2_schema
from controllerkit.apiserver.resources import JSONObject, Registry, ResourceType

WIDGET_SCHEMA: JSONObject = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "minimum": 1},
                "colour": {"type": "string", "enum": ["red", "blue"]},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "properties": {"data": {"type": "string"}}},
            },
        },
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}
CONFIGMAP = ResourceType("", "v1", "ConfigMap", "configmaps", "configmap", True,
                         strategic_merge=True, delete_returns_object=False)
NAMESPACE = ResourceType("", "v1", "Namespace", "namespaces", "namespace", False,
                         has_status=True)
WIDGET = ResourceType("example.com", "v1", "Widget", "widgets", "widget", True, has_status=True,
                      schema=WIDGET_SCHEMA, crd_name="widgets.example.com")
GADGET = ResourceType("example.com", "v1beta1", "Gadget", "gadgets", "gadget", False,
                      crd_name="gadgets.example.com", verbs=("get", "list", "watch"))


def documents(*types: ResourceType) -> tuple[Registry, OpenAPIDocuments]:
    registry = Registry()
    for rtype in types or (CONFIGMAP, NAMESPACE, WIDGET, GADGET):
        registry.add(rtype)
    return registry, OpenAPIDocuments(registry)


def v3(docs: OpenAPIDocuments, path: str) -> JSONObject:
    raw = docs.v3_document(path)
    assert raw is not None
    document: JSONObject = json.loads(raw)
    return document


def gvk(rtype: ResourceType, kind: str = "") -> dict[str, str]:
    return {"group": rtype.group, "version": rtype.version, "kind": kind or rtype.kind}


def operations(document: JSONObject) -> Iterator[tuple[str, str, JSONObject]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


# -- the v3 index and caching ------------------------------------------------------------------

def test_index_lists_every_group_version_with_the_hash_of_its_document() -> None:
    _registry, docs = documents()
    index = json.loads(docs.v3_index())
    assert set(index["paths"]) == {"api/v1", "apis/example.com/v1", "apis/example.com/v1beta1"}
    for path, entry in index["paths"].items():
        raw = docs.v3_document(path)
        assert raw is not None
        digest = hashlib.sha512(raw).hexdigest().upper()
        assert entry["serverRelativeURL"] == f"/openapi/v3/{path}?hash={digest}"
        assert docs.v3_hash(path) == digest


def test_documents_are_encoded_once_per_registry_generation() -> None:
    _registry, docs = documents()
    assert docs.v3_document("api/v1") is docs.v3_document("api/v1")
    assert docs.v3_index() is docs.v3_index()
    assert docs.v2() is docs.v2()


def test_hash_changes_when_a_type_of_the_group_version_changes() -> None:
    registry, docs = documents()
    before = json.loads(docs.v3_index())["paths"]
    changed = ResourceType("example.com", "v1", "Widget", "widgets", "widget", True,
                           has_status=True, schema={"type": "object"},
                           crd_name="widgets.example.com")
    registry.add(changed)
    after = json.loads(docs.v3_index())["paths"]
    assert after["apis/example.com/v1"] != before["apis/example.com/v1"]
    assert after["api/v1"] == before["api/v1"]


def test_removed_crd_group_versions_leave_the_index() -> None:
    registry, docs = documents()
    docs.v3_index()
    registry.remove_crd("gadgets.example.com")
    assert "apis/example.com/v1beta1" not in json.loads(docs.v3_index())["paths"]
    assert docs.v3_document("apis/example.com/v1beta1") is None


@pytest.mark.parametrize("path", [
    "apis/example.com/v2", "apis/other.io/v1", "api/v2", "api", "apis", "apis/example.com",
    "version", "apis/example.com/v1/widgets", "",
])
def test_unknown_group_version_has_no_document(path: str) -> None:
    _registry, docs = documents()
    assert docs.v3_document(path) is None
    assert docs.v3_hash(path) is None


def test_group_version_path_may_carry_slashes_around_it() -> None:
    _registry, docs = documents()
    assert docs.v3_document("/apis/example.com/v1/") == docs.v3_document("apis/example.com/v1")


# -- what kubectl looks for in v3 --------------------------------------------------------------

@pytest.mark.parametrize(("path", "rtype"), [
    ("api/v1", CONFIGMAP), ("api/v1", NAMESPACE), ("apis/example.com/v1", WIDGET),
])
def test_every_patch_operation_of_a_kind_declares_field_validation(
    path: str, rtype: ResourceType
) -> None:
    _registry, docs = documents()
    patches = [op for _path, method, op in operations(v3(docs, path))
               if method == "patch" and op["x-kubernetes-group-version-kind"] == gvk(rtype)]
    assert patches, "kubectl needs a PATCH operation tagged with the kind"
    for operation in patches:
        names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert {"fieldValidation", "fieldManager", "dryRun", "force"} <= names


def test_every_write_operation_declares_field_validation() -> None:
    _registry, docs = documents()
    for path, method, operation in operations(v3(docs, "apis/example.com/v1")):
        if method in ("post", "put", "patch"):
            names = [p["name"] for p in operation["parameters"]]
            assert "fieldValidation" in names, (path, method)


def test_explain_finds_the_kind_from_the_resource_path_and_its_schema_by_kind() -> None:
    _registry, docs = documents()
    document = v3(docs, "apis/example.com/v1")
    found = document["paths"]["/apis/example.com/v1/widgets"]["get"]
    assert found["x-kubernetes-group-version-kind"] == gvk(WIDGET)
    schemas = [s for s in document["components"]["schemas"].values()
               if gvk(WIDGET) in s.get("x-kubernetes-group-version-kind", [])]
    assert len(schemas) == 1
    assert schemas[0]["properties"]["spec"]["properties"]["size"]["minimum"] == 1


def test_cluster_scoped_types_have_no_namespace_paths() -> None:
    _registry, docs = documents()
    paths = set(v3(docs, "api/v1")["paths"])
    assert "/api/v1/namespaces" in paths
    assert "/api/v1/namespaces/{name}/status" in paths
    assert "/api/v1/namespaces/{namespace}/configmaps/{name}" in paths
    assert "/api/v1/configmaps" in paths
    assert "/api/v1/namespaces/{namespace}/namespaces" not in paths


def test_operations_follow_the_served_verbs() -> None:
    _registry, docs = documents()
    document = v3(docs, "apis/example.com/v1beta1")
    methods = {(path, method) for path, method, _op in operations(document)}
    assert methods == {("/apis/example.com/v1beta1/gadgets", "get"),
                       ("/apis/example.com/v1beta1/gadgets/{name}", "get")}


def test_status_paths_exist_only_with_the_status_subresource() -> None:
    _registry, docs = documents()
    paths = set(v3(docs, "api/v1")["paths"])
    assert "/api/v1/namespaces/{namespace}/configmaps/{name}/status" not in paths
    widget_paths = v3(docs, "apis/example.com/v1")["paths"]
    status = widget_paths["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/status"]
    assert set(status) == {"parameters", "get", "put", "patch"}


@pytest.mark.parametrize(("rtype", "expected"), [
    (CONFIGMAP, {"application/apply-patch+yaml", "application/json-patch+json",
                 "application/merge-patch+json", "application/strategic-merge-patch+json"}),
    (WIDGET, {"application/apply-patch+yaml", "application/json-patch+json",
              "application/merge-patch+json"}),
])
def test_patch_bodies_list_the_patch_types_the_kind_accepts(
    rtype: ResourceType, expected: set[str]
) -> None:
    _registry, docs = documents()
    path = "api/v1" if rtype.group == "" else "apis/example.com/v1"
    bodies = [set(op["requestBody"]["content"]) for _p, method, op in operations(v3(docs, path))
              if method == "patch" and op["x-kubernetes-group-version-kind"] == gvk(rtype)]
    assert bodies and all(body == expected for body in bodies)


@pytest.mark.parametrize(("path", "method", "operation_id"), [
    ("/api/v1/configmaps", "get", "listCoreV1ConfigMapForAllNamespaces"),
    ("/api/v1/namespaces/{namespace}/configmaps", "delete",
     "deleteCoreV1CollectionNamespacedConfigMap"),
    ("/api/v1/namespaces/{namespace}/configmaps/{name}", "put",
     "replaceCoreV1NamespacedConfigMap"),
    ("/api/v1/namespaces", "post", "createCoreV1Namespace"),
    ("/api/v1/namespaces/{name}/status", "patch", "patchCoreV1NamespaceStatus"),
])
def test_operation_ids_are_named_as_the_real_server_names_them(
    path: str, method: str, operation_id: str
) -> None:
    _registry, docs = documents()
    assert v3(docs, "api/v1")["paths"][path][method]["operationId"] == operation_id


def test_path_items_declare_their_path_parameters() -> None:
    _registry, docs = documents()
    item = v3(docs, "apis/example.com/v1")["paths"][
        "/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]
    declared = {(p["name"], p["in"], p.get("required", False)) for p in item["parameters"]}
    assert declared == {("name", "path", True), ("namespace", "path", True),
                        ("pretty", "query", False)}


# -- schemas -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("rtype", "kind", "name"), [
    (WIDGET, None, "com.example.v1.Widget"),
    (WIDGET, "WidgetList", "com.example.v1.WidgetList"),
    (CONFIGMAP, None, "io.k8s.api.core.v1.ConfigMap"),
    (ResourceType("batch", "v1", "Job", "jobs", "job", True), None, "io.k8s.api.batch.v1.Job"),
    (ResourceType("coordination.k8s.io", "v1", "Lease", "leases", "lease", True), None,
     "io.k8s.api.coordination.v1.Lease"),
    (ResourceType("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
                  "customresourcedefinitions", "customresourcedefinition", False), None,
     "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"),
])
def test_definition_names_follow_kubernetes(
    rtype: ResourceType, kind: str | None, name: str
) -> None:
    assert definition_name(rtype, kind) == name


def test_custom_resource_schema_gains_type_meta_and_object_meta() -> None:
    _registry, docs = documents()
    schema = v3(docs, "apis/example.com/v1")["components"]["schemas"]["com.example.v1.Widget"]
    assert set(schema["properties"]) == {"apiVersion", "kind", "metadata", "spec", "status"}
    assert schema["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    assert schema["x-kubernetes-group-version-kind"] == [gvk(WIDGET)]


def test_embedded_resources_gain_type_meta_and_object_meta() -> None:
    _registry, docs = documents()
    schema = v3(docs, "apis/example.com/v1")["components"]["schemas"]["com.example.v1.Widget"]
    template = schema["properties"]["spec"]["properties"]["template"]
    assert set(template["properties"]) == {"apiVersion", "kind", "metadata", "data"}
    assert template["required"] == ["kind", "apiVersion"]


def test_list_schema_holds_items_of_the_kind_and_list_meta() -> None:
    _registry, docs = documents()
    schema = v3(docs, "apis/example.com/v1")["components"]["schemas"][
        "com.example.v1.WidgetList"]
    assert schema["required"] == ["items"]
    assert schema["properties"]["items"]["items"] == {
        "$ref": "#/components/schemas/com.example.v1.Widget"}
    assert schema["x-kubernetes-group-version-kind"] == [gvk(WIDGET, "WidgetList")]


def test_type_without_schema_is_a_bare_object() -> None:
    _registry, docs = documents()
    schemas = v3(docs, "apis/example.com/v1beta1")["components"]["schemas"]
    assert schemas["com.example.v1beta1.Gadget"] == {
        "type": "object", "x-kubernetes-group-version-kind": [gvk(GADGET)]}


@pytest.mark.parametrize("path", ["api/v1", "apis/example.com/v1", "apis/example.com/v1beta1"])
def test_every_reference_resolves_within_its_document(path: str) -> None:
    _registry, docs = documents()
    document = v3(docs, path)
    prefix = "#/components/schemas/"
    for ref in refs(document):
        assert ref.startswith(prefix) and ref[len(prefix):] in document["components"]["schemas"]


def test_object_meta_carries_the_strategic_merge_keys_kubectl_apply_uses() -> None:
    _registry, docs = documents()
    meta = v3(docs, "api/v1")["components"]["schemas"][
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
    properties = meta["properties"]
    assert properties["labels"]["additionalProperties"]["type"] == "string"
    assert properties["ownerReferences"]["x-kubernetes-patch-merge-key"] == "uid"
    assert properties["ownerReferences"]["x-kubernetes-patch-strategy"] == "merge"
    assert properties["finalizers"]["x-kubernetes-patch-strategy"] == "merge"


def test_building_documents_leaves_the_type_schema_unchanged() -> None:
    before = copy.deepcopy(WIDGET_SCHEMA)
    _registry, docs = documents()
    docs.v3_document("apis/example.com/v1")
    docs.v2()
    assert before == WIDGET_SCHEMA


# -- v2 ----------------------------------------------------------------------------------------

def test_v2_is_swagger_with_definitions_and_paths_for_every_type() -> None:
    _registry, docs = documents()
    swagger = json.loads(docs.v2())
    assert swagger["swagger"] == "2.0"
    widget = swagger["definitions"]["com.example.v1.Widget"]
    assert widget["x-kubernetes-group-version-kind"] == [gvk(WIDGET)]
    assert widget["properties"]["metadata"]["$ref"] == (
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
    patch = swagger["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"][
        "patch"]
    assert {"name": "body", "in": "body", "required": True,
            "schema": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}} in (
        patch["parameters"])
    validation = [p for p in patch["parameters"] if p["name"] == "fieldValidation"]
    assert validation == [{"name": "fieldValidation", "in": "query", "type": "string",
                           "uniqueItems": True, "description": validation[0]["description"]}]
    assert "/api/v1/namespaces/{namespace}/configmaps" in swagger["paths"]


def test_v2_references_resolve_within_the_document() -> None:
    _registry, docs = documents()
    swagger = json.loads(docs.v2())
    for ref in refs(swagger):
        assert ref.removeprefix("#/definitions/") in swagger["definitions"], ref


def test_v2_publishes_a_root_keeping_unknown_fields_as_a_bare_object() -> None:
    loose = ResourceType("example.com", "v1", "Blob", "blobs", "blob", True,
                         crd_name="blobs.example.com",
                         schema={"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    _registry, docs = documents(loose)
    assert json.loads(docs.v2())["definitions"]["com.example.v1.Blob"] == {
        "type": "object", "x-kubernetes-group-version-kind": [gvk(loose)]}
    v3_schema = v3(docs, "apis/example.com/v1")["components"]["schemas"]["com.example.v1.Blob"]
    assert "metadata" in v3_schema["properties"]


@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": "string", "nullable": True, "description": "d"}, {"description": "d"}),
    ({"type": "object", "nullable": True, "properties": {"a": {"type": "string"}}}, {}),
    ({"x-kubernetes-int-or-string": True,
      "anyOf": [{"type": "integer"}, {"type": "string"}]},
     {"x-kubernetes-int-or-string": True}),
    ({"type": "string", "oneOf": [{"pattern": "a"}], "allOf": [{}], "not": {}},
     {"type": "string"}),
    ({"type": "object", "x-kubernetes-preserve-unknown-fields": True,
      "properties": {"a": {"type": "string"}}},
     {"x-kubernetes-preserve-unknown-fields": True}),
    ({"type": "array", "items": {"type": "object", "nullable": True}},
     {"type": "array", "items": {}}),
    ({"type": "array", "x-kubernetes-preserve-unknown-fields": True,
      "items": {"type": "string"}},
     {"x-kubernetes-preserve-unknown-fields": True}),
    ({"type": "object", "required": ["a", "b"],
      "properties": {"a": {"type": "string", "nullable": True}, "b": {"type": "string"}}},
     {"type": "object", "required": ["b"], "properties": {"a": {}, "b": {"type": "string"}}}),
    ({"type": "object", "required": ["a"],
      "properties": {"a": {"type": "string", "nullable": True}}},
     {"type": "object", "properties": {"a": {}}}),
    ({"type": "object", "required": ["x"],
      "additionalProperties": {"type": "string", "nullable": True}},
     {"type": "object", "additionalProperties": {}}),
    ({"type": "object", "properties": {"deep": {"type": "object", "properties": {
        "port": {"x-kubernetes-int-or-string": True, "type": "string"}}}}},
     {"type": "object", "properties": {"deep": {"type": "object", "properties": {
         "port": {"x-kubernetes-int-or-string": True}}}}}),
    ({"type": "integer", "minimum": 1, "default": 3, "x-kubernetes-validations": [{"rule": "1"}]},
     {"type": "integer", "minimum": 1, "default": 3, "x-kubernetes-validations": [{"rule": "1"}]}),
])
def test_v2_schemas_drop_what_swagger_2_cannot_express(
    schema: JSONObject, expected: JSONObject
) -> None:
    original = copy.deepcopy(schema)
    assert to_v2_schema(schema) == expected
    assert schema == original

"""OpenAPI documents: `/openapi/v2`, the `/openapi/v3` index and one v3 document per group-version.

kubectl reads them for three things. `apply`/`create` (default `--validate=strict`) look for a
PATCH operation tagged with the object's `x-kubernetes-group-version-kind` that declares a
`fieldValidation` query parameter; finding one, they leave validation to the server and send
`fieldValidation=Strict`. `explain` finds a resource's kind through the operations of its paths
and the schema through the components' `x-kubernetes-group-version-kind`. Client-side `apply` of
built-in kinds computes strategic-merge patches from the component schemas.

Schemas come from each type's openAPIV3Schema, with `apiVersion`, `kind` and a reference to
`ObjectMeta` added as the real server adds them for custom resources. The v2 document converts
what v2 cannot express as the real server does (`nullable`, junctors, int-or-string, unknown
fields). Documents are encoded once per registry generation; the v3 index points at each
document with `?hash=` of its content, so a client cache keyed by URL sees every change.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

from .codec import encode
from .discovery import version_info
from .resources import JSONObject, Registry, ResourceType

__all__ = ["OpenAPIDocuments", "definition_name", "to_v2_schema"]

V2_PREFIX = "#/definitions/"
V3_PREFIX = "#/components/schemas/"

LIST_META_DESCRIPTION = (
    "Standard list metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
OBJECT_META_DESCRIPTION = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


class OpenAPIDocuments:
    """The server's OpenAPI documents, encoded, rebuilt when `registry.generation` moves."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._generation = -1
        self._v2: bytes | None = None
        self._v3: dict[str, bytes] = {}
        self._v3_hashes: dict[str, str] = {}
        self._index: bytes | None = None

    def v2(self) -> bytes:
        """The swagger 2.0 document of every served type (JSON)."""
        self._refresh()
        if self._v2 is None:
            self._v2 = encode(self._build_v2())
        return self._v2

    def v3_index(self) -> bytes:
        """`{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=..."}, ...}}`."""
        self._refresh()
        if self._index is None:
            paths: dict[str, Any] = {}
            for path in self._group_version_paths():
                digest = self.v3_hash(path)
                paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
            self._index = encode({"paths": paths})
        return self._index

    def v3_document(self, group_version_path: str) -> bytes | None:
        """The v3 document of `api/v1` or `apis/<group>/<version>`; None when none is served."""
        self._refresh()
        path = group_version_path.strip("/")
        cached = self._v3.get(path)
        if cached is None:
            group_version = _parse_group_version_path(path)
            if group_version is None:
                return None
            types = self._registry.resources(*group_version)
            if not types:
                return None
            cached = self._v3[path] = encode(_build_v3(types))
            # Like the real server: an upper-case hex SHA-512 of the served bytes.
            self._v3_hashes[path] = hashlib.sha512(cached).hexdigest().upper()
        return cached

    def v3_hash(self, group_version_path: str) -> str | None:
        """The `hash` (and ETag) of a v3 document, or None when there is no such document."""
        path = group_version_path.strip("/")
        if self.v3_document(path) is None:
            return None
        return self._v3_hashes[path]

    def _refresh(self) -> None:
        if self._generation != self._registry.generation:
            self._generation = self._registry.generation
            self._v2, self._index = None, None
            self._v3.clear()
            self._v3_hashes.clear()

    def _group_version_paths(self) -> list[str]:
        paths: list[str] = []
        for group in self._registry.groups():
            for version in self._registry.versions(group):
                paths.append(f"apis/{group}/{version}" if group else f"api/{version}")
        return paths

    def _build_v2(self) -> JSONObject:
        paths: dict[str, Any] = {}
        definitions = meta_definitions(V2_PREFIX, v2=True)
        for rtype in self._registry:
            definitions.update(_resource_definitions(rtype, v2=True))
            paths.update(resource_paths(rtype, _definition_refs(rtype, V2_PREFIX), v2=True))
        return {
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": version_info()["gitVersion"]},
            "paths": dict(sorted(paths.items())),
            "definitions": dict(sorted(definitions.items())),
        }


def definition_name(rtype: ResourceType, kind: str | None = None) -> str:
    """The schema name of a kind: `com.example.v1.Widget`, `io.k8s.api.core.v1.ConfigMap`."""
    kind = kind or rtype.kind
    group = rtype.group
    if not rtype.is_custom:
        if group == "":
            return f"io.k8s.api.core.{rtype.version}.{kind}"
        if group == "apiextensions.k8s.io":
            return f"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{rtype.version}.{kind}"
        if group.endswith(".k8s.io") or "." not in group:
            return f"io.k8s.api.{group.split('.')[0]}.{rtype.version}.{kind}"
    reversed_group = ".".join(reversed(group.split(".")))
    return f"{reversed_group}.{rtype.version}.{kind}"


def to_v2_schema(schema: JSONObject) -> JSONObject:
    """An openAPIV3Schema made expressible in swagger 2.0, as the real server publishes CRDs.

    Junctors (`allOf`, `anyOf`, `oneOf`, `not`) go; a `nullable` node loses its type and
    structure (and is no longer required by its parent); a node preserving unknown fields loses
    its properties and items, and its `object` type; int-or-string and item-less arrays are
    left untyped. The input is not modified.
    """
    out = {key: value for key, value in schema.items()
           if key not in ("allOf", "anyOf", "oneOf", "not", "nullable")}
    if schema.get("nullable"):
        for key in ("type", "items", "properties"):
            out.pop(key, None)
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        out.pop("items", None)
        out.pop("properties", None)
        if out.get("type") == "object":
            del out["type"]
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
    properties = out.get("properties")
    if isinstance(properties, dict):
        out["properties"] = {name: to_v2_schema(child) if isinstance(child, dict) else child
                             for name, child in properties.items()}
        nullable = {name for name, child in properties.items()
                    if isinstance(child, dict) and child.get("nullable")}
        if nullable and "required" in out:
            out["required"] = [name for name in out["required"] if name not in nullable]
    for key in ("items", "additionalProperties"):
        if isinstance(out.get(key), dict):
            out[key] = to_v2_schema(out[key])
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict) and additional.get("nullable"):
        out.pop("required", None)
    if out.get("type") == "array" and "items" not in out:
        del out["type"]
    if out.get("required") == []:
        del out["required"]
    return out


def _build_v3(types: list[ResourceType]) -> JSONObject:
    paths: dict[str, Any] = {}
    schemas = meta_definitions(V3_PREFIX, v2=False)
    for rtype in types:
        schemas.update(_resource_definitions(rtype, v2=False))
        paths.update(resource_paths(rtype, _definition_refs(rtype, V3_PREFIX), v2=False))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": version_info()["gitVersion"]},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def _definition_refs(rtype: ResourceType, prefix: str) -> dict[str, str]:
    return {
        "object": prefix + definition_name(rtype),
        "list": prefix + definition_name(rtype, rtype.list_kind_name),
        "status": f"{prefix}{META}.Status",
        "delete_options": f"{prefix}{META}.DeleteOptions",
        "patch": f"{prefix}{META}.Patch",
    }


def _resource_definitions(rtype: ResourceType, *, v2: bool) -> dict[str, JSONObject]:
    prefix = V2_PREFIX if v2 else V3_PREFIX
    object_name = definition_name(rtype)
    list_schema: JSONObject = {
        "description": f"{rtype.list_kind_name} is a list of {rtype.kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            **type_meta_properties(),
            "items": {
                "description": f"List of {rtype.plural}. More info: https://git.k8s.io/"
                               "community/contributors/devel/sig-architecture/api-conventions.md",
                "type": "array",
                "items": {"$ref": prefix + object_name},
            },
            "metadata": ref_property(f"{prefix}{META}.ListMeta", LIST_META_DESCRIPTION, v2=v2),
        },
        "x-kubernetes-group-version-kind": [_gvk(rtype, rtype.list_kind_name)],
    }
    return {
        object_name: _object_schema(rtype, v2=v2),
        definition_name(rtype, rtype.list_kind_name): list_schema,
    }


def _object_schema(rtype: ResourceType, *, v2: bool) -> JSONObject:
    gvk = {"x-kubernetes-group-version-kind": [_gvk(rtype, rtype.kind)]}
    schema = rtype.schema
    # Without a schema, or (in v2) with unknown fields kept at the root, the real server
    # publishes a bare object: listing fields would make kubectl reject every other one.
    if schema is None or (v2 and schema.get("x-kubernetes-preserve-unknown-fields")):
        return {"type": "object", **gvk}
    converted = _with_embedded_meta(to_v2_schema(schema) if v2 else schema, v2=v2)
    properties = dict(converted.get("properties") or {})
    properties.update(type_meta_properties())
    properties["metadata"] = ref_property(
        f"{V2_PREFIX if v2 else V3_PREFIX}{META}.ObjectMeta", OBJECT_META_DESCRIPTION, v2=v2)
    return {**converted, "type": converted.get("type", "object"), "properties": properties,
            **gvk}


def _with_embedded_meta(schema: JSONObject, *, v2: bool) -> JSONObject:
    """Add apiVersion, kind and metadata to `x-kubernetes-embedded-resource` objects."""
    out = dict(schema)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {name: _with_embedded_meta(child, v2=v2)
                             for name, child in out["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(out.get(key), dict):
            out[key] = _with_embedded_meta(out[key], v2=v2)
    # In v2 an object keeping unknown fields must not list any, or kubectl rejects the rest.
    if not out.get("x-kubernetes-embedded-resource") or (
            v2 and out.get("x-kubernetes-preserve-unknown-fields")):
        return out
    prefix = V2_PREFIX if v2 else V3_PREFIX
    out["properties"] = {
        **(out.get("properties") or {}),
        **type_meta_properties(),
        "metadata": ref_property(f"{prefix}{META}.ObjectMeta", OBJECT_META_DESCRIPTION, v2=v2),
    }
    required = list(out.get("required") or [])
    out["required"] = required + [f for f in ("kind", "apiVersion") if f not in required]
    return out


def _gvk(rtype: ResourceType, kind: str) -> dict[str, str]:
    return {"group": rtype.group, "kind": kind, "version": rtype.version}


def _parse_group_version_path(path: str) -> tuple[str, str] | None:
    parts = path.split("/")
    if len(parts) == 2 and parts[0] == "api":
        return "", parts[1]
    if len(parts) == 3 and parts[0] == "apis" and parts[1]:
        return parts[1], parts[2]
    return None


# -- shared meta.k8s.io/v1 schemas --------------------------------------------------------------

META = "io.k8s.apimachinery.pkg.apis.meta.v1"


def ref_property(ref: str, description: str, *, v2: bool) -> JSONObject:
    """A described property holding a referenced schema, in each version's idiom."""
    if v2:
        return {"$ref": ref, "description": description}
    # OpenAPI 3.0 ignores siblings of `$ref`, so the real server wraps it in `allOf`.
    return {"allOf": [{"$ref": ref}], "description": description}


def type_meta_properties() -> dict[str, JSONObject]:
    return {
        "apiVersion": _string("APIVersion defines the versioned schema of this representation "
                              "of an object. Servers should convert recognized schemas to the "
                              "latest internal value, and may reject unrecognized values."),
        "kind": _string("Kind is a string value representing the REST resource this object "
                        "represents. Servers may infer this from the endpoint the client "
                        "submits requests to. Cannot be updated. In CamelCase."),
    }


def meta_definitions(prefix: str, *, v2: bool) -> dict[str, JSONObject]:
    """ObjectMeta, ListMeta, Status and what they reference, for one document's components."""

    def ref(name: str, description: str) -> JSONObject:
        return ref_property(f"{prefix}{META}.{name}", description, v2=v2)

    def array_of(name: str, description: str, **extensions: Any) -> JSONObject:
        return {"type": "array", "description": description,
                "items": {"$ref": f"{prefix}{META}.{name}"}, **extensions}

    read_only = " Populated by the system. Read-only."
    definitions: dict[str, JSONObject] = {
        "ObjectMeta": _object("ObjectMeta is metadata that all persisted resources must have.", {
            "annotations": _string_map("Unstructured key value map stored with a resource that "
                                       "tools may set to store arbitrary metadata."),
            "creationTimestamp": ref("Time", "The server time when this object was created, "
                                     "in RFC 3339 form and UTC." + read_only),
            "deletionGracePeriodSeconds": _integer(
                "Seconds allowed for this object to terminate gracefully before it is removed. "
                "Only set when deletionTimestamp is also set." + read_only),
            "deletionTimestamp": ref("Time", "When this resource will be deleted; set by the "
                                     "server when a deletion is requested." + read_only),
            "finalizers": {**_string_array("Must be empty before the object is deleted. Each "
                                           "entry names a component that will remove it."),
                           "x-kubernetes-list-type": "set",
                           "x-kubernetes-patch-strategy": "merge"},
            "generateName": _string("An optional prefix the server uses to generate a unique "
                                    "name when name is not set."),
            "generation": _integer("A sequence number representing a specific generation of "
                                   "the desired state." + read_only),
            "labels": _string_map("Map of string keys and values that can be used to "
                                  "organize and categorize (scope and select) objects."),
            "managedFields": array_of("ManagedFieldsEntry", "Which manager owns which fields "
                                      "(server-side apply).", **{"x-kubernetes-list-type":
                                                                  "atomic"}),
            "name": _string("Name must be unique within a namespace. Is required when creating "
                            "resources, unless generateName is set. Cannot be updated."),
            "namespace": _string("The space within which each name must be unique. Not all "
                                 "objects are scoped to a namespace. Cannot be updated."),
            "ownerReferences": array_of(
                "OwnerReference", "Objects this object depends on. When all of them have been "
                "deleted, this object is garbage collected.", **{
                    "x-kubernetes-list-map-keys": ["uid"], "x-kubernetes-list-type": "map",
                    "x-kubernetes-patch-merge-key": "uid",
                    "x-kubernetes-patch-strategy": "merge"}),
            "resourceVersion": _string("An opaque value identifying the internal version of "
                                       "this object, for concurrency control and watches."
                                       + read_only),
            "selfLink": _string("Deprecated: no longer populated by the system."),
            "uid": _string("The unique in time and space value for this object." + read_only),
        }),
        "ListMeta": _object("ListMeta describes metadata that synthetic resources must have.", {
            "continue": _string("Set when more results are available: pass it as `continue` "
                                "to fetch the next page."),
            "remainingItemCount": _integer("The number of items after this page, when known."),
            "resourceVersion": _string("The version of the collection this list was read at."),
            "selfLink": _string("Deprecated: no longer populated by the system."),
        }),
        "Time": {"type": "string", "format": "date-time",
                 "description": "An RFC 3339 date and time, in UTC."},
        "FieldsV1": {"type": "object", "description": "A set of fields as a trie, in JSON."},
        "OwnerReference": _object("Enough information to identify an owning object.", {
            "apiVersion": _string("API version of the referent."),
            "blockOwnerDeletion": _boolean("Whether the owner waits for this object's "
                                           "deletion in foreground deletion."),
            "controller": _boolean("Whether this reference points to the managing controller."),
            "kind": _string("Kind of the referent."),
            "name": _string("Name of the referent."),
            "uid": _string("UID of the referent."),
        }, required=["apiVersion", "kind", "name", "uid"], **{"x-kubernetes-map-type": "atomic"}),
        "ManagedFieldsEntry": _object("The fields one manager owns, and how they were set.", {
            "apiVersion": _string("The version of the resource the fields are for."),
            "fieldsType": _string("The format of fieldsV1; only FieldsV1."),
            "fieldsV1": ref("FieldsV1", "The owned fields."),
            "manager": _string("The identifier of the workflow managing these fields."),
            "operation": _string("Apply or Update: the operation that set these fields."),
            "subresource": _string("The subresource the fields were written through."),
            "time": ref("Time", "When the entry was last changed."),
        }),
        "Status": _object("Status is a return value for calls that don't return other objects.", {
            **type_meta_properties(),
            "code": _integer("Suggested HTTP return code for this status.", "int32"),
            "details": ref("StatusDetails", "Extended data associated with the reason."),
            "message": _string("A human-readable description of the status of this operation."),
            "metadata": ref("ListMeta", "Standard list metadata."),
            "reason": _string("A machine-readable description of why the operation failed."),
            "status": _string("Status of the operation: Success or Failure."),
        }, **{"x-kubernetes-group-version-kind": [
            {"group": "", "kind": "Status", "version": "v1"}]}),
        "StatusDetails": _object("Details of a failure, set by the server.", {
            "causes": array_of("StatusCause", "The causes of the failure.",
                               **{"x-kubernetes-list-type": "atomic"}),
            "group": _string("The group of the resource the status is about."),
            "kind": _string("The kind of the resource the status is about."),
            "name": _string("The name of the object the status is about."),
            "retryAfterSeconds": _integer("Seconds to wait before retrying.", "int32"),
            "uid": _string("The UID of the object the status is about."),
        }),
        "StatusCause": _object("One cause of a failure, often a field.", {
            "field": _string("The field of the resource that caused the failure."),
            "message": _string("A human-readable description of the cause."),
            "reason": _string("A machine-readable description of the cause."),
        }),
        "DeleteOptions": _object("Options for a delete request.", {
            **type_meta_properties(),
            "dryRun": _string_array("When present, modifications are not persisted."),
            "gracePeriodSeconds": _integer("Seconds before the object should be deleted."),
            "orphanDependents": _boolean("Deprecated: use propagationPolicy."),
            "preconditions": ref("Preconditions", "Must be fulfilled before the deletion."),
            "propagationPolicy": _string("Orphan, Background or Foreground."),
        }),
        "Preconditions": _object("Conditions a write requires of the current object.", {
            "resourceVersion": _string("The required resourceVersion."),
            "uid": _string("The required UID."),
        }),
        "Patch": {"type": "object", "description": "The body of a PATCH request."},
    }
    return {f"{META}.{name}": schema for name, schema in definitions.items()}


def _object(description: str, properties: dict[str, JSONObject], **extra: Any) -> JSONObject:
    return {"description": description, "type": "object", "properties": properties, **extra}


def _string(description: str) -> JSONObject:
    return {"type": "string", "description": description}


def _integer(description: str, number_format: str = "int64") -> JSONObject:
    return {"type": "integer", "format": number_format, "description": description}


def _boolean(description: str) -> JSONObject:
    return {"type": "boolean", "description": description}


def _string_map(description: str) -> JSONObject:
    return {"type": "object", "description": description,
            "additionalProperties": {"type": "string", "default": ""}}


def _string_array(description: str) -> JSONObject:
    return {"type": "array", "description": description,
            "items": {"type": "string", "default": ""}}


# -- paths and operations ----------------------------------------------------------------------

_QUERY_PARAMETERS: dict[str, tuple[str, str]] = {
    "pretty": ("string", "If 'true', then the output is pretty printed."),
    "dryRun": ("string", "When present, modifications are not persisted. The only valid "
                         "value is All."),
    "fieldManager": ("string", "The name of the actor or entity making these changes; "
                               "required for apply patches."),
    "fieldValidation": ("string", "How the server treats unknown and duplicate fields in the "
                                  "request: Ignore, Warn or Strict. The server checks them."),
    "force": ("boolean", "Apply patches only: take ownership of fields other managers own."),
    "allowWatchBookmarks": ("boolean", "Watch only: send BOOKMARK events."),
    "continue": ("string", "The token of the next page of a list."),
    "fieldSelector": ("string", "Select objects by fields (metadata.name, "
                                "metadata.namespace)."),
    "labelSelector": ("string", "Select objects by labels."),
    "limit": ("integer", "The maximum number of objects in one page of a list."),
    "resourceVersion": ("string", "The resourceVersion a read or watch starts from."),
    "resourceVersionMatch": ("string", "How resourceVersion applies to a list."),
    "sendInitialEvents": ("boolean", "Watch only: start with the current objects."),
    "timeoutSeconds": ("integer", "Close the list or watch call after this long."),
    "watch": ("boolean", "Watch for changes instead of listing."),
    "gracePeriodSeconds": ("integer", "Seconds before the object should be deleted."),
    "orphanDependents": ("boolean", "Deprecated: use propagationPolicy."),
    "propagationPolicy": ("string", "Orphan, Background or Foreground garbage collection."),
}
_LIST = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
         "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds",
         "watch")
_DELETE = ("dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy")
_WRITE = ("dryRun", "fieldManager", "fieldValidation")
_RESPONSE_TEXT = {200: "OK", 201: "Created", 202: "Accepted"}
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                "application/merge-patch+json")


class _Route(NamedTuple):
    path: str
    method: str
    action: str  # x-kubernetes-action
    verb: str  # what the operation id starts with
    subject: str  # the rest of the operation id: NamespacedWidget, WidgetForAllNamespaces, ...
    description: str
    query: tuple[str, ...]
    body: str  # "", "object", "patch" or "delete_options"
    response: str  # "object", "list" or "status"
    codes: tuple[int, ...]


def resource_paths(rtype: ResourceType, refs: dict[str, str], *, v2: bool) -> dict[str, Any]:
    """The path items serving a type, each operation tagged with its kind."""
    group_id = _operation_id_part(rtype.group.removesuffix(".k8s.io") or "core", capitalize=True)
    operation_prefix = group_id + _operation_id_part(rtype.version, capitalize=True)
    tag = f"{_operation_id_part(rtype.group.removesuffix('.k8s.io') or 'core')}_{rtype.version}"
    paths: dict[str, Any] = {}
    for route in _routes(rtype):
        operation: JSONObject = {
            "description": route.description,
            "operationId": f"{route.verb}{operation_prefix}{route.subject}",
            "tags": [tag],
            "x-kubernetes-action": route.action,
            "x-kubernetes-group-version-kind": {
                "group": rtype.group, "kind": rtype.kind, "version": rtype.version},
        }
        render = _v2_operation if v2 else _v3_operation
        render(operation, rtype, refs, route.query, route.body, refs[route.response],
               (200, *route.codes))
        path_item = paths.setdefault(
            route.path, {"parameters": _path_parameters(route.path, rtype.kind, v2=v2)})
        path_item[route.method] = operation
    return paths


def _routes(rtype: ResourceType) -> list[_Route]:
    prefix = f"/apis/{rtype.group}/{rtype.version}" if rtype.group else f"/api/{rtype.version}"
    scoped = "Namespaced" + rtype.kind if rtype.namespaced else rtype.kind
    collection = f"{prefix}{'/namespaces/{namespace}' if rtype.namespaced else ''}/{rtype.plural}"
    item, kind = collection + "/{name}", rtype.kind
    article = "an" if kind[:1] in "AEIOU" else "a"
    patch_query = (*_WRITE, "force")
    verbs = set(rtype.verbs)
    routes: list[_Route] = []
    if "list" in verbs:
        if rtype.namespaced:
            routes.append(_Route(f"{prefix}/{rtype.plural}", "get", "list", "list",
                                 f"{kind}ForAllNamespaces", f"list or watch objects of kind "
                                 f"{kind}", _LIST, "", "list", ()))
        routes.append(_Route(collection, "get", "list", "list", scoped,
                             f"list or watch objects of kind {kind}", _LIST, "", "list", ()))
    if "create" in verbs:
        routes.append(_Route(collection, "post", "post", "create", scoped,
                             f"create {article} {kind}", _WRITE, "object", "object", (201, 202)))
    if "deletecollection" in verbs:
        routes.append(_Route(collection, "delete", "deletecollection", "delete",
                             "Collection" + scoped, f"delete collection of {kind}",
                             _LIST + _DELETE, "delete_options", "status", ()))
    if "get" in verbs:
        routes.append(_Route(item, "get", "get", "read", scoped, f"read the specified {kind}",
                             (), "", "object", ()))
    if "update" in verbs:
        routes.append(_Route(item, "put", "put", "replace", scoped,
                             f"replace the specified {kind}", _WRITE, "object", "object",
                             (201,)))
    if "patch" in verbs:
        routes.append(_Route(item, "patch", "patch", "patch", scoped,
                             f"partially update the specified {kind}", patch_query, "patch",
                             "object", (201,)))
    if "delete" in verbs:
        routes.append(_Route(item, "delete", "delete", "delete", scoped,
                             f"delete {article} {kind}", _DELETE, "delete_options", "object",
                             (202,)))
    if rtype.has_status:
        status = item + "/status"
        routes += [
            _Route(status, "get", "get", "read", scoped + "Status",
                   f"read status of the specified {kind}", (), "", "object", ()),
            _Route(status, "put", "put", "replace", scoped + "Status",
                   f"replace status of the specified {kind}", _WRITE, "object", "object",
                   (201,)),
            _Route(status, "patch", "patch", "patch", scoped + "Status",
                   f"partially update status of the specified {kind}", patch_query, "patch",
                   "object", (201,)),
        ]
    return routes


def _v3_operation(operation: JSONObject, rtype: ResourceType, refs: dict[str, str],
                  query: tuple[str, ...], body: str, response_ref: str,
                  codes: tuple[int, ...]) -> None:
    if query:
        operation["parameters"] = [_parameter(name, "query", v2=False) for name in query]
    if body == "patch":
        types = (*_PATCH_TYPES, "application/strategic-merge-patch+json") if (
            rtype.strategic_merge) else _PATCH_TYPES
        operation["requestBody"] = {"required": True, "content": {
            media: {"schema": {"$ref": refs["patch"]}} for media in types}}
    elif body:
        operation["requestBody"] = {"required": body == "object", "content": {
            "*/*": {"schema": {"$ref": refs[body]}}}}
    content = {"application/json": {"schema": {"$ref": response_ref}}}
    operation["responses"] = {
        **{str(code): {"description": _RESPONSE_TEXT[code], "content": content}
           for code in codes},
        "401": {"description": "Unauthorized"},
    }


def _v2_operation(operation: JSONObject, rtype: ResourceType, refs: dict[str, str],
                  query: tuple[str, ...], body: str, response_ref: str,
                  codes: tuple[int, ...]) -> None:
    parameters = [_parameter(name, "query", v2=True) for name in query]
    if body:
        parameters.insert(0, {"name": "body", "in": "body", "required": body != "delete_options",
                              "schema": {"$ref": refs[body]}})
    if parameters:
        operation["parameters"] = parameters
    if body == "patch":
        operation["consumes"] = list(_PATCH_TYPES) + (
            ["application/strategic-merge-patch+json"] if rtype.strategic_merge else [])
    else:
        operation["consumes"] = ["*/*"]
    operation["produces"] = ["application/json"]
    operation["schemes"] = ["https"]
    operation["responses"] = {
        **{str(code): {"description": _RESPONSE_TEXT[code], "schema": {"$ref": response_ref}}
           for code in codes},
        "401": {"description": "Unauthorized"},
    }


def _path_parameters(path: str, kind: str, *, v2: bool) -> list[JSONObject]:
    parameters: list[JSONObject] = []
    if "{name}" in path:
        parameters.append(_parameter("name", "path", v2=v2, description=f"name of the {kind}"))
    if "{namespace}" in path:
        parameters.append(_parameter("namespace", "path", v2=v2, description=(
            "object name and auth scope, such as for teams and projects")))
    parameters.append(_parameter("pretty", "query", v2=v2))
    return parameters


def _parameter(name: str, location: str, *, v2: bool, description: str = "") -> JSONObject:
    kind, text = _QUERY_PARAMETERS.get(name, ("string", description))
    parameter: JSONObject = {"name": name, "in": location, "description": description or text}
    if location == "path":
        parameter["required"] = True
    if v2:
        return {**parameter, "type": kind, "uniqueItems": True}
    return {**parameter, "schema": {"type": kind, "uniqueItems": True}}


def _operation_id_part(text: str, *, capitalize: bool = False) -> str:
    """Letters and digits of `text`, camel-cased at each separator (`example.com` → exampleCom)."""
    out: list[str] = []
    upper = capitalize
    for position, char in enumerate(text):
        if char.isalpha() or char == "_" or (position and char.isdigit()):
            out.append(char.upper() if upper else char)
            upper = False
        else:
            upper = True
    return "".join(out)

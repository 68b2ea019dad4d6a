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
from typing import Any

from .codec import encode
from .discovery import version_info
from .openapi_meta import META, meta_definitions, ref_property, type_meta_properties
from .openapi_paths import resource_paths
from .openapi_protobuf import encode_swagger_document
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
        self._v2_protobuf: bytes | None = None
        self._v3: dict[str, bytes] = {}
        self._v3_hashes: dict[str, str] = {}
        self._index: bytes | None = None

    def v2(self) -> bytes:
        """The swagger 2.0 document of every served type (JSON)."""
        self._refresh()
        if self._v2 is None:
            self._v2 = encode(self._build_v2())
        return self._v2

    def v2_protobuf(self) -> bytes:
        """The same document as gnostic's `openapi.v2.Document` protobuf message."""
        self._refresh()
        if self._v2_protobuf is None:
            self._v2_protobuf = encode_swagger_document(self._build_v2())
        return self._v2_protobuf

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
            self._v2, self._v2_protobuf, self._index = None, None, None
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
    if v2 and not rtype.is_custom and _keeps_unknown_fields({"properties": properties}):
        # kubectl computes client-side apply patches of built-in kinds from the v2 schema
        # found by this tag, and crashes on a field whose structure is not described; untagged,
        # it uses its compiled-in types, as for a server without the document.
        gvk = {}
    return {**converted, "type": converted.get("type", "object"), "properties": properties,
            **gvk}


def _keeps_unknown_fields(schema: JSONObject) -> bool:
    """Whether any node of `schema` keeps fields it does not describe."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return True
    children = list((schema.get("properties") or {}).values())
    children += [schema[key] for key in ("items", "additionalProperties")
                 if isinstance(schema.get(key), dict)]
    return any(isinstance(child, dict) and _keeps_unknown_fields(child) for child in children)


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

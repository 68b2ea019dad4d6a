"""Checks that a CRD version's `openAPIV3Schema` is one the real server accepts.

Three families of checks, reported in the real server's words:

- OpenAPI restrictions: no `$ref`, `id`, `patternProperties`, `uniqueItems: true`, ...;
  `properties` and `additionalProperties` are mutually exclusive; list and map types.
- Structural-schema rules: every field and array item has a `type` (unless
  `x-kubernetes-int-or-string` or `x-kubernetes-preserve-unknown-fields`), the root is an
  object, `anyOf`/`allOf`/`oneOf`/`not` only carry value validations over fields that are
  also declared outside them, root `metadata` may only restrict `name` and `generateName`.
- Defaults: allowed outside of the root's `apiVersion`, `kind` and `metadata`, free of
  unknown fields, and valid against their own schema. They are only checked once the
  schema is structural, as the real server does.
"""

from __future__ import annotations

from typing import Any

from controllerkit.apiserver import field_errors as fe
from controllerkit.apiserver.crd_structural import structural_causes
from controllerkit.apiserver.errors import Cause
from controllerkit.apiserver.resources import JSONObject
from controllerkit.apiserver.schema import validate_value
from controllerkit.apiserver.schema_pruning import prune_value

_OPENAPI_TYPES = ["array", "boolean", "integer", "number", "object", "string"]
_META_FIELDS = ("apiVersion", "kind", "metadata")
# Root keywords allowed with a status subresource, as the real server lists them.
_ROOT_KEYWORDS_WITH_STATUS = {
    "description": "Description", "type": "Type", "format": "Format", "title": "Title",
    "maximum": "Maximum", "exclusiveMaximum": "ExclusiveMaximum", "minimum": "Minimum",
    "exclusiveMinimum": "ExclusiveMinimum", "maxLength": "MaxLength", "minLength": "MinLength",
    "pattern": "Pattern", "maxItems": "MaxItems", "minItems": "MinItems",
    "uniqueItems": "UniqueItems", "multipleOf": "MultipleOf", "required": "Required",
    "items": "Items", "properties": "Properties", "externalDocs": "ExternalDocs",
    "example": "Example", "x-kubernetes-preserve-unknown-fields": "XPreserveUnknownFields",
    "x-kubernetes-validations": "XValidations",
}


def crd_schema_causes(schema: Any, path: str, *, status_enabled: bool) -> list[Cause]:
    """Every reason the real server would refuse `schema` as a version's openAPIV3Schema.

    `path` names the schema in the CRD (`spec.versions[0].schema.openAPIV3Schema`).
    """
    if not isinstance(schema, dict):
        return [fe.invalid(path, schema, "must be an object")]
    causes: list[Cause] = []
    if status_enabled:
        causes.extend(_root_with_status_causes(schema, path))
    if schema.get("nullable"):
        causes.append(fe.forbidden(f"{path}.nullable", "nullable cannot be true at the root"))
    structural = structural_causes(schema, path)
    causes.extend(structural)
    openapi = _openapi_causes(schema, path, is_root=True, default_forbidden_reason=None,
                              inside_resource_meta=False)
    causes.extend(openapi)
    if not structural and not openapi:
        causes.extend(_default_causes(schema, path, is_resource_root=True))
    return causes


def _root_with_status_causes(schema: JSONObject, path: str) -> list[Cause]:
    for keyword, value in schema.items():
        if value in (None, False, "", [], {}):
            continue
        if keyword == "type":
            if value != "object":
                return [fe.invalid(f"{path}.type", value,
                                   'only "object" is allowed as the type at the root of the '
                                   "schema if the status subresource is enabled")]
            continue
        if keyword not in _ROOT_KEYWORDS_WITH_STATUS:
            allowed = " ".join(_ROOT_KEYWORDS_WITH_STATUS.values())
            return [fe.invalid(path, schema, f"only [{allowed}] fields are allowed at the root "
                                             f"of the schema if the status subresource is "
                                             f"enabled")]
    return []


def _openapi_causes(
    schema: JSONObject, path: str, *, is_root: bool, default_forbidden_reason: str | None,
    inside_resource_meta: bool,
) -> list[Cause]:
    causes = _keyword_causes(schema, path, default_forbidden_reason, inside_resource_meta)
    properties = schema.get("properties")
    additional = schema.get("additionalProperties")
    if additional is not None:
        if properties and (additional is False or isinstance(additional, dict)):
            causes.append(fe.forbidden(f"{path}.additionalProperties",
                                       "additionalProperties and properties are mutual "
                                       "exclusive"))
        if isinstance(additional, dict):
            reason = ("inside additionalProperties applying to object metadata"
                      if inside_resource_meta else default_forbidden_reason)
            causes.extend(_openapi_causes(additional, f"{path}.additionalProperties",
                                          is_root=False, default_forbidden_reason=reason,
                                          inside_resource_meta=inside_resource_meta))
    if isinstance(properties, dict):
        for name, sub in properties.items():
            if not isinstance(sub, dict):
                continue
            reason, inside_meta = default_forbidden_reason, inside_resource_meta
            if (is_root or schema.get("x-kubernetes-embedded-resource")) and name in _META_FIELDS:
                inside_meta = True
                if is_root:
                    reason = f"in top-level {name}"
            causes.extend(_openapi_causes(sub, f"{path}.properties[{name}]", is_root=False,
                                          default_forbidden_reason=reason,
                                          inside_resource_meta=inside_meta))
    for junctor in ("allOf", "oneOf", "anyOf"):
        for position, sub in enumerate(schema.get(junctor) or []):
            if isinstance(sub, dict):
                causes.extend(_openapi_causes(sub, f"{path}.{junctor}[{position}]",
                                              is_root=False,
                                              default_forbidden_reason=default_forbidden_reason,
                                              inside_resource_meta=inside_resource_meta))
    for single in ("not", "items"):
        sub = schema.get(single)
        if isinstance(sub, dict):
            causes.extend(_openapi_causes(sub, f"{path}.{single}", is_root=False,
                                          default_forbidden_reason=default_forbidden_reason,
                                          inside_resource_meta=inside_resource_meta))
    causes.extend(_list_and_map_type_causes(schema, path))
    return causes


def _keyword_causes(
    schema: JSONObject, path: str, default_forbidden_reason: str | None,
    inside_resource_meta: bool,
) -> list[Cause]:
    causes: list[Cause] = []
    schema_type = schema.get("type")
    if schema_type and schema_type not in _OPENAPI_TYPES and schema_type != "null":
        causes.append(fe.not_supported(f"{path}.type", schema_type, _OPENAPI_TYPES))
    if schema.get("default") is not None and default_forbidden_reason is not None:
        causes.append(fe.forbidden(f"{path}.default",
                                   f"must not be set {default_forbidden_reason}"))
    for keyword, detail in _UNSUPPORTED_KEYWORDS:
        if schema.get(keyword) not in (None, "", {}, []):
            causes.append(fe.forbidden(f"{path}.{keyword}", detail))
    if schema_type == "null":
        causes.append(fe.forbidden(f"{path}.type",
                                   "type cannot be set to null, use nullable as an alternative"))
    if isinstance(schema.get("items"), list):
        causes.append(fe.forbidden(f"{path}.items",
                                   "items must be a schema object and not an array"))
    if inside_resource_meta and schema.get("x-kubernetes-embedded-resource"):
        causes.append(fe.forbidden(f"{path}.x-kubernetes-embedded-resource",
                                   "must not be used inside of resource meta"))
    if schema.get("uniqueItems") is True:
        causes.append(fe.forbidden(f"{path}.uniqueItems",
                                   "uniqueItems cannot be set to true since the runtime "
                                   "complexity becomes quadratic"))
    if schema.get("x-kubernetes-preserve-unknown-fields") is False:
        causes.append(fe.invalid(f"{path}.x-kubernetes-preserve-unknown-fields", False,
                                 "must be true or undefined"))
    return causes


_UNSUPPORTED_KEYWORDS = (
    ("id", "id is not supported"),
    ("additionalItems", "additionalItems is not supported"),
    ("patternProperties", "patternProperties is not supported"),
    ("definitions", "definitions is not supported"),
    ("dependencies", "dependencies is not supported"),
    ("$ref", "$ref is not supported"),
)


def _list_and_map_type_causes(schema: JSONObject, path: str) -> list[Cause]:
    causes: list[Cause] = []
    schema_type = schema.get("type") or ""
    map_type = schema.get("x-kubernetes-map-type")
    if map_type is not None:
        if schema_type != "object":
            causes.append(_must_be(path, schema_type, "object", "x-kubernetes-map-type"))
        if map_type not in ("atomic", "granular"):
            causes.append(fe.not_supported(f"{path}.x-kubernetes-map-type", map_type,
                                           ["atomic", "granular"]))
    list_type = schema.get("x-kubernetes-list-type")
    if list_type is not None:
        if schema_type != "array":
            causes.append(_must_be(path, schema_type, "array", "x-kubernetes-list-type"))
        if list_type not in ("atomic", "set", "map"):
            causes.append(fe.not_supported(f"{path}.x-kubernetes-list-type", list_type,
                                           ["atomic", "set", "map"]))
    map_keys = schema.get("x-kubernetes-list-map-keys") or []
    if map_keys and list_type != "map":
        if list_type is None:
            causes.append(fe.required(f"{path}.x-kubernetes-list-type",
                                      "must be map if x-kubernetes-list-map-keys is non-empty"))
        else:
            causes.append(fe.invalid(f"{path}.x-kubernetes-list-type", list_type,
                                     "must be map if x-kubernetes-list-map-keys is non-empty"))
    if list_type == "map":
        causes.extend(_map_list_causes(schema, path, map_keys))
    return causes


def _must_be(path: str, schema_type: str, wanted: str, extension: str) -> Cause:
    detail = f"must be {wanted} if {extension} is specified"
    if not schema_type:
        return fe.required(f"{path}.type", detail)
    return fe.invalid(f"{path}.type", schema_type, detail)


def _map_list_causes(schema: JSONObject, path: str, map_keys: list[str]) -> list[Cause]:
    causes: list[Cause] = []
    if not map_keys:
        causes.append(fe.required(f"{path}.x-kubernetes-list-map-keys",
                                  "must not be empty if x-kubernetes-list-type is map"))
    items = schema.get("items")
    if not isinstance(items, dict):
        causes.append(fe.required(f"{path}.items",
                                  "must have a schema if x-kubernetes-list-type is map"))
        return causes
    if items.get("type") != "object":
        causes.append(fe.invalid(f"{path}.items.type", items.get("type") or "",
                                 "must be object if parent array's x-kubernetes-list-type is "
                                 "map"))
        return causes
    item_properties = items.get("properties") or {}
    required = set(items.get("required") or [])
    for name in map_keys:
        key_schema = item_properties.get(name)
        if key_schema is None:
            causes.append(fe.invalid(f"{path}.x-kubernetes-list-map-keys", map_keys,
                                     "entries must all be names of item properties"))
            continue
        if key_schema.get("type") in ("array", "object"):
            causes.append(fe.invalid(f"{path}.items.properties[{name}].type", "object",
                                     "must be a scalar type if parent array's "
                                     "x-kubernetes-list-type is map"))
        if name not in required and key_schema.get("default") is None:
            causes.append(fe.required(f"{path}.items.properties[{name}].default",
                                      "this property is in x-kubernetes-list-map-keys, so it "
                                      "must have a default or be a required property"))
        if key_schema.get("nullable"):
            causes.append(fe.forbidden(f"{path}.items.properties[{name}].nullable",
                                       "this property is in x-kubernetes-list-map-keys, so it "
                                       "cannot be nullable"))
    if len(set(map_keys)) != len(map_keys):
        causes.append(fe.invalid(f"{path}.x-kubernetes-list-map-keys", map_keys,
                                 "must not contain duplicate entries"))
    return causes


def _default_causes(schema: JSONObject, path: str, *, is_resource_root: bool) -> list[Cause]:
    causes: list[Cause] = []
    default = schema.get("default")
    if default is not None and not is_resource_root:
        default_path = f"{path}.default"
        if prune_value(default, schema) != default:
            causes.append(fe.invalid(default_path, default, "must not have unknown fields"))
        else:
            for cause in validate_value(default, schema):
                field = default_path if cause.field == "<nil>" else f"{default_path}.{cause.field}"
                causes.append(Cause(cause.reason, cause.message, field))
    items = schema.get("items")
    if isinstance(items, dict):
        causes.extend(_default_causes(items, f"{path}.items", is_resource_root=False))
    embedded = is_resource_root or bool(schema.get("x-kubernetes-embedded-resource"))
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict) and not (embedded and name in _META_FIELDS):
            causes.extend(_default_causes(sub, f"{path}.properties[{name}]",
                                          is_resource_root=False))
    return causes

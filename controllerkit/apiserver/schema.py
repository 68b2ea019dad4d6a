"""Validation of objects against CRD-style OpenAPI v3 structural schemas.

`validate` walks an object and its `openAPIV3Schema` together and reports every failure as a
`Cause` worded as the real server words it: the field path (`spec.replicas`), the reason
(`FieldValueTypeInvalid`, `FieldValueRequired`, ...) and messages such as
`Invalid value: "string": spec.replicas in body must be of type integer: "string"`.

The checks follow the real server's validator: every keyword is checked independently, so
one bad value can yield several causes (a wrong type and a failed `enum`, say); `minLength`,
`maxLength` and `pattern` stop at the first failure; `minProperties`/`maxProperties`
failures hide the rest of that object's checks. A failure that names no field (the
`anyOf`/`oneOf`/`allOf`/`not` summaries, or a failure of the root itself) has the field
`<nil>`, as the real server reports it.

Pruning, defaulting and strict field checks live in `schema_pruning` and
`schema_defaulting` and are re-exported here. The real server's order on a write is:
prune unknown fields, apply defaults, then validate.
"""

from __future__ import annotations

import math
import re
from typing import Any

from controllerkit.apiserver import field_errors as fe
from controllerkit.apiserver.errors import Cause
from controllerkit.apiserver.json_values import canonical_json, go_json, has_duplicates
from controllerkit.apiserver.name_formats import dns1035_label_errors
from controllerkit.apiserver.resources import JSONObject
from controllerkit.apiserver.schema_defaulting import apply_defaults
from controllerkit.apiserver.schema_formats import format_matches, go_regex, is_known_string_format
from controllerkit.apiserver.schema_listtypes import list_type_causes
from controllerkit.apiserver.schema_pruning import (
    prune,
    strict_decoding_error,
    unknown_field_warnings,
    unknown_fields,
)

__all__ = [
    "apply_defaults",
    "go_regex",
    "json_type",
    "prune",
    "strict_decoding_error",
    "unknown_field_warnings",
    "unknown_fields",
    "validate",
    "validate_value",
]

# Fields at the root of every object that the schema does not govern: the server validates
# and fills them itself.
ROOT_META_FIELDS = frozenset({"apiVersion", "kind", "metadata"})

_NO_FIELD = "<nil>"


def validate(obj: Any, schema: JSONObject) -> list[Cause]:
    """All schema violations of `obj`, in a stable order, without duplicates.

    At the root, `apiVersion`, `kind` and `metadata` are not validated against the schema
    (metadata is checked by `metadata_validation`), including anything the schema says
    about `metadata.name`. Objects marked `x-kubernetes-embedded-resource` must carry a
    valid `apiVersion` and `kind`; `x-kubernetes-list-type` `set`/`map` lists must not
    repeat items or keys.
    """
    causes: list[Cause] = []
    _validate_node(obj, schema, "", causes, at_root=True)
    causes.extend(list_type_causes(obj, schema))
    return fe.dedupe(causes)


def validate_value(value: Any, schema: JSONObject) -> list[Cause]:
    """Violations of a nested value (not a whole object) against its schema.

    Paths are relative to the value: `foo.bar`, or `<nil>` for the value itself.
    """
    causes: list[Cause] = []
    _validate_node(value, schema, "", causes)
    return fe.dedupe(causes)


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value, as the schema's `type` keyword spells it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _validate_node(
    value: Any, schema: JSONObject, path: str, out: list[Cause], *, at_root: bool = False,
) -> None:
    types = _schema_types(schema)
    if value is None:
        if types and not schema.get("nullable"):
            out.append(_type_cause(path, types, "null"))
        if "enum" in schema:
            out.append(_enum_cause(path, value, schema["enum"]))
        return
    if types:
        actual = json_type(value)
        if not _type_matches(value, actual, types):
            out.append(_type_cause(path, types, actual))
    if "allOf" in schema or "anyOf" in schema or "oneOf" in schema or "not" in schema:
        _validate_junctors(value, schema, path, out, at_root)
    if isinstance(value, str):
        _validate_string(value, schema, path, out)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _validate_number(value, schema, path, out)
    elif isinstance(value, list):
        _validate_array(value, schema, path, out)
    if "enum" in schema and not _in_enum(value, schema["enum"]):
        out.append(_enum_cause(path, value, schema["enum"]))
    if isinstance(value, dict):
        _validate_object(value, schema, path, out, at_root)
        if schema.get("x-kubernetes-embedded-resource"):
            _validate_embedded_type_meta(value, path, out)


def _schema_types(schema: JSONObject) -> tuple[str, ...]:
    if schema.get("x-kubernetes-int-or-string"):
        return ("integer", "string")
    declared = schema.get("type")
    return (declared,) if isinstance(declared, str) and declared else ()


def _type_matches(value: Any, actual: str, types: tuple[str, ...]) -> bool:
    if actual in types:
        return True
    if actual == "integer":
        return "number" in types
    # JSON numbers written with a fraction of zero (`2.0`) count as integers.
    return actual == "number" and "integer" in types and float(value).is_integer()


def _type_cause(path: str, types: tuple[str, ...], actual: str) -> Cause:
    expected = ",".join(types)
    detail = f"{path} in body must be of type {expected}: {fe.go_quote(actual)}"
    return fe.type_invalid(path or _NO_FIELD, actual, detail)


def _validate_string(value: str, schema: JSONObject, path: str, out: list[Cause]) -> None:
    field = path or _NO_FIELD
    max_length = schema.get("maxLength")
    if max_length is not None and len(value) > max_length:
        out.append(fe.too_long(field, int(max_length)))
        return
    min_length = schema.get("minLength")
    if min_length is not None and len(value) < min_length:
        out.append(fe.invalid(field, value, f"{path} in body should be at least {min_length} "
                                            f"chars long"))
        return
    pattern = schema.get("pattern")
    if pattern:
        try:
            matched = go_regex(pattern).search(value) is not None
        except re.error as err:
            out.append(fe.invalid(field, value, f"{path} in body should match '{pattern}, but "
                                                f"pattern is invalid: {err}'"))
            return
        if not matched:
            out.append(fe.invalid(field, value, f"{path} in body should match '{pattern}'"))
            return
    format_name = schema.get("format")
    if (format_name and schema.get("type") in (None, "string")
            and is_known_string_format(format_name) and not format_matches(format_name, value)):
        out.append(fe.type_invalid(
            field, value, f"{path} in body must be of type {format_name}: {fe.go_quote(value)}"))


def _validate_number(
    value: int | float, schema: JSONObject, path: str, out: list[Cause],
) -> None:
    field = path or _NO_FIELD
    factor = schema.get("multipleOf")
    if factor is not None:
        cause = _multiple_of_cause(value, factor, path)
        if cause:
            out.append(cause)
    minimum = schema.get("minimum")
    if minimum is not None:
        exclusive = bool(schema.get("exclusiveMinimum"))
        bound = _bound_for(value, minimum)
        if value < bound or (exclusive and value == bound):
            relation = "greater than" if exclusive else "greater than or equal to"
            detail = f"{path} in body should be {relation} {_bound_text(value, minimum)}"
            out.append(fe.invalid(field, value, detail))
    maximum = schema.get("maximum")
    if maximum is not None:
        exclusive = bool(schema.get("exclusiveMaximum"))
        bound = _bound_for(value, maximum)
        if value > bound or (exclusive and value == bound):
            relation = "less than" if exclusive else "less than or equal to"
            detail = f"{path} in body should be {relation} {_bound_text(value, maximum)}"
            out.append(fe.invalid(field, value, detail))


def _bound_for(value: int | float, bound: int | float) -> int | float:
    # Integers are compared with the bound truncated to an integer, as the real server does.
    return math.trunc(bound) if isinstance(value, int) else bound


def _bound_text(value: int | float, bound: int | float) -> str:
    return str(math.trunc(bound)) if isinstance(value, int) else fe.go_float(float(bound))


def _multiple_of_cause(value: int | float, factor: int | float, path: str) -> Cause | None:
    field = path or _NO_FIELD
    if factor < 0:
        return fe.invalid(field, value, f"factor MultipleOf declared for {path} must be "
                                        f"positive: {fe.go_value(factor)}")
    if isinstance(value, int) and math.trunc(factor) != 0:
        whole = math.trunc(factor)
        if value % whole != 0:
            return fe.invalid(field, value, f"{path} in body should be a multiple of {whole}")
        return None
    if factor == 0:
        return None
    quotient = (1 / factor) * value if factor < 1 else value / factor
    if abs(quotient - round(quotient)) > 1e-9 * max(1.0, abs(quotient)):
        return fe.invalid(field, value,
                          f"{path} in body should be a multiple of {fe.go_float(float(factor))}")
    return None


def _validate_array(value: list[Any], schema: JSONObject, path: str, out: list[Cause]) -> None:
    items = schema.get("items")
    if isinstance(items, dict):
        for position, item in enumerate(value):
            _validate_node(item, items, fe.index(path, position), out)
    field = path or _NO_FIELD
    min_items = schema.get("minItems")
    if min_items is not None and len(value) < min_items:
        out.append(fe.invalid(field, len(value),
                              f"{path} in body should have at least {min_items} items"))
    max_items = schema.get("maxItems")
    if max_items is not None and len(value) > max_items:
        out.append(fe.too_many(field, len(value), int(max_items)))
    if schema.get("uniqueItems") and has_duplicates(value):
        out.append(fe.invalid(field, "", f"{path} in body shouldn't contain duplicates"))


def _validate_object(
    value: JSONObject, schema: JSONObject, path: str, out: list[Cause], at_root: bool,
) -> None:
    field = path or _NO_FIELD
    min_properties = schema.get("minProperties")
    if min_properties is not None and len(value) < min_properties:
        out.append(fe.invalid(field, len(value),
                              f"{path} in body should have at least {min_properties} properties"))
        return
    max_properties = schema.get("maxProperties")
    if max_properties is not None and len(value) > max_properties:
        out.append(fe.too_many(field, len(value), int(max_properties)))
        return
    properties: JSONObject = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    if additional is not None and additional is not True:
        for name, item in value.items():
            if name in properties or (at_root and name in ROOT_META_FIELDS):
                continue
            if additional is False:
                out.append(fe.invalid(field, name,
                                      f"{path}.{name} in body is a forbidden property"))
            elif isinstance(additional, dict):
                _validate_node(item, additional, fe.child(path, name), out)
    for name, property_schema in properties.items():
        if name in value and not (at_root and name in ROOT_META_FIELDS):
            _validate_node(value[name], property_schema, fe.child(path, name), out)
    for name in schema.get("required") or ():
        if name not in value and not (at_root and name in ROOT_META_FIELDS):
            out.append(fe.required(fe.child(path, name)))


def _validate_embedded_type_meta(value: JSONObject, path: str, out: list[Cause]) -> None:
    for name in ("apiVersion", "kind"):
        if name not in value:
            out.append(fe.required(fe.child(path, name), "must not be empty"))
    api_version = value.get("apiVersion")
    if "apiVersion" in value:
        if not isinstance(api_version, str):
            out.append(fe.invalid(fe.child(path, "apiVersion"), api_version, "must be a string"))
        elif not api_version:
            out.append(fe.invalid(fe.child(path, "apiVersion"), api_version, "must not be empty"))
        elif api_version.count("/") > 1:
            out.append(fe.invalid(fe.child(path, "apiVersion"), api_version,
                                  f"unexpected GroupVersion string: {api_version}"))
    kind = value.get("kind")
    if "kind" in value:
        if not isinstance(kind, str):
            out.append(fe.invalid(fe.child(path, "kind"), kind, "must be a string"))
        elif not kind:
            out.append(fe.invalid(fe.child(path, "kind"), kind, "must not be empty"))
        elif kind_errors := dns1035_label_errors(kind.lower()):
            out.append(fe.invalid(fe.child(path, "kind"), kind,
                                  "may have mixed case, but should otherwise match: "
                                  + ",".join(kind_errors)))


def _validate_junctors(
    value: Any, schema: JSONObject, path: str, out: list[Cause], at_root: bool,
) -> None:
    quoted = fe.go_quote(path)
    any_of = schema.get("anyOf")
    if any_of:
        attempts = [_causes_of(value, branch, path, at_root) for branch in any_of]
        if all(attempts):
            out.append(fe.invalid(_NO_FIELD, "", f"{quoted} must validate at least one schema "
                                                 f"(anyOf)"))
            out.extend(_fewest(attempts))
    one_of = schema.get("oneOf")
    if one_of:
        attempts = [_causes_of(value, branch, path, at_root) for branch in one_of]
        valid = sum(1 for attempt in attempts if not attempt)
        if valid != 1:
            detail = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
            out.append(fe.invalid(_NO_FIELD, "", f"{quoted} must validate one and only one "
                                                 f"schema (oneOf). {detail}"))
            if valid == 0:
                out.extend(_fewest(attempts))
    all_of = schema.get("allOf")
    if all_of:
        attempts = [_causes_of(value, branch, path, at_root) for branch in all_of]
        failed = [attempt for attempt in attempts if attempt]
        for attempt in failed:
            out.extend(attempt)
        if failed:
            detail = ". None validated" if len(failed) == len(attempts) else ""
            out.append(fe.invalid(_NO_FIELD, "", f"{quoted} must validate all the schemas "
                                                 f"(allOf){detail}"))
    negated = schema.get("not")
    if isinstance(negated, dict) and not _causes_of(value, negated, path, at_root):
        out.append(fe.invalid(_NO_FIELD, "", f"{quoted} must not validate the schema (not)"))


def _fewest(attempts: list[list[Cause]]) -> list[Cause]:
    """The failures of the branch that came closest to validating."""
    best = attempts[0]
    for attempt in attempts[1:]:
        if len(attempt) < len(best):
            best = attempt
    return best


def _causes_of(value: Any, schema: JSONObject, path: str, at_root: bool) -> list[Cause]:
    found: list[Cause] = []
    _validate_node(value, schema, path, found, at_root=at_root)
    return found


def _in_enum(value: Any, allowed: list[Any]) -> bool:
    canonical = canonical_json(value)
    return any(canonical_json(option) == canonical for option in allowed if option is not None)


def _enum_cause(path: str, value: Any, allowed: list[Any]) -> Cause:
    rendered = [option if isinstance(option, str) else go_json(option) for option in allowed]
    return fe.not_supported(path or _NO_FIELD, value, rendered)

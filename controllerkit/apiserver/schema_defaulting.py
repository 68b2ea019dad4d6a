"""Schema `default` values, applied the way the real server applies them to custom resources.

Before defaulting, a `null` is dropped wherever the schema says the field is not nullable
and has no default (so `required` then reports it missing). A missing field, or a `null`
in a non-nullable field, takes a deep copy of its schema default. With `nullable: true` a
`null` is kept as it is and never defaulted. Defaulting recurses into objects (declared
properties and `additionalProperties`) and array items, including into values that were
just defaulted.
"""

from __future__ import annotations

from typing import Any

from controllerkit.apiserver.resources import JSONObject


def apply_defaults(obj: JSONObject, schema: JSONObject) -> JSONObject:
    """`obj` with schema defaults filled in; `obj` itself is left untouched.

    Apply after pruning and before validation. Unchanged parts of the result are shared
    with `obj` (both are treated as immutable).
    """
    result = _default(obj, schema)
    return result if isinstance(result, dict) else obj


def _default(value: Any, schema: JSONObject | None) -> Any:
    if schema is None:
        return value
    if isinstance(value, dict):
        return _default_object(value, schema)
    if isinstance(value, list):
        return _default_items(value, schema)
    return value


def _default_object(value: JSONObject, schema: JSONObject) -> JSONObject:
    properties: JSONObject = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    additional_schema = additional if isinstance(additional, dict) else None
    result: JSONObject = {}
    changed = False
    for name, item in value.items():
        item_schema = properties.get(name, additional_schema)
        if item is None and _is_non_nullable(item_schema) and not _has_default(item_schema):
            changed = True
            continue
        result[name] = item
    for name, property_schema in properties.items():
        if not _has_default(property_schema):
            continue
        if name not in result or (result[name] is None and _is_non_nullable(property_schema)):
            result[name] = copy_json(property_schema["default"])
            changed = True
    for name, item in result.items():
        item_schema = properties.get(name, additional_schema)
        if item_schema is None:
            continue
        new_item = item
        if new_item is None and _is_non_nullable(item_schema) and _has_default(item_schema):
            new_item = copy_json(item_schema["default"])
        new_item = _default(new_item, item_schema)
        if new_item is not item:
            result[name] = new_item
            changed = True
    return result if changed else value


def _default_items(value: list[Any], schema: JSONObject) -> list[Any]:
    items = schema.get("items")
    if not isinstance(items, dict):
        return value
    result: list[Any] = []
    changed = False
    for item in value:
        new_item = item
        if new_item is None and _is_non_nullable(items) and _has_default(items):
            new_item = copy_json(items["default"])
        new_item = _default(new_item, items)
        changed = changed or new_item is not item
        result.append(new_item)
    return result if changed else value


def _is_non_nullable(schema: JSONObject | None) -> bool:
    return schema is not None and not schema.get("nullable")


def _has_default(schema: JSONObject | None) -> bool:
    # A `default: null` is no default at all, as in the real server.
    return schema is not None and schema.get("default") is not None


def copy_json(value: Any) -> Any:
    """A deep copy of a decoded JSON value (much faster than `copy.deepcopy`)."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value

"""Pruning of fields a structural schema does not declare, and the strict-field errors.

The real server silently drops unknown fields from custom resources unless the schema says
`x-kubernetes-preserve-unknown-fields: true` at that level. With `fieldValidation=Strict`
it instead rejects the request (400 `BadRequest`, `strict decoding error: unknown field
"spec.foo"`); with `Warn` it accepts the pruned object and returns one warning per field.

At the root, and in any object marked `x-kubernetes-embedded-resource`, `apiVersion`,
`kind` and `metadata` are kept as they are. `additionalProperties: true` keeps the key but
prunes inside its value, because no schema describes that value's fields.
"""

from __future__ import annotations

from typing import Any

from controllerkit.apiserver.errors import StatusError, bad_request
from controllerkit.apiserver.resources import JSONObject

_META_FIELDS = frozenset({"apiVersion", "kind", "metadata"})


def prune(obj: JSONObject, schema: JSONObject) -> JSONObject:
    """`obj` without the fields `schema` does not declare; `obj` itself is left untouched.

    Unchanged parts of the result are shared with `obj` (both are treated as immutable).
    """
    pruned = _prune(obj, _as_resource_root(schema), "", None)
    return pruned if isinstance(pruned, dict) else obj


def prune_value(value: Any, schema: JSONObject) -> Any:
    """`value` pruned by `schema` as a nested value (not a resource root)."""
    return _prune(value, schema, "", None)


def unknown_fields(obj: JSONObject, schema: JSONObject) -> list[str]:
    """The sorted paths `prune` would drop, spelled as the real server reports them.

    Paths have no leading dot and index arrays: `spec.foo`, `spec.items[0].bar`.
    """
    dropped: list[str] = []
    _prune(obj, _as_resource_root(schema), "", dropped)
    return sorted(dropped)


def strict_decoding_error(fields: list[str], *, kind: str = "", version: str = "") -> StatusError:
    """The 400 `BadRequest` answered for unknown fields under `fieldValidation=Strict`.

    Creates and updates name the kind and version, as the real server does when it cannot
    decode a body (`Widget in version "v1" cannot be handled as a Widget: strict decoding
    error: unknown field "spec.foo"`); patches leave `kind` empty and get the bare message.
    """
    joined = ", ".join(f'unknown field "{name}"' for name in fields)
    message = f"strict decoding error: {joined}"
    if kind:
        message = f'{kind} in version "{version}" cannot be handled as a {kind}: {message}'
    return bad_request(message)


def unknown_field_warnings(fields: list[str]) -> list[str]:
    """The `Warning` header texts sent for unknown fields under `fieldValidation=Warn`."""
    return [f'unknown field "{name}"' for name in fields]


def _as_resource_root(schema: JSONObject | None) -> JSONObject:
    root = dict(schema or {})
    root["x-kubernetes-embedded-resource"] = True
    return root


def _prune(value: Any, schema: JSONObject | None, path: str, dropped: list[str] | None) -> Any:
    if schema is not None and schema.get("x-kubernetes-preserve-unknown-fields"):
        return _prune_declared_only(value, schema, path, dropped)
    if isinstance(value, dict):
        return _prune_object(value, schema, path, dropped)
    if isinstance(value, list):
        items = None if schema is None else schema.get("items")
        return _prune_items(value, items if isinstance(items, dict) else None, path, dropped,
                            preserve=False)
    return value


def _prune_object(
    value: JSONObject, schema: JSONObject | None, path: str, dropped: list[str] | None,
) -> JSONObject:
    if schema is None:
        if dropped is not None:
            dropped.extend(_join(path, name) for name in value)
        return {} if value else value
    properties: JSONObject = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    keep_meta = bool(schema.get("x-kubernetes-embedded-resource"))
    result: JSONObject = {}
    changed = False
    for name, item in value.items():
        if keep_meta and name in _META_FIELDS:
            result[name] = item
            continue
        if name in properties:
            new_item = _prune(item, properties[name], _join(path, name), dropped)
        elif additional is not None and additional is not False:
            item_schema = additional if isinstance(additional, dict) else None
            new_item = _prune(item, item_schema, _join(path, name), dropped)
        else:
            if dropped is not None:
                dropped.append(_join(path, name))
            changed = True
            continue
        changed = changed or new_item is not item
        result[name] = new_item
    return result if changed else value


def _prune_declared_only(
    value: Any, schema: JSONObject, path: str, dropped: list[str] | None,
) -> Any:
    """Under `x-kubernetes-preserve-unknown-fields`: keep unknown keys, prune known ones."""
    if isinstance(value, dict):
        properties: JSONObject = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        keep_meta = bool(schema.get("x-kubernetes-embedded-resource"))
        result: JSONObject = {}
        changed = False
        for name, item in value.items():
            new_item = item
            if keep_meta and name in _META_FIELDS:
                pass
            elif name in properties:
                new_item = _prune(item, properties[name], _join(path, name), dropped)
            elif additional is not None and additional is not False:
                item_schema = additional if isinstance(additional, dict) else None
                new_item = _prune(item, item_schema, _join(path, name), dropped)
            changed = changed or new_item is not item
            result[name] = new_item
        return result if changed else value
    if isinstance(value, list):
        items = schema.get("items")
        if not isinstance(items, dict):
            return value
        return _prune_items(value, items, path, dropped, preserve=True)
    return value


def _prune_items(
    value: list[Any], items: JSONObject | None, path: str, dropped: list[str] | None,
    *, preserve: bool,
) -> list[Any]:
    result: list[Any] = []
    changed = False
    for position, item in enumerate(value):
        item_path = f"{path}[{position}]"
        if preserve and items is not None:
            new_item = _prune_declared_only(item, items, item_path, dropped)
        else:
            new_item = _prune(item, items, item_path, dropped)
        changed = changed or new_item is not item
        result.append(new_item)
    return result if changed else value


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name

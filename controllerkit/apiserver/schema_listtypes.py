"""The `x-kubernetes-list-type` invariants: sets hold no duplicates, maps no repeated keys.

The real server checks these after schema validation and reports each repeated item as
`Duplicate value: <item>` at the item's index (`spec.ports[2]`).
"""

from __future__ import annotations

from typing import Any

from controllerkit.apiserver import field_errors as fe
from controllerkit.apiserver.errors import Cause
from controllerkit.apiserver.json_values import canonical_json
from controllerkit.apiserver.resources import JSONObject

_ROOT_META_FIELDS = frozenset({"apiVersion", "kind", "metadata"})


def list_type_causes(obj: Any, schema: JSONObject) -> list[Cause]:
    """Causes for every `set` list with a repeated item and `map` list with a repeated key."""
    out: list[Cause] = []
    _walk(obj, schema, "", out, at_root=True)
    return out


def _walk(value: Any, schema: JSONObject, path: str, out: list[Cause], *, at_root: bool) -> None:
    if isinstance(value, dict):
        properties: JSONObject = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for name, item in value.items():
            if at_root and name in _ROOT_META_FIELDS:
                continue
            if name in properties:
                _walk(item, properties[name], fe.child(path, name), out, at_root=False)
            elif isinstance(additional, dict):
                _walk(item, additional, fe.key(path, name), out, at_root=False)
    elif isinstance(value, list):
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set":
            out.extend(_set_duplicates(value, path))
        elif list_type == "map":
            out.extend(_map_duplicates(value, schema, path))
        items = schema.get("items")
        if isinstance(items, dict):
            for position, item in enumerate(value):
                _walk(item, items, fe.index(path, position), out, at_root=False)


def _set_duplicates(items: list[Any], path: str) -> list[Cause]:
    seen: set[str] = set()
    causes: list[Cause] = []
    for position, item in enumerate(items):
        identity = canonical_json(item)
        if identity in seen:
            causes.append(fe.duplicate(fe.index(path, position), item))
        seen.add(identity)
    return causes


def _map_duplicates(items: list[Any], schema: JSONObject, path: str) -> list[Cause]:
    for position, item in enumerate(items):
        if item is not None and not isinstance(item, dict):
            return [fe.invalid(fe.index(path, position), item,
                               "must be an object for an array of list-type map")]
    item_schema = schema.get("items") or {}
    key_defaults = {
        name: prop.get("default")
        for name, prop in (item_schema.get("properties") or {}).items()
    }
    key_names: list[str] = list(schema.get("x-kubernetes-list-map-keys") or [])
    seen: set[str] = set()
    causes: list[Cause] = []
    for position, item in enumerate(items):
        entry = item or {}
        keys = [entry.get(name, key_defaults.get(name)) for name in key_names]
        identity = canonical_json(keys)
        if identity in seen:
            causes.append(fe.duplicate(fe.index(path, position), item))
        seen.add(identity)
    return causes

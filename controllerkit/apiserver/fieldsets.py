"""Field paths of JSON objects: the unit of ownership in server-side apply.

A `Path` is a tuple of elements spelled as the keys of `managedFields[*].fieldsV1`: `f:<name>`
selects a map field, `k:<json>` an associative list item by its key fields
(`k:{"type":"Ready"}`), `v:<json>` a set item by value. A field set is a `set[Path]`.

A list's shape comes from the schema when it declares one (`x-kubernetes-list-type` atomic, set
or map with `x-kubernetes-list-map-keys`; `x-kubernetes-map-type: atomic`). Otherwise a list of
maps whose items all carry a `name` key, or all carry a `type` key, is associative on that key and
any other list is atomic. `metadata.finalizers` is a set and `metadata.ownerReferences` is keyed
by `uid`, as on the real server. Functions never modify their arguments unless they say so.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any, Final

from controllerkit.apiserver.resources import JSONObject

Path = tuple[str, ...]


class _Missing(Enum):
    MISSING = "missing"


# What `value_at` answers for a path that leads nowhere (unlike a JSON null, which is a value).
MISSING: Final = _Missing.MISSING

# Identity and server-maintained fields: nobody owns them, whoever wrote them.
UNOWNED_PATHS: Final[frozenset[Path]] = frozenset(
    [("f:apiVersion",), ("f:kind",)] + [("f:metadata", f"f:{name}") for name in (
        "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "managedFields", "selfLink",
    )]
)

_METADATA_SCHEMA: Final[JSONObject] = {"properties": {
    "finalizers": {"x-kubernetes-list-type": "set"},
    "ownerReferences": {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["uid"]},
}}

# Without a schema, these keys make a list of maps associative, tried in this order.
_CONVENTIONAL_LIST_KEYS: Final = ("name", "type")

# Field names sort before keyed items, then set values, then indexes, as on the real server.
_ELEMENT_RANK: Final = {"f:": 0, "k:": 1, "v:": 2, "i:": 3}


@dataclass(frozen=True)
class ListShape:
    """How a list value splits into fields: `atomic` (whole), `set` (by value), `map` (by keys)."""

    kind: str
    keys: tuple[str, ...] = ()


ATOMIC: Final = ListShape("atomic")


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: unlike `==`, `true` is not `1`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            json_equal(value, b[key]) for key, value in a.items())
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(
            json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def compact_json(value: Any) -> str:
    """JSON as the Go encoder writes it inside path elements (HTML characters escaped)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def key_element(item: JSONObject, keys: tuple[str, ...]) -> str:
    return "k:" + compact_json({key: item[key] for key in sorted(keys)})


@lru_cache(maxsize=4096)
def _decoded(body: str) -> Any:
    """Parsed JSON of an element body; cached, so callers must not modify it."""
    try:
        return json.loads(body)
    except ValueError:
        return MISSING


def element_key_fields(element: str) -> dict[str, Any]:
    """The key fields named by a `k:` element ({} for any other element)."""
    decoded = _decoded(element[2:]) if element.startswith("k:") else None
    return decoded if isinstance(decoded, dict) else {}


def child_schema(schema: JSONObject | None, path: Path, name: str) -> JSONObject | None:
    """The schema of field `name` of the map at `path` whose schema is `schema`."""
    if not path and name == "metadata":
        return _METADATA_SCHEMA
    properties = (schema or {}).get("properties")
    if isinstance(properties, dict) and isinstance(properties.get(name), dict):
        child: JSONObject = properties[name]
        return child
    additional = (schema or {}).get("additionalProperties")
    return additional if isinstance(additional, dict) else None


def item_schema(schema: JSONObject | None) -> JSONObject | None:
    items = (schema or {}).get("items")
    return items if isinstance(items, dict) else None


def is_atomic_map(schema: JSONObject | None) -> bool:
    return (schema or {}).get("x-kubernetes-map-type") == "atomic"


def list_shape(items: list[Any], schema: JSONObject | None) -> ListShape:
    """The shape of one list value; a list that cannot have the declared shape is atomic."""
    declared = (schema or {}).get("x-kubernetes-list-type")
    if declared == "set":
        scalars = all(not isinstance(item, dict | list) for item in items)
        unique = len({compact_json(item) for item in items}) == len(items)
        return ListShape("set") if scalars and unique else ATOMIC
    if declared == "map":
        keys = (schema or {}).get("x-kubernetes-list-map-keys")
        if isinstance(keys, list) and keys and all(isinstance(key, str) for key in keys):
            return _keyed_shape(items, tuple(keys)) or ATOMIC
    if declared is not None or not items:
        return ATOMIC
    for key in _CONVENTIONAL_LIST_KEYS:
        shape = _keyed_shape(items, (key,))
        if shape is not None:
            return shape
    return ATOMIC


def _keyed_shape(items: list[Any], keys: tuple[str, ...]) -> ListShape | None:
    if not all(isinstance(item, dict) and all(key in item for key in keys) for item in items):
        return None
    elements = {key_element(item, keys) for item in items}
    return ListShape("map", keys) if len(elements) == len(items) else None


def owned_paths(obj: JSONObject, schema: JSONObject | None = None) -> set[Path]:
    """Every ownable field of `obj`: leaves, atomic lists and maps, empty maps, list items.

    Items of associative and set lists are paths of their own; an associative item also has
    paths for its fields, key fields included. `UNOWNED_PATHS` are left out.
    """
    out: set[Path] = set()
    _collect_fields(obj, (), schema, out)
    return out


def _collect_fields(node: JSONObject, path: Path, schema: JSONObject | None,
                    out: set[Path]) -> None:
    for name, value in node.items():
        child = (*path, f"f:{name}")
        if child not in UNOWNED_PATHS:
            _collect_value(value, child, child_schema(schema, path, name), out)


def _collect_value(value: Any, path: Path, schema: JSONObject | None, out: set[Path]) -> None:
    shape = list_shape(value, schema) if isinstance(value, list) else ATOMIC
    if isinstance(value, dict) and value and not is_atomic_map(schema):
        _collect_fields(value, path, schema, out)
    elif shape.kind == "map":
        for item in value:
            item_path = (*path, key_element(item, shape.keys))
            out.add(item_path)
            _collect_fields(item, item_path, item_schema(schema), out)
    elif shape.kind == "set":
        out.update((*path, "v:" + compact_json(item)) for item in value)
    else:
        out.add(path)


def is_item(path: Path) -> bool:
    """Whether the path names a list item (its presence matters, not its whole value)."""
    return bool(path) and path[-1][:2] in ("k:", "v:")


def value_at(obj: Any, path: Path) -> Any:
    """The value at `path` inside `obj` (the object itself, not a copy), or `MISSING`."""
    node = obj
    for element in path:
        if element.startswith("f:") and isinstance(node, dict) and element[2:] in node:
            node = node[element[2:]]
        elif isinstance(node, list) and (index := _item_index(node, element)) is not None:
            node = node[index]
        else:
            return MISSING
    return node


def _item_index(items: list[Any], element: str) -> int | None:
    """Position of the item a `k:` or `v:` element selects."""
    wanted = _decoded(element[2:]) if element[:2] in ("k:", "v:") else MISSING
    if wanted is MISSING:
        return None
    for index, item in enumerate(items):
        if element.startswith("v:"):
            if json_equal(item, wanted):
                return index
        elif isinstance(wanted, dict) and isinstance(item, dict) and all(
                key in item and json_equal(item[key], value) for key, value in wanted.items()):
            return index
    return None


def changed_paths(before: Any, after: Any, candidates: set[Path]) -> set[Path]:
    """The candidates whose value differs between two objects (list items: presence only)."""
    changed: set[Path] = set()
    for path in candidates:
        old, new = value_at(before, path), value_at(after, path)
        present_in_one = (old is MISSING) != (new is MISSING)
        if present_in_one or (old is not MISSING and not is_item(path)
                              and not json_equal(old, new)):
            changed.add(path)
    return changed


def without_nulls(value: Any) -> Any:
    """A copy of `value` without null map values (an applied null means "omitted")."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def merge_values(live: Any, config: Any, schema: JSONObject | None, path: Path = ()) -> Any:
    """`config` merged into `live`: maps recursively, associative lists and sets by item,
    anything else replaced. `live` must be a private copy: it is modified and returned."""
    if isinstance(live, dict) and isinstance(config, dict) and not is_atomic_map(schema):
        for name, value in config.items():
            live[name] = merge_values(live.get(name, MISSING), value,
                                      child_schema(schema, path, name), (*path, f"f:{name}"))
        return live
    if isinstance(live, list) and isinstance(config, list):
        shape = list_shape(live, schema)
        if shape.kind == "map" and list_shape(config, schema) == shape:
            positions = {key_element(item, shape.keys): i for i, item in enumerate(live)}
            for item in config:
                element = key_element(item, shape.keys)
                if element in positions:
                    live[positions[element]] = merge_values(
                        live[positions[element]], item, item_schema(schema), (*path, element))
                else:
                    positions[element] = len(live)
                    live.append(copy.deepcopy(item))
            return live
        if shape.kind == "set" and list_shape(config, schema) == shape:
            live.extend(copy.deepcopy(item) for item in config
                        if not any(json_equal(item, existing) for existing in live))
            return live
    return copy.deepcopy(config)


def remove_fields(obj: JSONObject, doomed: set[Path], still_owned: set[Path]) -> None:
    """Remove the `doomed` fields from `obj`, a private copy this modifies, deepest first.

    Nothing `still_owned` (or on the way to it) goes. An associative item keeps its key fields
    while anything else remains in it; maps and lists left empty go too.
    """
    protected = still_owned | {path[:i] for path in still_owned for i in range(1, len(path))}
    for path in sorted(doomed, key=len, reverse=True):
        if path in protected or (len(path) > 1 and path[-1][2:] in element_key_fields(path[-2])):
            continue
        item = value_at(obj, path)
        if isinstance(item, dict) and set(item) - set(element_key_fields(path[-1])):
            continue
        _remove_at(obj, path)
        for depth in range(len(path) - 1, 0, -1):
            ancestor = path[:depth]
            if not ancestor[-1].startswith("f:") or ancestor in protected \
                    or value_at(obj, ancestor) not in ({}, []):
                break
            _remove_at(obj, ancestor)


def _remove_at(obj: Any, path: Path) -> None:
    parent = value_at(obj, path[:-1])
    if isinstance(parent, dict) and path[-1].startswith("f:"):
        parent.pop(path[-1][2:], None)
    elif isinstance(parent, list) and (index := _item_index(parent, path[-1])) is not None:
        del parent[index]


def path_string(path: Path) -> str:
    """The path as the real server prints it in conflicts: `.spec.items[name="a"].image`."""
    parts: list[str] = []
    for element in path:
        kind, body = element[:2], element[2:]
        if kind == "f:":
            parts.append("." + body)
        elif kind == "k:":
            key = element_key_fields(element)
            parts.append("[" + ",".join(f"{k}={_go_value(key[k])}" for k in sorted(key)) + "]")
        elif kind == "v:":
            parts.append(f"[={_go_value(_decoded(body))}]")
        else:
            parts.append(f"[{body}]")
    return "".join(parts)


def _go_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return json.dumps(value)


def _element_order(element: str) -> tuple[int, str]:
    return (_ELEMENT_RANK.get(element[:2], 4), element[2:])


def path_order(path: Path) -> tuple[tuple[int, int, str], ...]:
    """Sort key for the real server's set iteration order: at each level, the fields that end
    there come before the ones that go deeper."""
    last = len(path) - 1
    return tuple((int(i != last), *_element_order(element)) for i, element in enumerate(path))


def fields_v1(paths: set[Path] | frozenset[Path]) -> JSONObject:
    """The FieldsV1 tree of a field set; `"."` marks a path that is a member and has children."""
    trie: dict[str, Any] = {}
    for path in paths:
        node = trie
        for element in path:
            node = node.setdefault(element, {})
        node["."] = {}
    return _render(trie)


def _render(node: dict[str, Any]) -> JSONObject:
    children = sorted((k for k in node if k != "."), key=_element_order)
    out: JSONObject = {".": {}} if "." in node and children else {}
    for element in children:
        out[element] = _render(node[element])
    return out


def paths_from_fields_v1(tree: Any, prefix: Path = ()) -> set[Path]:
    """The field set a FieldsV1 tree describes (unknown shapes contribute nothing)."""
    out: set[Path] = set()
    for element, child in (tree.items() if isinstance(tree, dict) else ()):
        if element == "." and prefix:
            out.add(prefix)
        elif isinstance(element, str) and element[:2] in _ELEMENT_RANK:
            if isinstance(child, dict) and child:
                out |= paths_from_fields_v1(child, (*prefix, element))
            else:
                out.add((*prefix, element))
    return out

"""The patch formats a PATCH request can carry, applied to stored objects.

Every function takes the stored object and the decoded patch body and returns a new object that
shares nothing with either input; neither input is modified. Failures raise the `Status` errors
kube-apiserver answers for the same patch: 400 `BadRequest` for a body that is not a patch of the
right shape, 422 `Invalid` for a well-formed patch that cannot be applied to this object.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Final

import jsonpatch
import jsonpointer

from controllerkit.apiserver import errors
from controllerkit.apiserver.resources import JSONObject

JSON_PATCH: Final = "application/json-patch+json"
MERGE_PATCH: Final = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH: Final = "application/strategic-merge-patch+json"
APPLY_PATCH: Final = "application/apply-patch+yaml"
# Server-side apply in CBOR (`application/apply-patch+cbor`) is deliberately not accepted.
PATCH_CONTENT_TYPES: Final = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)

MAX_JSON_PATCH_OPERATIONS: Final = 10000

_PATCH_DIRECTIVE: Final = "$patch"
_RETAIN_KEYS: Final = "$retainKeys"
_SET_ELEMENT_ORDER: Final = "$setElementOrder/"
_DELETE_FROM_PRIMITIVE_LIST: Final = "$deleteFromPrimitiveList/"


def _json_type(value: Any) -> str:
    """The JSON type name Go's decoder uses in its error messages."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


def _not_applicable() -> errors.StatusError:
    # kube-apiserver reports every failure to apply a JSON patch (a failed `test`, a missing
    # path, an unknown op) with this generic 422 and no details.
    return errors.StatusError(
        422, "Invalid", "the server rejected our request due to an error in our request")


# --- RFC 7386 JSON merge patch -----------------------------------------------------------------

def apply_merge_patch(target: JSONObject, patch: Any) -> JSONObject:
    """Apply an RFC 7386 merge patch: null deletes, objects merge recursively, anything else
    (lists included) replaces. A patch that is not an object would replace the whole object, so
    it is a 400 `BadRequest` (`Invalid JSON Patch`, the real server's text).
    """
    if not isinstance(patch, dict):
        raise errors.bad_request("Invalid JSON Patch")
    return _merge_into(copy.deepcopy(target), patch)


def _merge_into(current: JSONObject, patch: JSONObject) -> JSONObject:
    """Merge `patch` into `current`, which the caller owns and which is modified in place."""
    for key, value in patch.items():
        if value is None:
            current.pop(key, None)
        elif isinstance(value, dict):
            existing = current.get(key)
            current[key] = _merge_into(existing if isinstance(existing, dict) else {}, value)
        else:
            current[key] = copy.deepcopy(value)
    return current


# --- RFC 6902 JSON patch -----------------------------------------------------------------------

def apply_json_patch(target: JSONObject, patch: Any) -> JSONObject:
    """Apply an RFC 6902 JSON patch (add, remove, replace, move, copy, test).

    As in kube-apiserver: a body that is not a list of objects is a 400 `BadRequest`; a JSON
    `null` is an empty patch; more than 10000 operations is a 413; an operation that cannot be
    applied (failed `test`, missing path for remove/replace, unknown `op`, missing `path`) is a
    422 `Invalid`. Numbers keep their type: `1` stays an int and `1.0` a float.
    """
    operations = _decode_operations(patch)
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise errors.StatusError(
            413, "RequestEntityTooLarge",
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, "
            f"got {len(operations)}")
    try:
        patched = jsonpatch.JsonPatch(operations).apply(target, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise _not_applicable() from exc
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        # Operands of the wrong JSON type (e.g. a number as `path`) surface as these.
        raise _not_applicable() from exc
    if not isinstance(patched, dict):
        raise _not_applicable()
    return patched


def _decode_operations(patch: Any) -> list[Any]:
    if patch is None:
        return []
    if not isinstance(patch, list):
        raise errors.bad_request(
            f"json: cannot unmarshal {_json_type(patch)} into Go value of type jsonpatch.Patch")
    for operation in patch:
        if operation is not None and not isinstance(operation, dict):
            raise errors.bad_request(
                f"json: cannot unmarshal {_json_type(operation)} into Go value of type "
                "jsonpatch.Operation")
    return patch


# --- strategic merge patch, with merge-patch semantics ------------------------------------------

def apply_strategic_merge_patch(target: JSONObject, patch: Any) -> JSONObject:
    """Apply a strategic merge patch the way this server understands it.

    The server has no per-field patch metadata, so it applies merge-patch semantics (null
    deletes, objects merge, other values replace) plus what kubectl's patches rely on:

    - `$patch: delete` in a map removes that map; `$patch: replace` replaces it with the rest of
      the patch map instead of merging; `$patch: merge` is the default.
    - A list is merged element by element, by merge key, when the key is known: the key named
      by `$setElementOrder/<field>` entries (`[{"mountPath": ...}]`), otherwise `name` when every
      patch element is a map with a `name` (containers, env, volumes, ports of built-ins). In a
      merged list `{<key>: x, $patch: delete}` deletes element x, a `{$patch: replace}` element
      makes the other elements the whole list, unmatched elements are appended.
    - Other lists replace, except lists of scalars that `$setElementOrder/` or
      `$deleteFromPrimitiveList/` mark as merged (finalizers): those gain the patch's values.
    - `$deleteFromPrimitiveList/<field>` removes values from a scalar list; a list left empty is
      dropped, as the typed server's encoder drops it.
    - `$setElementOrder/<field>` orders the list: listed elements first, in that order, then the
      others in their previous order.
    - `$retainKeys` drops every key of the map that it does not list.

    No directive key reaches the result. Malformed directives are the real server's 400s
    (`invalid patch format of retainKeys`, `... primitive list`, `... setElementOrder list`).
    A JSON `null` patch changes nothing; any other non-object body is a 400 `BadRequest`.
    """
    if patch is None:
        return copy.deepcopy(target)
    if not isinstance(patch, dict):
        raise errors.bad_request(
            f"json: cannot unmarshal {_json_type(patch)} into Go value of type "
            "map[string]interface {}")
    merged = _strategic_merge(copy.deepcopy(target), patch)
    if merged is None:
        raise errors.bad_request("a strategic merge patch cannot delete the whole object")
    return merged


def _strategic_merge(current: JSONObject, patch: JSONObject) -> JSONObject | None:
    """Merge `patch` into `current` (owned by the caller, changed in place).

    Returns the merged map, or None when the patch says `$patch: delete` for this map.
    """
    directive = patch.get(_PATCH_DIRECTIVE, "merge")
    if directive == "delete":
        return None
    if directive == "replace":
        return _strategic_merge({}, {k: v for k, v in patch.items() if k != _PATCH_DIRECTIVE})
    if directive != "merge":
        raise errors.bad_request(
            f"unknown patch type: {directive} in map: {json.dumps(patch, sort_keys=True)}")
    retained = _retained_keys(patch)
    for key, value in patch.items():
        if key.startswith("$") and _is_directive(key):
            continue
        if value is None:
            current.pop(key, None)
        elif isinstance(value, dict):
            existing = current.get(key)
            merged = _strategic_merge(existing if isinstance(existing, dict) else {}, value)
            if merged is None:
                current.pop(key, None)
            else:
                current[key] = merged
        elif isinstance(value, list):
            current[key] = _merge_list(current.get(key), value, key, patch)
        else:
            current[key] = value
    _apply_list_directives(current, patch)
    if retained is not None:
        for key in [k for k in current if k not in retained]:
            del current[key]
    return current


def _is_directive(key: str) -> bool:
    return key in (_PATCH_DIRECTIVE, _RETAIN_KEYS) or key.startswith(
        (_SET_ELEMENT_ORDER, _DELETE_FROM_PRIMITIVE_LIST))


def _retained_keys(patch: JSONObject) -> set[Any] | None:
    if _RETAIN_KEYS not in patch:
        return None
    listed = patch[_RETAIN_KEYS]
    if not isinstance(listed, list):
        raise errors.bad_request("invalid patch format of retainKeys")
    retained = {k for k in listed if isinstance(k, str)}
    for key, value in patch.items():
        if value is not None and not _is_directive(key) and key not in retained:
            raise errors.bad_request("invalid patch format of retainKeys")
    return retained


def _directive_list(patch: JSONObject, key: str, what: str) -> list[Any] | None:
    value = patch.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise errors.bad_request(f"invalid patch format of {what}")
    return value


def _order_merge_key(order: list[Any] | None) -> str | None:
    """The merge key `$setElementOrder` entries spell out: each entry is `{<key>: value}`."""
    if not order or not all(isinstance(entry, dict) and len(entry) == 1 for entry in order):
        return None
    keys = {next(iter(entry)) for entry in order}
    return keys.pop() if len(keys) == 1 else None


def _is_directive_element(item: Any) -> bool:
    return isinstance(item, dict) and bool(item) and all(k == _PATCH_DIRECTIVE for k in item)


def _merge_list(existing: Any, items: list[Any], field: str, patch: JSONObject) -> list[Any]:
    order = _directive_list(patch, _SET_ELEMENT_ORDER + field, "setElementOrder list")
    merge_key = _order_merge_key(order)
    elements = [item for item in items if not _is_directive_element(item)]
    if merge_key is None and elements and all(
            isinstance(item, dict) and "name" in item for item in elements):
        merge_key = "name"
    base = existing if isinstance(existing, list) else []
    if merge_key is not None and all(isinstance(item, dict) for item in items):
        return _merge_keyed_list(base, items, merge_key)
    scalar_list_merges = (_SET_ELEMENT_ORDER + field in patch
                          or _DELETE_FROM_PRIMITIVE_LIST + field in patch)
    if scalar_list_merges and not any(isinstance(item, dict | list) for item in items):
        return base + [item for item in items if item not in base]
    return [_fresh(item) for item in elements if not _deletes_itself(item)]


def _deletes_itself(item: Any) -> bool:
    return isinstance(item, dict) and item.get(_PATCH_DIRECTIVE) == "delete"


def _fresh(value: Any) -> Any:
    """A patch value as it is stored when nothing is merged into it (directives removed)."""
    if isinstance(value, dict):
        return _strategic_merge({}, value)
    if isinstance(value, list):
        return [_fresh(item) for item in value if not _deletes_itself(item)]
    return value


def _merge_keyed_list(base: list[Any], items: list[Any], merge_key: str) -> list[Any]:
    replace_all = any(_is_directive_element(item) and item[_PATCH_DIRECTIVE] == "replace"
                      for item in items)
    result = [] if replace_all else list(base)
    for item in items:
        if merge_key not in item:
            continue
        position = next((index for index, element in enumerate(result)
                         if isinstance(element, dict)
                         and element.get(merge_key) == item[merge_key]), None)
        if _deletes_itself(item):
            if position is not None:
                del result[position]
            continue
        merged = _strategic_merge(result[position] if position is not None else {}, item)
        if position is None:
            result.append(merged)
        else:
            result[position] = merged
    return result


def _apply_list_directives(current: JSONObject, patch: JSONObject) -> None:
    for key in patch:
        if key.startswith(_DELETE_FROM_PRIMITIVE_LIST):
            field = key[len(_DELETE_FROM_PRIMITIVE_LIST):]
            doomed = _directive_list(patch, key, "primitive list") or []
            existing = current.get(field)
            if isinstance(existing, list):
                remaining = [value for value in existing if value not in doomed]
                if remaining:
                    current[field] = remaining
                else:
                    del current[field]
    for key in patch:
        if key.startswith(_SET_ELEMENT_ORDER):
            field = key[len(_SET_ELEMENT_ORDER):]
            order = _directive_list(patch, key, "setElementOrder list") or []
            existing = current.get(field)
            if isinstance(existing, list):
                current[field] = _ordered(existing, order, _order_merge_key(order))


def _ordered(elements: list[Any], order: list[Any], merge_key: str | None) -> list[Any]:
    def identity(value: Any) -> str:
        if merge_key is not None and isinstance(value, dict):
            value = value.get(merge_key)
        return json.dumps(value, sort_keys=True)

    rank: dict[str, int] = {}
    for index, entry in enumerate(order):
        rank.setdefault(identity(entry), index)
    return sorted(elements, key=lambda element: rank.get(identity(element), len(order)))

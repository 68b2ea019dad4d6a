"""`merge_patch`: the JSON merge patch (RFC 7386) between two states of an object."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .meta import JSONObject

__all__ = ["merge_patch", "merge_patch_of_fields"]


def merge_patch(current: Mapping[str, Any], desired: Mapping[str, Any]) -> JSONObject:
    """The JSON merge patch (RFC 7386) that turns `current` into `desired`; {} if equal.

    Nested objects are diffed key by key; lists and scalars are replaced whole; a key missing
    from `desired` becomes null (removed).
    """
    patch: JSONObject = {}
    for key in current.keys() - desired.keys():
        patch[key] = None
    for key, value in desired.items():
        old = current.get(key)
        if key in current and old == value:
            continue
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            nested = merge_patch(old, value)
            if nested:
                patch[key] = nested
        else:
            patch[key] = copy.deepcopy(value)
    return patch


def merge_patch_of_fields(current: Mapping[str, Any], desired: Mapping[str, Any]) -> JSONObject:
    """The JSON merge patch that sets the fields `desired` names, leaving the others alone.

    A field set to None in `desired` is removed; a field `desired` does not name is kept as it
    is in `current` (a typed model writes the fields it declares and never erases what it
    does not know). Nested objects are compared field by field; lists are replaced whole,
    without the None values inside them.
    """
    patch: JSONObject = {}
    for key, value in desired.items():
        old = current.get(key)
        if value is None:
            if old is not None:
                patch[key] = None
            continue
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            nested = merge_patch_of_fields(old, value)
            if nested:
                patch[key] = nested
            continue
        value = _without_nones(value)
        if key not in current or old != value:
            patch[key] = value
    return patch


def _without_nones(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _without_nones(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nones(item) for item in value]
    return copy.deepcopy(value)

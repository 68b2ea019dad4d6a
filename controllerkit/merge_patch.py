"""`merge_patch`: the JSON merge patch (RFC 7386) between two states of an object."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .meta import JSONObject

__all__ = ["merge_patch"]


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

"""Equality and rendering of decoded JSON values as the real server's Go code sees them.

Go decodes JSON numbers so that `1` and `1.0` compare equal while `true` never equals `1`;
Python's `==` disagrees on both counts, so comparisons go through a canonical text. Values
listed in messages (the supported values of an `enum`) are rendered as Go's `json.Marshal`
renders them: compact, keys sorted, `2.0` printed as `2`.
"""

from __future__ import annotations

import json
from typing import Any


def json_equal(left: Any, right: Any) -> bool:
    """Whether two decoded JSON values are equal in the real server's sense."""
    return canonical_json(left) == canonical_json(right)


def canonical_json(value: Any) -> str:
    """A text equal for JSON-equal values: `1` and `1.0` agree, `true` and `1` do not."""
    return json.dumps(_normalise_numbers(value), sort_keys=True, separators=(",", ":"))


def go_json(value: Any) -> str:
    """`value` as Go's `json.Marshal` writes it (compact, sorted keys, integral floats as ints)."""
    return json.dumps(_normalise_numbers(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def has_duplicates(items: list[Any]) -> bool:
    """Whether two items of the list are JSON-equal."""
    seen: set[str] = set()
    for item in items:
        canonical = canonical_json(item)
        if canonical in seen:
            return True
        seen.add(canonical)
    return False


def _normalise_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _normalise_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise_numbers(v) for v in value]
    return value

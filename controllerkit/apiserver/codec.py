"""JSON in and out of the server.

Responses are encoded with orjson (lists of thousands of objects and watch fan-out dominate the
server's CPU); request bodies are decoded with the standard library because orjson turns integers
beyond 64 bits into floats, and an accepted write must store exactly what the client sent.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from .errors import bad_request


def encode(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        # Integers beyond 64 bits: rare, but they must round-trip unchanged.
        return json.dumps(value, separators=(",", ":")).encode()


# The write path walks objects recursively; deeper documents are refused (400) rather than
# exhausting the interpreter's stack. Real objects, CRD schemas included, stay far below this.
MAX_NESTING_DEPTH = 256


def check_depth(value: Any, *, what: str = "the request body") -> None:
    """400 BadRequest when `value` nests objects and arrays deeper than MAX_NESTING_DEPTH."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_NESTING_DEPTH:
            raise bad_request(f"{what} is nested deeper than the maximum depth of "
                              f"{MAX_NESTING_DEPTH}")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def decode_object(body: bytes, *, what: str = "the request body") -> dict[str, Any]:
    """Decode a JSON object, answering 400 BadRequest for anything else."""
    value = decode_any(body, what=what)
    if not isinstance(value, dict):
        raise bad_request(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def decode_any(body: bytes, *, what: str = "the request body") -> Any:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad_request(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise bad_request(f"{what} is nested deeper than the maximum depth of "
                          f"{MAX_NESTING_DEPTH}") from None
    check_depth(value, what=what)
    return value

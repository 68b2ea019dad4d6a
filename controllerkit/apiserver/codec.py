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


def decode_object(body: bytes, *, what: str = "the request body") -> dict[str, Any]:
    """Decode a JSON object, answering 400 BadRequest for anything else."""
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad_request(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise bad_request(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def decode_any(body: bytes, *, what: str = "the request body") -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad_request(f"{what} is not valid JSON: {exc}") from None

"""Small constructors for the OpenAPI v3 schemas of the built-in kinds.

They keep the built-in schemas readable: `obj("...", name=string("..."))` instead of
nested dict literals. Every builder returns a fresh dict, so schemas never share state.
"""

from __future__ import annotations

from typing import Any

from controllerkit.apiserver.resources import JSONObject


def string(description: str, **extra: Any) -> JSONObject:
    return {"type": "string", "description": description, **extra}


def integer(description: str, *, format: str = "int32", **extra: Any) -> JSONObject:
    return {"type": "integer", "format": format, "description": description, **extra}


def boolean(description: str, **extra: Any) -> JSONObject:
    return {"type": "boolean", "description": description, **extra}


def timestamp(description: str) -> JSONObject:
    return {"type": "string", "format": "date-time", "description": description}


def string_map(description: str, **value_extra: Any) -> JSONObject:
    return {"type": "object", "description": description,
            "additionalProperties": {"type": "string", **value_extra}}


def string_list(description: str, **extra: Any) -> JSONObject:
    return {"type": "array", "description": description, "items": {"type": "string"}, **extra}


def array(description: str, items: JSONObject, **extra: Any) -> JSONObject:
    return {"type": "array", "description": description, "items": items, **extra}


def obj(description: str, /, *, required: list[str] | None = None, **properties: JSONObject,
        ) -> JSONObject:
    schema: JSONObject = {"type": "object", "description": description, "properties": properties}
    if required:
        schema["required"] = required
    return schema


def free_form(description: str) -> JSONObject:
    """An object whose fields are kept but not described (deep parts we do not model)."""
    return {"type": "object", "description": description,
            "x-kubernetes-preserve-unknown-fields": True}

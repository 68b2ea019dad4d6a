"""What counts as an object: the shapes of an API object callers may hand to controllerkit.

The runtime works on JSON dicts. Callers may also hold pydantic models (controllerkit's
`Resource` models, the generated `controllerkit.kinds`, any model of their own) or the model
classes kubernetes_asyncio generates; `to_json_object` turns any of them into the dict the
server takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeAlias

from pydantic import BaseModel

from .meta import JSONObject

__all__ = ["ObjectLike", "to_json_object"]

ObjectLike: TypeAlias = Mapping[str, Any] | BaseModel | object
"""An API object: a dict (or another Mapping) of its JSON, a pydantic model, or a
kubernetes_asyncio model (`V1Deployment`, ...). Typed `object` at heart, because
kubernetes_asyncio's models share no base class; `to_json_object` checks the shape."""


def to_json_object(obj: ObjectLike) -> JSONObject:
    """The JSON dict of an object.

    - a `dict` is returned as it is (not copied: the caller's dict is the object);
    - another Mapping is copied into a `dict` (shallowly);
    - a pydantic model is dumped with its `to_dict()` when it has one, else with
      `model_dump(mode="json", by_alias=True, exclude_none=True)`;
    - a kubernetes_asyncio model is converted attribute by attribute under its JSON names
      (`attribute_map`), recursively: attributes that are None are left out, datetimes
      become RFC 3339 strings in UTC with six fractional digits and a `Z` (a naive
      datetime is taken to be in UTC already).

    Raises TypeError, naming the type and what is accepted, for anything else.
    """
    if isinstance(obj, dict):
        return obj
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, BaseModel):
        return _model_object(obj)
    if _is_openapi_model(obj):
        return _openapi_object(obj)
    raise TypeError(f"{type(obj).__qualname__} is not an object: expected a dict (or another "
                    f"Mapping), a pydantic model or a kubernetes_asyncio model")


def _model_object(model: BaseModel) -> JSONObject:
    to_dict = getattr(model, "to_dict", None)
    if callable(to_dict):
        result = to_dict()
        if not isinstance(result, dict):
            raise TypeError(f"{type(model).__qualname__}.to_dict() returned "
                            f"{type(result).__qualname__}, not a dict")
        return result
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _is_openapi_model(value: object) -> bool:
    """Whether `value` is an instance of a kubernetes_asyncio (OpenAPI Generator) model.

    Recognised by shape, so kubernetes_asyncio is never imported here.
    """
    cls = type(value)
    return (isinstance(getattr(cls, "openapi_types", None), dict)
            and isinstance(getattr(cls, "attribute_map", None), dict))


def _openapi_object(model: object) -> JSONObject:
    attribute_map: dict[str, str] = type(model).attribute_map  # type: ignore[attr-defined]
    converted: JSONObject = {}
    for attribute, json_name in attribute_map.items():
        value = getattr(model, attribute, None)
        if value is not None:
            converted[json_name] = _json_value(value)
    return converted


def _json_value(value: Any) -> Any:
    """A value inside a kubernetes_asyncio model as JSON. None inside lists and free-form maps
    is kept: there it is data (a merge patch's null), not an unset attribute."""
    if isinstance(value, datetime):
        return _rfc3339(value)
    if isinstance(value, BaseModel):
        return _model_object(value)
    if _is_openapi_model(value):
        return _openapi_object(value)
    if isinstance(value, Mapping):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return value


def _rfc3339(moment: datetime) -> str:
    # A converter cannot tell a metav1.Time from a MicroTime: the API server parses a Time
    # with fractional seconds, but a MicroTime only with exactly six digits.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

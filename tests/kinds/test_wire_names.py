"""Every field of every generated model reads and writes the JSON name the API uses.

The models are checked against kubernetes_asyncio's own metadata, walking both type trees
side by side from the twenty kinds: a field's JSON name must be kubernetes_asyncio's
`attribute_map` entry (hostIPC, podIPs, nonResourceURLs, exec, ...), it must be required
exactly when kubernetes_asyncio refuses None for it, and every generated model is reached.
"""

from __future__ import annotations

import importlib
import inspect
import re
import typing
from typing import Any

from kubernetes_asyncio.client import models as openapi_models
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from controllerkit import kinds
from controllerkit.kinds import BuiltinModel, BuiltinResource
from controllerkit.kinds.core_v1 import PodSpec, Probe
from controllerkit.kinds.rbac_v1 import PolicyRule
from controllerkit.meta import ObjectMeta

MODULES = ("meta_v1", "core_v1", "apps_v1", "batch_v1", "rbac_v1", "networking_v1",
           "coordination_v1")
KIND_SOURCES = {"Event": "CoreV1Event"}
"""kubernetes_asyncio's name of a kind whose class is not `V1<Kind>`."""


def wire_names(info: FieldInfo) -> tuple[str | None, str | None]:
    """(the name the field is read from, the name it is written as)."""
    validation = info.validation_alias if isinstance(info.validation_alias, str) else None
    return (validation or info.alias, info.serialization_alias or info.alias)


def nested_models(annotation: Any) -> list[type[BaseModel]]:
    """The model classes inside an annotation (`list[Container] | None` -> [Container])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for argument in typing.get_args(annotation):
        found.extend(nested_models(argument))
    return found


def openapi_nested(type_string: str) -> list[str]:
    """The kubernetes_asyncio model names a type string mentions ('list[V1Container]')."""
    return [name for name in re.findall(r"[A-Za-z]\w*", type_string) if name not in (
        "list", "dict", "str", "int", "float", "bool", "datetime", "object")]


def requires(openapi_class: Any, attribute: str) -> bool:
    setter = getattr(openapi_class, attribute).fset
    return "must not be `None`" in inspect.getsource(setter)


def generated_models() -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    for name in MODULES:
        module = importlib.import_module(f"controllerkit.kinds.{name}")
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, BuiltinModel | BuiltinResource)
                    and value.__module__ == module.__name__):
                found.add(value)
    return found


def walk(model: type[BaseModel], openapi_class: Any, seen: dict[type[BaseModel], Any],
         problems: list[str]) -> None:
    if model in seen:
        if seen[model] is not openapi_class:
            problems.append(f"{model.__name__} stands for {seen[model].__name__} and "
                            f"{openapi_class.__name__}")
        return
    seen[model] = openapi_class
    if model is ObjectMeta:
        return  # controllerkit's own model, not generated (it keeps selfLink as an extra)
    by_wire_name = {wire_names(info)[1]: (name, info)
                    for name, info in model.model_fields.items()}
    for attribute, json_name in openapi_class.attribute_map.items():
        if json_name not in by_wire_name:
            problems.append(f"{model.__name__} writes no {json_name!r}")
            continue
        name, info = by_wire_name.pop(json_name)
        read_from, _ = wire_names(info)
        if read_from != json_name:
            problems.append(f"{model.__name__}.{name} reads {read_from!r}, not {json_name!r}")
        if attribute != "metadata" and info.is_required() != requires(openapi_class, attribute):
            problems.append(f"{model.__name__}.{name}: required is {info.is_required()}")
        nested = openapi_nested(openapi_class.openapi_types[attribute])
        if nested:
            [inner] = nested_models(info.annotation)
            walk(inner, getattr(openapi_models, nested[0]), seen, problems)
    problems.extend(f"{model.__name__}.{name} ({json_name!r}) is not in "
                    f"{openapi_class.__name__}" for json_name, (name, _) in by_wire_name.items())


def test_every_field_of_every_model_has_the_json_name_of_the_api() -> None:
    seen: dict[type[BaseModel], Any] = {}
    problems: list[str] = []
    for kind in sorted(set(kinds.__all__) - {"BuiltinModel", "BuiltinResource", "IntOrString",
                                              "MicroTime", "Quantity"}):
        source = KIND_SOURCES.get(kind, f"V1{kind}")
        walk(getattr(kinds, kind), getattr(openapi_models, source), seen, problems)
    assert problems == []
    assert generated_models() <= set(seen), "a generated model no kind reaches"


def test_names_that_are_not_plain_camel_case_are_read_and_written_as_the_api_spells_them(
) -> None:
    pod_spec = {"containers": [], "hostIPC": True, "setHostnameAsFQDN": True}
    read = PodSpec.model_validate(pod_spec)
    assert (read.host_ipc, read.set_hostname_as_fqdn) == (True, True)
    assert read.model_dump(mode="json", by_alias=True, exclude_none=True) == pod_spec

    rule = PolicyRule(verbs=["get"], non_resource_urls=["/metrics"])
    assert rule.model_dump(mode="json", by_alias=True, exclude_none=True) == {
        "verbs": ["get"], "nonResourceURLs": ["/metrics"]}

    probe = Probe.model_validate({"exec": {"command": ["true"]}})
    assert probe.exec is not None and probe.exec.command == ["true"]

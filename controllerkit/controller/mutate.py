"""`create_or_update` / `create_or_patch`: make an object look the way a function says.

The controller-runtime `controllerutil` pattern for objects a controller keeps in shape (a
ConfigMap it owns, a Job it runs):

```python
async def shape(config: JSONObject) -> None:
    config["data"] = {"size": str(widget_size)}
    set_controller_reference(widget, config)

config, result = await create_or_update(client, CONFIG_MAP, {"metadata": {
    "name": "widget-config", "namespace": "default"}}, shape)
```

The object is read from the server (not from a cache, so the decision is made on the latest
state). If it is absent, `mutate` shapes the given object and it is created. If it exists,
`mutate` shapes a deep copy of the live object, and the write is skipped when nothing changed.
`mutate` must set only what the controller owns and leave the rest as it finds it (defaults
the server filled, fields other writers own): it must be idempotent.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any

from ..client.protocol import Client, PatchType
from ..errors import NotFound
from ..merge_patch import merge_patch
from ..meta import JSONObject, ResourceKind, object_key, resource_version

__all__ = ["MutateFn", "OperationResult", "create_or_patch", "create_or_update"]

MutateFn = Callable[[JSONObject], Awaitable[None] | None]
"""Shapes the object in place; may be a plain function or a coroutine function."""


class OperationResult(StrEnum):
    """What `create_or_update` / `create_or_patch` did on the server."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


async def create_or_update(
    client: Client, kind: ResourceKind, obj: Mapping[str, Any], mutate: MutateFn,
    *, field_manager: str = "",
) -> tuple[JSONObject, OperationResult]:
    """Create the object, or replace it (PUT) with the live object as `mutate` leaves it.

    `obj` names the object (`metadata.name`, and `metadata.namespace` for a namespaced kind)
    and is the starting point only when the object does not exist; it is never modified.
    Returns the object as stored and what was done.

    Guaranteed: no request beyond the read when `mutate` changes nothing; the update carries
    the resourceVersion read, so a concurrent change raises `Conflict` (and a concurrent
    creation `AlreadyExists`) instead of being overwritten; retry by reconciling again.
    `.status` is not compared: a change only to it writes nothing (write status with
    `StatusWriter`; kinds with a status subresource ignore it here anyway). Raises ValueError
    if `mutate` changes the name or namespace, or `obj` lacks one the kind needs.
    """
    live, result = await _create_if_absent(client, kind, obj, mutate, field_manager)
    if result is not None:
        return live, result
    desired = await _mutated_copy(kind, live, mutate)
    if _without_status(desired) == _without_status(live):
        return live, OperationResult.UNCHANGED
    desired.setdefault("metadata", {})["resourceVersion"] = resource_version(live)
    updated = await client.update(kind, desired, field_manager=field_manager)
    return updated, OperationResult.UPDATED


async def create_or_patch(
    client: Client, kind: ResourceKind, obj: Mapping[str, Any], mutate: MutateFn,
    *, field_manager: str = "",
) -> tuple[JSONObject, OperationResult]:
    """Create the object, or merge-patch the live object with only what `mutate` changed.

    Like `create_or_update`, but an existing object gets a JSON merge patch of the difference
    (lists are replaced whole; a removed key is sent as null) with the resourceVersion read as
    its precondition, so a concurrent change raises `Conflict`. Fields `mutate` did not touch
    are not sent, so the request is small and says exactly what this controller changed.
    """
    live, result = await _create_if_absent(client, kind, obj, mutate, field_manager)
    if result is not None:
        return live, result
    desired = await _mutated_copy(kind, live, mutate)
    difference = merge_patch(_without_status(live), _without_status(desired))
    if not difference:
        return live, OperationResult.UNCHANGED
    difference.setdefault("metadata", {})["resourceVersion"] = resource_version(live)
    namespace, name = object_key(live)
    patched = await client.patch(kind, name, difference, namespace=namespace or None,
                                 patch_type=PatchType.MERGE, field_manager=field_manager)
    return patched, OperationResult.UPDATED


async def _create_if_absent(
    client: Client, kind: ResourceKind, obj: Mapping[str, Any], mutate: MutateFn,
    field_manager: str,
) -> tuple[JSONObject, OperationResult | None]:
    """The live object and None, or the created object and CREATED."""
    namespace, name = object_key(obj)
    if not name:
        raise ValueError(f"give the {kind.kind}'s metadata.name: it names the object to shape")
    if kind.namespaced and not namespace:
        raise ValueError(f"{kind.kind} is namespaced: give metadata.namespace of {name!r}")
    try:
        live = await client.get(kind, name, namespace=namespace or None)
    except NotFound:
        pass
    else:
        return live, None
    desired = await _mutated_copy(kind, obj, mutate)
    created = await client.create(kind, desired, namespace=namespace or None,
                                  field_manager=field_manager)
    return created, OperationResult.CREATED


async def _mutated_copy(kind: ResourceKind, obj: Mapping[str, Any], mutate: MutateFn
                        ) -> JSONObject:
    desired = copy.deepcopy(dict(obj))
    outcome = mutate(desired)
    if inspect.isawaitable(outcome):
        await outcome
    before, after = object_key(obj), object_key(desired)
    if before != after:
        raise ValueError(
            f"mutate must not change the {kind.kind}'s name or namespace: "
            f"{_describe(before)} became {_describe(after)}")
    return desired


def _without_status(obj: Mapping[str, Any]) -> JSONObject:
    return {key: value for key, value in obj.items() if key != "status"}


def _describe(key: tuple[str, str]) -> str:
    namespace, name = key
    return f"{namespace}/{name}" if namespace else repr(name)

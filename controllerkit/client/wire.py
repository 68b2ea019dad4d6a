"""How requests and answers look on the wire: namespaces, bodies, query parameters, lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ..meta import JSONObject, ResourceKind
from .protocol import ObjectList


def namespace_for(
    kind: ResourceKind, namespace: str | None, obj: Mapping[str, Any] | None = None
) -> str | None:
    """The namespace a single-object request addresses: the argument, else the object's;
    None for cluster-scoped kinds. ValueError for a namespaced kind with neither."""
    if not kind.namespaced:
        return None
    if not namespace and obj is not None:
        namespace = (obj.get("metadata") or {}).get("namespace")
    if not namespace:
        raise ValueError(
            f"{kind} is namespaced: pass namespace= (or set metadata.namespace on the object)"
        )
    return namespace


def object_name(obj: Mapping[str, Any]) -> str:
    """metadata.name, or "" (generateName objects have none until created)."""
    return str((obj.get("metadata") or {}).get("name") or "")


def encode_object(kind: ResourceKind, obj: Mapping[str, Any]) -> bytes:
    """The object as a JSON body, with apiVersion and kind filled in from `kind` if missing."""
    document = obj if isinstance(obj, dict) else dict(obj)
    if "apiVersion" not in document or "kind" not in document:
        document = {"apiVersion": kind.api_version, "kind": kind.kind, **document}
    return orjson.dumps(document)


def selector_params(label_selector: str, field_selector: str) -> dict[str, str]:
    """Query parameters for the selectors that are set."""
    params: dict[str, str] = {}
    if label_selector:
        params["labelSelector"] = label_selector
    if field_selector:
        params["fieldSelector"] = field_selector
    return params


def write_params(field_manager: str, dry_run: bool) -> dict[str, str]:
    """Query parameters common to writes."""
    params: dict[str, str] = {}
    if field_manager:
        params["fieldManager"] = field_manager
    if dry_run:
        params["dryRun"] = "All"
    return params


def object_list(kind: ResourceKind, answer: JSONObject) -> ObjectList:
    """A decoded list answer as an `ObjectList`; items get apiVersion and kind if missing."""
    items: list[JSONObject] = answer.get("items") or []
    api_version, kind_name = kind.api_version, kind.kind
    # The real server leaves apiVersion and kind out of built-in list items; watch objects
    # have them, and the cache should not depend on which path an object came by.
    for item in items:
        if "kind" not in item:
            item["apiVersion"] = api_version
            item["kind"] = kind_name
    metadata = answer.get("metadata") or {}
    remaining = metadata.get("remainingItemCount")
    return ObjectList(
        items=items,
        resource_version=str(metadata.get("resourceVersion") or ""),
        continue_token=str(metadata.get("continue") or ""),
        remaining_item_count=int(remaining) if remaining is not None else None,
    )

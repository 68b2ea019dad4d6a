"""Owner references: marking the object a controller manages as its child, and finding the
managing owner of an object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .meta import JSONObject

__all__ = ["AlreadyOwnedError", "controller_reference", "set_controller_reference"]


class AlreadyOwnedError(ValueError):
    """The object already has a different controller; an object has at most one.

    `existing` is the owner reference that is already marked `controller: true`.
    """

    def __init__(self, obj: Mapping[str, Any], existing: Mapping[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        super().__init__(
            f"{meta.get('namespace', '')}/{meta.get('name', '')} is already controlled by "
            f"{existing.get('kind')} {existing.get('name')!r} (uid {existing.get('uid')})")
        self.existing = dict(existing)


def controller_reference(obj: Mapping[str, Any]) -> JSONObject | None:
    """The owner reference of `obj` marked `controller: true`, or `None`."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller") is True:
            return dict(ref)
    return None


def set_controller_reference(
    owner: Mapping[str, Any], obj: JSONObject, *, block_owner_deletion: bool = True
) -> JSONObject:
    """Make `owner` the controller of `obj` (in place) and return `obj`.

    Adds an owner reference with `controller: true` naming the owner's apiVersion, kind, name
    and uid, or refreshes the one that names the same uid. Deleting the owner then deletes
    `obj` (garbage collection), and a controller built with `owns(kind)` reconciles the owner
    when `obj` changes. Raises `AlreadyOwnedError` if another object controls `obj`, and
    `ValueError` if the owner lacks a uid (it was never created) or lives in another
    namespace (owner references cannot cross namespaces).
    """
    owner_meta = owner.get("metadata") or {}
    uid = owner_meta.get("uid")
    if not uid:
        raise ValueError(f"the owner {owner_meta.get('name')!r} has no uid: create it first")
    meta = obj.setdefault("metadata", {})
    owner_namespace = owner_meta.get("namespace") or ""
    if owner_namespace and owner_namespace != (meta.get("namespace") or owner_namespace):
        raise ValueError(f"an owner in namespace {owner_namespace!r} cannot own an object in "
                         f"namespace {meta.get('namespace')!r}")
    existing = controller_reference(obj)
    if existing is not None and existing.get("uid") != uid:
        raise AlreadyOwnedError(obj, existing)
    reference = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner_meta["name"],
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": block_owner_deletion,
    }
    others = [ref for ref in meta.get("ownerReferences") or () if ref.get("uid") != uid]
    meta["ownerReferences"] = [*others, reference]
    return obj

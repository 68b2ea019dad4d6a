"""Encoding a patch request: the body, its Content-Type, and the resourceVersion precondition.

The Content-Type is always the declared `PatchType`, never guessed from the body's shape (a
dict is not assumed to be one kind of patch or another). A body that cannot be a patch of the
declared type is refused before anything is sent: a JSON patch is a list of operations, the
other types are objects (or, for every type, already-encoded text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from .protocol import PatchType

RESOURCE_VERSION_POINTER = "/metadata/resourceVersion"


@dataclass(frozen=True, slots=True)
class EncodedPatch:
    """What goes on the wire for one patch."""

    body: bytes
    content_type: str
    # The resourceVersion the patch is conditional on ("" for none).
    resource_version: str


def encode_patch(
    patch: Mapping[str, Any] | Sequence[Any] | str,
    patch_type: PatchType,
    *,
    resource_version: str = "",
) -> EncodedPatch:
    """The wire form of `patch`, made conditional on `resource_version` when one is given.

    Merge, strategic-merge and apply patches carry it as `metadata.resourceVersion` (the server
    then answers 409 `Conflict` when the object has moved on); a JSON patch gets a leading
    `test` operation on `/metadata/resourceVersion`. Raises ValueError for a body that does not
    fit `patch_type`, or for a precondition on already-encoded text (it cannot be added).
    """
    patch_type = PatchType(patch_type)
    if isinstance(patch, str | bytes):
        if resource_version:
            raise ValueError(
                "a resourceVersion precondition cannot be added to an already-encoded patch; "
                "pass the patch as a dict or list, or include the precondition yourself"
            )
        text = patch.encode("utf-8") if isinstance(patch, str) else patch
        return EncodedPatch(text, patch_type.value, "")
    if patch_type is PatchType.JSON:
        if isinstance(patch, Mapping):
            raise ValueError(
                "a JSON patch (RFC 6902) is a list of operations; for a partial object use "
                "PatchType.MERGE"
            )
        operations: list[Any] = list(patch)
        if resource_version:
            test = {"op": "test", "path": RESOURCE_VERSION_POINTER, "value": resource_version}
            operations = [test, *operations]
        return EncodedPatch(orjson.dumps(operations), patch_type.value, resource_version)
    if not isinstance(patch, Mapping):
        raise ValueError(
            f"a {patch_type.name.lower()} patch is an object; a list of operations is a "
            "PatchType.JSON patch"
        )
    document: dict[str, Any] = patch if isinstance(patch, dict) else dict(patch)
    if resource_version:
        metadata = dict(patch.get("metadata") or {})
        metadata["resourceVersion"] = resource_version
        document = {**document, "metadata": metadata}
    return EncodedPatch(orjson.dumps(document), patch_type.value, resource_version)

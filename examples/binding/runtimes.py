"""The binding controller's runtime I/O: look at Spritzes, create a candidate (idempotently),
take ownership of one.

Runtimes are read as plain objects, not as `Spritz` models: their status is the runtime
operator's, and the lifecycle needs only its phase, however the operator spells it. Reads come
from the controller's cache, which shows this process's own creates and deletes at once, so a
candidate created a moment ago never looks gone (the lifecycle would drop its ref and create a
second candidate for the revision); a restarted controller lists them before it reconciles.
"""

from __future__ import annotations

from typing import Any

from controllerkit.cache import CachedClient
from controllerkit.controller import controller_reference, set_controller_reference
from controllerkit.errors import AlreadyExists
from controllerkit.meta import JSONObject

from .kinds import SPRITZ, InstanceRef, SpritzBinding, spritz_phase
from .lifecycle import Runtime, referenced_names
from .naming import (
    BINDING_KEY_ANNOTATION,
    BINDING_NAME_LABEL,
    INSTANCE_ROLE_ANNOTATION,
    PRESET_ID_ANNOTATION,
    REQUEST_ID_ANNOTATION,
    SOURCE_ANNOTATION,
    TARGET_REVISION_ANNOTATION,
    candidate_name,
    label_value_or_none,
    runtime_name_prefix,
)

CANDIDATE_ROLE = "candidate"


class RuntimeNameTaken(Exception):
    """The candidate's deterministic name belongs to a runtime another owner controls."""


def runtime_view(obj: JSONObject) -> Runtime:
    """What the lifecycle needs to know of a Spritz object."""
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    return Runtime(phase=spritz_phase(obj), deleting=bool(meta.get("deletionTimestamp")),
                   revision=annotations.get(TARGET_REVISION_ANNOTATION))


async def observe(client: CachedClient, binding: SpritzBinding) -> dict[str, JSONObject]:
    """The runtimes the binding refers to (`referenced_names`) that exist, by name."""
    found: dict[str, JSONObject] = {}
    for name in sorted(referenced_names(binding)):
        runtime = await client.get(SPRITZ, name, namespace=binding.metadata.namespace)
        if runtime is not None:
            found[name] = runtime
    return found


def candidate_object(binding: SpritzBinding, name: str, revision: str | None) -> JSONObject:
    """The Spritz a binding creates as its candidate `name` for `revision`: the template's
    spec, labels and annotations, and the binding's marks (its owner reference is added when
    it is created)."""
    template = binding.spec.template
    labels = dict(template.labels)
    binding_name = label_value_or_none(binding.metadata.name or "")
    if binding_name:
        labels[BINDING_NAME_LABEL] = binding_name
    annotations = dict(template.annotations)
    annotations[BINDING_KEY_ANNOTATION] = binding.spec.binding_key
    annotations[INSTANCE_ROLE_ANNOTATION] = CANDIDATE_ROLE
    for key, value in ((TARGET_REVISION_ANNOTATION, revision),
                       (PRESET_ID_ANNOTATION, template.preset_id),
                       (SOURCE_ANNOTATION, template.source),
                       (REQUEST_ID_ANNOTATION, template.request_id)):
        if value:
            annotations[key] = value
    spec: dict[str, Any] = template.spec.model_dump(mode="json", by_alias=True,
                                                    exclude_none=True)
    if template.preset_id and "presetId" not in spec:
        spec["presetId"] = template.preset_id
    return {
        "apiVersion": SPRITZ.api_version, "kind": SPRITZ.kind,
        "metadata": {"name": name, "namespace": binding.metadata.namespace, "labels": labels,
                     "annotations": annotations},
        "spec": spec,
    }


async def ensure_candidate(client: CachedClient, binding: SpritzBinding, sequence: int,
                           revision: str | None) -> InstanceRef:
    """Create runtime number `sequence` of the binding, or take the one that already has its
    name (a create whose status write was lost); its ref.

    Raises `RuntimeNameTaken` when another owner controls that name, and the server's
    `ApiError` when it refuses the create.
    """
    template = binding.spec.template
    name = candidate_name(runtime_name_prefix(template.name_prefix, template.preset_id),
                          binding.spec.binding_key, sequence)
    namespace = str(binding.metadata.namespace)
    try:
        created = await client.create(candidate_object(binding, name, revision), owner=binding)
    except AlreadyExists:
        # Read from the server: the cache may not show a create by someone else yet.
        existing = await client.api.get(SPRITZ, name, namespace=namespace)
        created = await take_ownership(client, binding, existing)
    view = runtime_view(created)
    return InstanceRef(namespace=namespace, name=name, revision=view.revision,
                       phase=view.phase)


async def take_ownership(client: CachedClient, binding: SpritzBinding,
                         runtime: JSONObject) -> JSONObject:
    """Make the binding the controller owner of `runtime` (no-op if it is); the stored
    runtime. Raises `RuntimeNameTaken` if another object controls it, `Conflict` if it
    changed since it was read."""
    existing = controller_reference(runtime)
    meta = runtime.get("metadata") or {}
    if existing is not None:
        if existing.get("uid") == binding.metadata.uid:
            return runtime
        raise RuntimeNameTaken(
            f"Spritz {meta.get('namespace')}/{meta.get('name')} is controlled by "
            f"{existing.get('kind')} {existing.get('name')!r}")
    owned = set_controller_reference(binding.to_dict(), {"metadata": {
        "ownerReferences": list(meta.get("ownerReferences") or ())}})
    written: JSONObject = await client.patch(
        SPRITZ, str(meta.get("name")),
        {"metadata": {"ownerReferences": owned["metadata"]["ownerReferences"]}},
        namespace=meta.get("namespace"), resource_version=str(meta.get("resourceVersion")))
    return written

"""The binding controller's runtime I/O: look at Spritzes, create a candidate (idempotently),
take ownership of one, delete one.

Every read goes to the API server, not to a cache: a candidate created a moment ago must never
look "gone" (the lifecycle would drop its ref and create a second candidate for the revision).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from controllerkit.client import Client
from controllerkit.controller import controller_reference, set_controller_reference
from controllerkit.errors import AlreadyExists, NotFound
from controllerkit.meta import JSONObject

from .kinds import SPRITZ, InstanceRef, SpritzBinding, spritz_phase
from .lifecycle import Runtime
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


async def observe(client: Client, namespace: str, names: Iterable[str]) -> dict[str, Runtime]:
    """The runtimes of `names` that exist in `namespace`, read from the server."""
    found: dict[str, Runtime] = {}
    for name in sorted(set(names)):
        try:
            found[name] = runtime_view(await client.get(SPRITZ, name, namespace=namespace))
        except NotFound:
            continue
    return found


def candidate_object(binding_obj: JSONObject, binding: SpritzBinding, name: str,
                     revision: str | None) -> JSONObject:
    """The Spritz a binding creates as its candidate `name` for `revision`: the template's
    spec, labels and annotations, the binding's marks, and its controller owner reference."""
    template = binding.spec.template
    namespace = binding.metadata.namespace
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
    obj: JSONObject = {
        "apiVersion": SPRITZ.api_version, "kind": SPRITZ.kind,
        "metadata": {"name": name, "namespace": namespace, "labels": labels,
                     "annotations": annotations},
        "spec": spec,
    }
    return set_controller_reference(binding_obj, obj)


async def ensure_candidate(client: Client, binding_obj: JSONObject, binding: SpritzBinding,
                           sequence: int, revision: str | None) -> InstanceRef:
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
        created = await client.create(SPRITZ, candidate_object(binding_obj, binding, name,
                                                               revision), namespace=namespace)
    except AlreadyExists:
        created = await take_ownership(client, binding_obj,
                                       await client.get(SPRITZ, name, namespace=namespace))
    view = runtime_view(created)
    return InstanceRef(namespace=namespace, name=name, revision=view.revision,
                       phase=view.phase)


async def take_ownership(client: Client, binding_obj: JSONObject,
                         runtime: JSONObject) -> JSONObject:
    """Make the binding the controller owner of `runtime` (no-op if it is); the stored
    runtime. Raises `RuntimeNameTaken` if another object controls it, `Conflict` if it
    changed since it was read."""
    owner_uid = (binding_obj.get("metadata") or {}).get("uid")
    existing = controller_reference(runtime)
    meta = runtime.get("metadata") or {}
    if existing is not None:
        if existing.get("uid") == owner_uid:
            return runtime
        raise RuntimeNameTaken(
            f"Spritz {meta.get('namespace')}/{meta.get('name')} is controlled by "
            f"{existing.get('kind')} {existing.get('name')!r}")
    owned = set_controller_reference(binding_obj, {"metadata": {
        "namespace": meta.get("namespace"),
        "ownerReferences": list(meta.get("ownerReferences") or ())}})
    patch = {"metadata": {"ownerReferences": owned["metadata"]["ownerReferences"],
                          "resourceVersion": meta.get("resourceVersion")}}
    return await client.patch(SPRITZ, str(meta.get("name")), patch,
                              namespace=meta.get("namespace"))


async def adopt(client: Client, binding_obj: JSONObject, ref: InstanceRef) -> None:
    """Take ownership of the runtime `ref` names (`spec.adoptActive`)."""
    await take_ownership(client, binding_obj,
                         await client.get(SPRITZ, ref.name, namespace=ref.namespace))


async def delete(client: Client, ref: InstanceRef) -> None:
    """Ask the server to delete the runtime `ref` names; one already gone is fine."""
    try:
        await client.delete(SPRITZ, ref.name, namespace=ref.namespace)
    except NotFound:
        return

"""Validation of `metadata` on create and update, with the real server's causes.

Covers the name (or `generateName`), the namespace, labels, annotations, finalizers and
owner references, reporting for instance
`metadata.name: Invalid value: "Foo": a lowercase RFC 1123 subdomain must consist of ...`.
Values of the wrong JSON type (a label value that is a number, say) are reported as
invalid rather than crashing the check.
"""

from __future__ import annotations

from typing import Any

from controllerkit.apiserver import field_errors as fe
from controllerkit.apiserver.errors import Cause
from controllerkit.apiserver.name_formats import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    label_value_errors,
    mask_trailing_dash,
    path_segment_errors,
    qualified_name_errors,
)
from controllerkit.apiserver.resources import JSONObject

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024

# Every field of ObjectMeta; anything else under `metadata` is an unknown field.
OBJECT_META_FIELDS = frozenset({
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
    "annotations", "ownerReferences", "finalizers", "managedFields",
})

_ORPHAN_FINALIZER = "orphan"
_FOREGROUND_FINALIZER = "foregroundDeletion"
# Owners the real server refuses, as (apiVersion, kind).
_BANNED_OWNERS = {("v1", "Event"): "/v1, Kind=Event"}

_NAME_RULES = {
    "subdomain": dns1123_subdomain_errors,
    "label": dns1123_label_errors,
    "path": path_segment_errors,
}


def validate_metadata(
    obj: JSONObject, *, namespaced: bool, name_rule: str = "subdomain",
) -> list[Cause]:
    """All problems with `obj["metadata"]` for a create.

    `name_rule` is `subdomain` (most kinds), `label` (namespaces) or `path` (kinds whose
    names only need to be URL path segments). A missing name is fine while `generateName`
    is set; validate again once the name is generated to check the generated name.
    Namespaced objects must carry `metadata.namespace`; cluster-scoped ones must not.
    """
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return [fe.invalid("metadata", metadata, "must be an object")]
    name_errors = _NAME_RULES[name_rule]
    causes: list[Cause] = []
    name = metadata.get("name") or ""
    generate_name = metadata.get("generateName") or ""
    if not isinstance(generate_name, str):
        causes.append(fe.invalid("metadata.generateName", generate_name, "must be a string"))
    elif generate_name:
        prefix = generate_name if name_rule == "path" else mask_trailing_dash(generate_name)
        causes.extend(fe.invalid("metadata.generateName", generate_name, message)
                      for message in name_errors(prefix))
    if not isinstance(name, str):
        causes.append(fe.invalid("metadata.name", name, "must be a string"))
    elif not name:
        if not generate_name:
            causes.append(fe.required("metadata.name", "name or generateName is required"))
    else:
        causes.extend(fe.invalid("metadata.name", name, message) for message in name_errors(name))
    causes.extend(_namespace_causes(metadata.get("namespace") or "", namespaced))
    generation = metadata.get("generation")
    if isinstance(generation, int) and generation < 0:
        causes.append(fe.invalid("metadata.generation", generation,
                                 "must be greater than or equal to 0"))
    causes.extend(_common_causes(metadata))
    return causes


def validate_metadata_update(new_obj: JSONObject, old_obj: JSONObject) -> list[Cause]:
    """Problems with an update's metadata that a create cannot have.

    Name, namespace and a non-empty uid are immutable; finalizers cannot be added once the
    object is being deleted; generation never goes down. Labels, annotations, finalizers
    and owner references are checked as on create. The server is expected to have carried
    creationTimestamp, deletionTimestamp and an empty uid over from the stored object.
    """
    new_meta = new_obj.get("metadata")
    old_meta = old_obj.get("metadata") or {}
    if not isinstance(new_meta, dict):
        return [fe.invalid("metadata", new_meta, "must be an object")]
    causes: list[Cause] = []
    if old_meta.get("deletionTimestamp"):
        added = sorted(set(_strings(new_meta.get("finalizers")))
                       - set(_strings(old_meta.get("finalizers"))))
        if added:
            listed = "[]string{" + ", ".join(fe.go_quote(f) for f in added) + "}"
            causes.append(fe.forbidden(
                "metadata.finalizers",
                f"no new finalizers can be added if the object is being deleted, found new "
                f"finalizers {listed}"))
    new_generation, old_generation = new_meta.get("generation"), old_meta.get("generation")
    if (isinstance(new_generation, int) and isinstance(old_generation, int)
            and new_generation < old_generation):
        causes.append(fe.invalid("metadata.generation", new_generation, "must not be decremented"))
    for field in ("name", "namespace"):
        if (new_meta.get(field) or "") != (old_meta.get(field) or ""):
            causes.append(fe.invalid(f"metadata.{field}", new_meta.get(field) or "",
                                     "field is immutable"))
    if new_meta.get("uid") and new_meta.get("uid") != old_meta.get("uid"):
        causes.append(fe.invalid("metadata.uid", new_meta["uid"], "field is immutable"))
    causes.extend(_common_causes(new_meta))
    return causes


def unknown_metadata_fields(obj: JSONObject) -> list[str]:
    """Sorted paths of fields under `metadata` that ObjectMeta does not have."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return []
    return sorted(f"metadata.{name}" for name in metadata if name not in OBJECT_META_FIELDS)


def _namespace_causes(namespace: Any, namespaced: bool) -> list[Cause]:
    if not isinstance(namespace, str):
        return [fe.invalid("metadata.namespace", namespace, "must be a string")]
    if not namespaced:
        if namespace:
            return [fe.forbidden("metadata.namespace", "not allowed on this type")]
        return []
    if not namespace:
        return [fe.required("metadata.namespace")]
    return [fe.invalid("metadata.namespace", namespace, message)
            for message in dns1123_label_errors(namespace)]


def _common_causes(metadata: JSONObject) -> list[Cause]:
    causes = _label_causes(metadata.get("labels"))
    causes.extend(_annotation_causes(metadata.get("annotations")))
    causes.extend(_owner_reference_causes(metadata.get("ownerReferences")))
    causes.extend(_finalizer_causes(metadata.get("finalizers")))
    return causes


def _label_causes(labels: Any) -> list[Cause]:
    if labels is None:
        return []
    if not _is_string_map(labels):
        return [fe.invalid("metadata.labels", labels, "must be a map of string keys to string "
                                                      "values")]
    causes: list[Cause] = []
    for key, value in labels.items():
        causes.extend(fe.invalid("metadata.labels", key, message)
                      for message in qualified_name_errors(key))
        causes.extend(fe.invalid("metadata.labels", value, message)
                      for message in label_value_errors(value))
    return causes


def _annotation_causes(annotations: Any) -> list[Cause]:
    if annotations is None:
        return []
    if not _is_string_map(annotations):
        return [fe.invalid("metadata.annotations", annotations,
                           "must be a map of string keys to string values")]
    causes: list[Cause] = []
    total_size = 0
    for key, value in annotations.items():
        # Annotation keys are qualified names, except that case does not matter.
        causes.extend(fe.invalid("metadata.annotations", key, message)
                      for message in qualified_name_errors(key.lower()))
        total_size += len(key.encode()) + len(value.encode())
    if total_size > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(fe.too_long("metadata.annotations", TOTAL_ANNOTATION_SIZE_LIMIT))
    return causes


def _owner_reference_causes(references: Any) -> list[Cause]:
    if references is None:
        return []
    path = "metadata.ownerReferences"
    if not isinstance(references, list) or not all(isinstance(r, dict) for r in references):
        return [fe.invalid(path, references, "must be a list of owner references")]
    causes: list[Cause] = []
    first_controller = ""
    for reference in references:
        api_version = reference.get("apiVersion") or ""
        kind = reference.get("kind") or ""
        if not _version_of(api_version):
            causes.append(fe.invalid(f"{path}.apiVersion", api_version,
                                     "version must not be empty"))
        if not kind:
            causes.append(fe.invalid(f"{path}.kind", kind, "must not be empty"))
        if not reference.get("name"):
            causes.append(fe.invalid(f"{path}.name", reference.get("name") or "",
                                     "must not be empty"))
        if not reference.get("uid"):
            causes.append(fe.invalid(f"{path}.uid", reference.get("uid") or "",
                                     "must not be empty"))
        banned = _BANNED_OWNERS.get((api_version, kind))
        if banned:
            causes.append(fe.invalid(path, reference,
                                     f"{banned} is disallowed from being an owner"))
        if reference.get("controller") is True:
            current = f"{kind}/{reference.get('name') or ''}"
            if first_controller:
                causes.append(fe.invalid(
                    path, references,
                    f'Only one reference can have Controller set to true. Found "true" in '
                    f"references for {first_controller} and {current}"))
            else:
                first_controller = current
    return causes


def _finalizer_causes(finalizers: Any) -> list[Cause]:
    if finalizers is None:
        return []
    path = "metadata.finalizers"
    if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
        return [fe.invalid(path, finalizers, "must be a list of strings")]
    causes: list[Cause] = []
    for finalizer in finalizers:
        causes.extend(fe.invalid(path, finalizer, message)
                      for message in qualified_name_errors(finalizer))
    if _ORPHAN_FINALIZER in finalizers and _FOREGROUND_FINALIZER in finalizers:
        causes.append(fe.invalid(path, finalizers,
                                 f"finalizer {_ORPHAN_FINALIZER} and {_FOREGROUND_FINALIZER} "
                                 f"cannot be both set"))
    return causes


def _version_of(api_version: Any) -> str:
    """The version part of an apiVersion, "" when it has none or is malformed."""
    if not isinstance(api_version, str) or api_version in ("", "/"):
        return ""
    parts = api_version.split("/")
    if len(parts) > 2:
        return ""
    return parts[-1]


def _is_string_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []

"""CustomResourceDefinitions: their defaults, the types they serve and their status.

A CRD is stored like any object; once accepted, each served version becomes a
`ResourceType` and the server writes the status the real server's controllers would
write: `NamesAccepted` and `Established` conditions, `acceptedNames` and
`storedVersions`. This server implements the `None` conversion strategy only, so every
version shares one storage and names are never in conflict.
"""

from __future__ import annotations

from typing import Any

from controllerkit.apiserver.crd_validation import validate_crd
from controllerkit.apiserver.resources import ALL_VERBS, JSONObject, ResourceType, version_priority
from controllerkit.apiserver.schema_defaulting import copy_json

__all__ = [
    "accepted_status",
    "apply_crd_defaults",
    "crd_storage_version",
    "crd_types",
    "defaulted_names",
    "validate_crd",
]

_NAMES_ACCEPTED = {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                   "message": "no conflicts found"}
_ESTABLISHED = {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted"}
_DEFAULT_WEBHOOK_PORT = 443


def apply_crd_defaults(crd: JSONObject) -> JSONObject:
    """`crd` with the defaults the real server applies on create and update.

    `spec.names.singular` (the lowercased kind) and `listKind` (`<kind>List`),
    `spec.conversion` (`strategy: None`), port 443 for a webhook service, and the storage
    version added to `status.storedVersions` (with empty `acceptedNames` on a fresh CRD).
    `crd` itself is left untouched.
    """
    result: JSONObject = copy_json(crd)
    spec = result.get("spec")
    if not isinstance(spec, dict):
        return result
    names = spec.get("names")
    if isinstance(names, dict):
        spec["names"] = defaulted_names(names)
    conversion = spec.get("conversion")
    if conversion is None:
        spec["conversion"] = {"strategy": "None"}
    elif isinstance(conversion, dict):
        service = ((conversion.get("webhook") or {}).get("clientConfig") or {}).get("service")
        if isinstance(service, dict) and service.get("port") is None:
            service["port"] = _DEFAULT_WEBHOOK_PORT
    storage_version = crd_storage_version(result)
    if storage_version:
        status = result.get("status")
        if not isinstance(status, dict):
            status = {}
        stored = list(status.get("storedVersions") or [])
        if storage_version not in stored:
            stored.append(storage_version)
        status["storedVersions"] = stored
        status.setdefault("acceptedNames", {"kind": "", "plural": ""})
        result["status"] = status
    return result


def defaulted_names(names: JSONObject) -> JSONObject:
    """`spec.names` with `singular` and `listKind` filled in from the kind when absent."""
    result = dict(names)
    kind = result.get("kind") or ""
    if not result.get("singular"):
        result["singular"] = kind.lower()
    if not result.get("listKind") and kind:
        result["listKind"] = f"{kind}List"
    return result


def crd_storage_version(crd: JSONObject) -> str:
    """The name of the version marked `storage: true`; "" if none is (an invalid CRD)."""
    for version in (crd.get("spec") or {}).get("versions") or []:
        if isinstance(version, dict) and version.get("storage") is True:
            return str(version.get("name") or "")
    return ""


def crd_types(crd: JSONObject) -> list[ResourceType]:
    """One `ResourceType` per served version, the preferred (highest priority) version first.

    Each carries the version's schema (None when it has none: no validation), its printer
    columns and whether it has a status subresource; all track `metadata.generation`,
    answer DELETE with the object and refuse strategic-merge patches, as custom resources do.
    """
    spec = crd.get("spec") or {}
    names = defaulted_names(spec.get("names") or {})
    kind = names.get("kind") or ""
    served = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("served")]
    served.sort(key=lambda v: version_priority(str(v.get("name") or "")))
    return [
        ResourceType(
            group=spec.get("group") or "",
            version=str(version.get("name") or ""),
            kind=kind,
            plural=names.get("plural") or "",
            singular=names.get("singular") or kind.lower(),
            namespaced=spec.get("scope") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            list_kind=names.get("listKind") or f"{kind}List",
            has_status="status" in (version.get("subresources") or {}),
            schema=(version.get("schema") or {}).get("openAPIV3Schema"),
            printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
            tracks_generation=True,
            strategic_merge=False,
            delete_returns_object=False,
            verbs=ALL_VERBS,
            crd_name=(crd.get("metadata") or {}).get("name") or "",
        )
        for version in served
    ]


def accepted_status(crd: JSONObject, now: str) -> JSONObject:
    """The `.status` the server writes once `crd` is accepted, as of `now` (RFC 3339).

    `NamesAccepted` and `Established` become True; a condition that already had that status
    keeps its `lastTransitionTime` (and its position), conditions of other types are kept.
    `acceptedNames` is the defaulted `spec.names`; `storedVersions` gains the storage
    version if it lacks it.
    """
    status: JSONObject = crd["status"] if isinstance(crd.get("status"), dict) else {}
    conditions = [dict(c) for c in status.get("conditions") or [] if isinstance(c, dict)]
    for wanted in (_NAMES_ACCEPTED, _ESTABLISHED):
        conditions = _set_condition(conditions, wanted, now)
    stored = list(status.get("storedVersions") or [])
    storage_version = crd_storage_version(crd)
    if storage_version and storage_version not in stored:
        stored.append(storage_version)
    result: JSONObject = copy_json(status)
    result["acceptedNames"] = _accepted_names(crd)
    result["conditions"] = conditions
    result["storedVersions"] = stored
    return result


def _accepted_names(crd: JSONObject) -> JSONObject:
    names = defaulted_names((crd.get("spec") or {}).get("names") or {})
    return {key: copy_json(value) for key, value in names.items() if value not in (None, [], "")}


def _set_condition(conditions: list[JSONObject], wanted: dict[str, Any],
                   now: str) -> list[JSONObject]:
    for position, existing in enumerate(conditions):
        if existing.get("type") != wanted["type"]:
            continue
        transition = existing.get("lastTransitionTime") or now
        if existing.get("status") != wanted["status"]:
            transition = now
        updated = list(conditions)
        updated[position] = _condition(wanted, transition)
        return updated
    return [*conditions, _condition(wanted, now)]


def _condition(wanted: dict[str, Any], transition: str) -> JSONObject:
    # Field order of the real server's serialisation.
    return {"type": wanted["type"], "status": wanted["status"],
            "lastTransitionTime": transition, "reason": wanted["reason"],
            "message": wanted["message"]}

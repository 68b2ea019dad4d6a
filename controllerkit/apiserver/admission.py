"""Kind-specific defaulting and validation, run on every write after the schema steps.

These are the parts of the real server's per-kind strategies that the generic write path cannot
know: a Namespace starts `Active` with the `kubernetes` finalizer, a Secret's `stringData` is
folded into `data`, a Job gets its controller-uid selector, and a CRD is defaulted and checked.
"""

from __future__ import annotations

import base64

from . import crds
from .errors import Cause
from .resources import GroupResource, JSONObject

NAMESPACES = GroupResource("", "namespaces")
SECRETS = GroupResource("", "secrets")
JOBS = GroupResource("batch", "jobs")
CRDS = GroupResource("apiextensions.k8s.io", "customresourcedefinitions")
CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"


def admit(
    gr: GroupResource, current: JSONObject | None, obj: JSONObject
) -> tuple[JSONObject, list[Cause]]:
    """The object as this kind stores it, and the kind's own validation causes."""
    if gr == NAMESPACES and current is None:
        spec = dict(obj.get("spec") or {})
        spec.setdefault("finalizers", ["kubernetes"])
        return {**obj, "spec": spec, "status": {"phase": "Active"}}, []
    if gr == SECRETS:
        if current is None and not obj.get("type"):
            obj = {**obj, "type": "Opaque"}
        return (_fold_string_data(obj) if "stringData" in obj else obj), []
    if gr == JOBS and current is None:
        return _job_selector(obj), []
    if gr == CRDS:
        obj = crds.apply_crd_defaults(obj)
        causes = crds.validate_crd(obj)
        if current is not None and not causes:
            causes.extend(_crd_immutable_causes(current, obj))
        return obj, causes
    return obj, []


def _fold_string_data(secret: JSONObject) -> JSONObject:
    """`stringData` is write-only: its entries become base64 `data` entries, as on a cluster."""
    data = dict(secret.get("data") or {})
    for key, value in (secret.get("stringData") or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    out = {k: v for k, v in secret.items() if k != "stringData"}
    if data:
        out["data"] = data
    return out


def _job_selector(job: JSONObject) -> JSONObject:
    """Jobs select their pods by the job's uid unless the user manages the selector."""
    spec = dict(job.get("spec") or {})
    if spec.get("manualSelector"):
        return job
    meta = job["metadata"]
    uid, name = meta.get("uid", ""), meta.get("name", "")
    generated = {CONTROLLER_UID: uid, JOB_NAME: name, "controller-uid": uid, "job-name": name}
    spec["selector"] = {"matchLabels": {CONTROLLER_UID: uid}}
    template = dict(spec.get("template") or {})
    template_meta = dict(template.get("metadata") or {})
    template_meta["labels"] = {**(template_meta.get("labels") or {}), **generated}
    template["metadata"] = template_meta
    spec["template"] = template
    return {**job, "spec": spec}


def _crd_immutable_causes(current: JSONObject, obj: JSONObject) -> list[Cause]:
    causes = []
    old_spec, new_spec = current.get("spec") or {}, obj.get("spec") or {}
    for field in ("group", "scope"):
        if old_spec.get(field) != new_spec.get(field):
            causes.append(Cause("FieldValueInvalid", "Invalid value: field is immutable",
                                f"spec.{field}"))
    if (old_spec.get("names") or {}).get("plural") != (new_spec.get("names") or {}).get("plural"):
        causes.append(Cause("FieldValueInvalid", "Invalid value: field is immutable",
                            "spec.names.plural"))
    return causes

"""Built-in kinds: their flags, and schemas that keep every real field of their objects."""

from __future__ import annotations

from typing import Any

import pytest

from controllerkit.apiserver.builtin_types import builtin_types
from controllerkit.apiserver.resources import ResourceType
from controllerkit.apiserver.schema import apply_defaults, prune, unknown_fields, validate

TYPES = {(t.group, t.kind): t for t in builtin_types()}
TIME = "2024-05-01T10:00:00Z"
MICRO_TIME = "2024-05-01T10:00:00.123456Z"
META = {"name": "x", "namespace": "default", "uid": "u", "resourceVersion": "1",
        "creationTimestamp": TIME, "labels": {"a": "b"}, "annotations": {"n": "v"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "1",
                             "controller": True, "blockOwnerDeletion": True}],
        "finalizers": ["example.com/f"], "generation": 1}

REALISTIC_OBJECTS: dict[tuple[str, str], dict[str, Any]] = {
    ("", "Namespace"): {"spec": {"finalizers": ["kubernetes"]}, "status": {
        "phase": "Terminating", "conditions": [{"type": "NamespaceDeletionContentFailure",
                                                "status": "False", "lastTransitionTime": TIME,
                                                "reason": "ContentDeleted", "message": "m"}]}},
    ("", "ConfigMap"): {"data": {"a": "b"}, "binaryData": {"c": "aGk="}, "immutable": False},
    ("", "Secret"): {"data": {"a": "aGk="}, "stringData": {"b": "plain"}, "type": "Opaque",
                     "immutable": True},
    ("", "Event"): {
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "p", "namespace": "d",
                           "uid": "u", "resourceVersion": "2", "fieldPath": "spec"},
        "reason": "Started", "message": "m", "type": "Normal", "count": 2,
        "firstTimestamp": TIME, "lastTimestamp": TIME, "eventTime": MICRO_TIME,
        "source": {"component": "kubelet", "host": "n"}, "action": "Start",
        "reportingComponent": "kubelet", "reportingInstance": "n",
        "series": {"count": 2, "lastObservedTime": MICRO_TIME},
        "related": {"kind": "Node", "name": "n"}},
    ("events.k8s.io", "Event"): {
        "eventTime": MICRO_TIME, "reason": "Started", "note": "n", "type": "Normal",
        "action": "Start", "reportingController": "c", "reportingInstance": "i",
        "regarding": {"kind": "Pod", "name": "p"}, "deprecatedCount": 1,
        "deprecatedSource": {"component": "c"}, "series": {"count": 2,
                                                           "lastObservedTime": MICRO_TIME}},
    ("coordination.k8s.io", "Lease"): {"spec": {
        "holderIdentity": "me", "leaseDurationSeconds": 15, "acquireTime": MICRO_TIME,
        "renewTime": MICRO_TIME, "leaseTransitions": 3}},
    ("batch", "Job"): {
        "spec": {"parallelism": 1, "completions": 1, "backoffLimit": 6,
                 "completionMode": "NonIndexed", "suspend": False,
                 "podReplacementPolicy": "TerminatingOrFailed", "manualSelector": False,
                 "selector": {"matchLabels": {"job-name": "x"}},
                 "template": {"metadata": {"labels": {"job-name": "x"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox",
                                                       "resources": {}}],
                                       "restartPolicy": "Never"}},
                 "ttlSecondsAfterFinished": 60},
        "status": {"startTime": TIME, "completionTime": TIME, "succeeded": 1, "ready": 0,
                   "terminating": 0, "uncountedTerminatedPods": {},
                   "conditions": [{"type": "Complete", "status": "True", "lastProbeTime": TIME,
                                   "lastTransitionTime": TIME}]}},
    ("apiextensions.k8s.io", "CustomResourceDefinition"): {
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "kind": "Widget", "singular": "widget",
                           "listKind": "WidgetList"},
                 "conversion": {"strategy": "None"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {
                                   "type": "object", "x-kubernetes-anything": 1,
                                   "properties": {"spec": {"type": "object"}}}}}]},
        "status": {"acceptedNames": {"plural": "widgets", "kind": "Widget"},
                   "storedVersions": ["v1"], "conditions": [
                       {"type": "Established", "status": "True", "lastTransitionTime": TIME,
                        "reason": "InitialNamesAccepted", "message": "m"}]}},
}


def full_object(rtype: ResourceType, body: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": rtype.api_version, "kind": rtype.kind, "metadata": META, **body}


@pytest.mark.parametrize("key", sorted(REALISTIC_OBJECTS))
def test_realistic_object_loses_nothing_to_pruning_and_validates(key: tuple[str, str]) -> None:
    rtype = TYPES[key]
    assert rtype.schema is not None
    obj = full_object(rtype, REALISTIC_OBJECTS[key])
    assert unknown_fields(obj, rtype.schema) == []
    assert prune(obj, rtype.schema) == obj
    assert validate(apply_defaults(obj, rtype.schema), rtype.schema) == []


def test_unknown_job_spec_field_is_reported_but_pod_template_is_free_form() -> None:
    schema = TYPES[("batch", "Job")].schema
    assert schema is not None
    job = {"spec": {"bogus": 1, "template": {"spec": {"anything": {"goes": True}}}}}
    assert unknown_fields(job, schema) == ["spec.bogus"]


def test_job_spec_gets_the_real_servers_defaults() -> None:
    schema = TYPES[("batch", "Job")].schema
    assert schema is not None
    job = apply_defaults({"spec": {"template": {"spec": {}}}}, schema)
    assert job["spec"] == {"template": {"spec": {}}, "backoffLimit": 6,
                           "completionMode": "NonIndexed", "parallelism": 1,
                           "podReplacementPolicy": "TerminatingOrFailed", "suspend": False}


@pytest.mark.parametrize(
    ("key", "flags"),
    [
        (("", "Namespace"), (False, ("ns",), (), True, False, True, True)),
        (("", "ConfigMap"), (True, ("cm",), (), False, False, True, False)),
        (("", "Secret"), (True, (), (), False, False, True, False)),
        (("", "Event"), (True, ("ev",), (), False, False, True, False)),
        (("events.k8s.io", "Event"), (True, ("ev",), (), False, False, True, False)),
        (("coordination.k8s.io", "Lease"), (True, (), (), False, False, True, False)),
        (("batch", "Job"), (True, (), ("all",), True, True, True, False)),
        (("apiextensions.k8s.io", "CustomResourceDefinition"),
         (False, ("crd", "crds"), ("api-extensions",), True, True, True, True)),
    ],
)
def test_builtin_type_flags_match_the_real_server(
    key: tuple[str, str], flags: tuple[Any, ...],
) -> None:
    rtype = TYPES[key]
    assert (rtype.namespaced, rtype.short_names, rtype.categories, rtype.has_status,
            rtype.tracks_generation, rtype.strategic_merge,
            rtype.delete_returns_object) == flags


def test_jobs_orphan_their_pods_by_default() -> None:
    assert TYPES[("batch", "Job")].default_propagation == "Orphan"
    assert TYPES[("", "ConfigMap")].default_propagation == "Background"


def test_namespaces_cannot_be_deleted_as_a_collection() -> None:
    assert "deletecollection" not in TYPES[("", "Namespace")].verbs
    assert "deletecollection" in TYPES[("", "ConfigMap")].verbs


@pytest.mark.parametrize(
    ("key", "column", "json_path"),
    [
        (("", "Namespace"), "Status", ".status.phase"),
        (("", "ConfigMap"), "Data", ".data"),
        (("", "Secret"), "Type", ".type"),
        (("coordination.k8s.io", "Lease"), "Holder", ".spec.holderIdentity"),
        (("apiextensions.k8s.io", "CustomResourceDefinition"), "Created At",
         ".metadata.creationTimestamp"),
    ],
)
def test_builtin_printer_columns_kubectl_users_expect(
    key: tuple[str, str], column: str, json_path: str,
) -> None:
    columns = {c["name"]: c["jsonPath"] for c in TYPES[key].printer_columns}
    assert columns[column] == json_path


def test_every_builtin_schema_describes_its_fields_for_explain() -> None:
    for rtype in builtin_types():
        assert rtype.schema is not None
        assert rtype.schema["description"]
        metadata = rtype.schema["properties"]["metadata"]
        assert metadata["properties"]["name"]["description"]

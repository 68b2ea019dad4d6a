"""The shipped manifests: CRDs in sync with the models, least-privilege RBAC, a valid demo."""

from __future__ import annotations

from pathlib import Path

import yaml

from examples.gittarget.kinds import KINDS, crds_yaml

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "gittarget"


def test_the_crd_manifest_is_generated_from_the_models() -> None:
    assert (EXAMPLE / "manifests" / "crds.yaml").read_text() == crds_yaml()


def test_the_controller_may_write_only_the_status_of_gittargets() -> None:
    documents = list(yaml.safe_load_all((EXAMPLE / "rbac.yaml").read_text()))
    rules = [rule for document in documents if document["kind"] == "ClusterRole"
             for rule in document["rules"]
             if "gittarget.controllerkit.dev" in rule["apiGroups"]]
    writes = {"create", "update", "patch", "delete", "deletecollection", "*"}
    granted = {(resource, verb) for rule in rules for resource in rule["resources"]
               for verb in rule["verbs"] if verb in writes}
    assert granted == {("gittargets/status", "update"), ("gittargets/status", "patch")}
    bound = {document["roleRef"]["name"] for document in documents
             if document["kind"] == "ClusterRoleBinding"}
    assert bound == {document["metadata"]["name"] for document in documents
                     if document["kind"] == "ClusterRole"}


def test_the_demo_objects_are_valid() -> None:
    models = {model.__kind__.kind: model for model in KINDS}
    documents = list(yaml.safe_load_all((EXAMPLE / "manifests" / "demo.yaml").read_text()))
    ours = [document for document in documents if document["kind"] in models]
    assert sorted(document["kind"] for document in ours) == [
        "GitProvider", "GitTarget", "WatchRule"]
    for document in ours:
        models[document["kind"]].model_validate(document)

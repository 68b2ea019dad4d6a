"""Workload, service, networking and RBAC kinds: served like the real server serves them.

Every kind of `workload_manifests.CASES` goes through the real client over HTTP (create, get,
list, patch, status writes, delete), shows up in discovery and OpenAPI with the real names and
scope, and works with the kubectl commands people first type against a cluster.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.apiserver.builtin_types import builtin_types
from controllerkit.apiserver.schema import apply_defaults, prune, unknown_fields, validate
from controllerkit.client import KubeClient, PatchType
from controllerkit.errors import NotFound
from controllerkit.meta import CONFIG_MAP, ResourceKind
from controllerkit.testing import Kubectl

from .http_api import assert_status, cause_fields, ok, rest_client
from .workload_manifests import (
    CASES,
    DEPLOYMENT,
    RBAC,
    ROLE_BINDING,
    SELECTOR,
    WITH_STATUS,
    WITHOUT_STATUS,
    KindCase,
    pod_template,
)

JSONDict = dict[str, Any]
NEW_GROUPS = ("apps", "networking.k8s.io", RBAC)
DEPLOYMENT_CASE = next(case for case in CASES if case.kind == DEPLOYMENT)


def merged(target: Any, patch: Any) -> Any:
    """`target` with an RFC 7386 merge patch applied (what the server must answer)."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merged(out.get(key), value)
    return out


def body_of(obj: JSONDict) -> JSONDict:
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}


async def gone_within(kube: KubeClient, kind: ResourceKind, name: str, *, namespace: str,
                      seconds: float) -> None:
    """Wait until the object is gone; fail if it is still there after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            await kube.get(kind, name, namespace=namespace)
        except NotFound:
            return
        assert time.monotonic() < deadline, f"{kind} {name} was never deleted"
        await asyncio.sleep(0.02)


# -- the object lifecycle, kind by kind ---------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=str)
async def test_create_get_list_and_patch_keep_every_field(
    kube: KubeClient, case: KindCase,
) -> None:
    created = await kube.create(case.kind, case.manifest("one"), namespace=case.namespace)
    fetched = await kube.get(case.kind, "one", namespace=case.namespace)
    listed = await kube.list(case.kind, namespace=case.namespace)
    patched = await kube.patch(case.kind, "one", case.patch, namespace=case.namespace)
    assert (created["apiVersion"], created["kind"]) == (case.kind.api_version, case.kind.kind)
    assert body_of(created) == case.fields
    assert fetched == created
    assert [item["metadata"]["name"] for item in listed.items] == ["one"]
    assert body_of(patched) == merged(case.fields, case.patch)


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_generation_moves_with_the_spec_only_for_kinds_that_track_it(
    kube: KubeClient, case: KindCase,
) -> None:
    created = await kube.create(case.kind, case.manifest("one"), namespace=case.namespace)
    patched = await kube.patch(case.kind, "one", case.patch, namespace=case.namespace)
    expected = (1, 2) if case.tracks_generation else (None, None)
    assert (created["metadata"].get("generation"),
            patched["metadata"].get("generation")) == expected


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_delete_answers_like_the_real_server_and_removes(
    kube: KubeClient, case: KindCase,
) -> None:
    created = await kube.create(case.kind, case.manifest("one"), namespace=case.namespace)
    answer = await kube.delete(case.kind, "one", namespace=case.namespace)
    if case.delete_returns_object:
        assert answer["kind"] == case.kind.kind
        assert answer["metadata"]["uid"] == created["metadata"]["uid"]
    else:
        assert answer["kind"] == "Status" and answer["status"] == "Success"
        assert answer["details"]["name"] == "one"
    with pytest.raises(NotFound):
        await kube.get(case.kind, "one", namespace=case.namespace)


async def test_node_collection_is_cluster_scoped(server: EmbeddedApiServer) -> None:
    async with rest_client(server.url, server.token) as api:
        created = await api.post("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
                                                   "metadata": {"name": "n1"}})
        nodes = await api.get("/api/v1/nodes")
        namespaced = await api.get("/api/v1/namespaces/default/nodes")
    assert ok(created, 201)["metadata"].get("namespace") is None
    assert ok(nodes)["kind"] == "NodeList"
    assert [node["metadata"]["name"] for node in nodes.body["items"]] == ["n1"]
    assert_status(namespaced, 404, "NotFound")


# -- the status subresource --------------------------------------------------------------------

@pytest.mark.parametrize("case", WITH_STATUS, ids=str)
async def test_status_subresource_writes_status_and_main_writes_ignore_it(
    kube: KubeClient, case: KindCase,
) -> None:
    created = await kube.create(case.kind, case.manifest("one"), namespace=case.namespace)
    reported = await kube.patch_status(case.kind, "one", {"status": case.status},
                                       namespace=case.namespace,
                                       resource_version=created["metadata"]["resourceVersion"])
    forged = await kube.patch(case.kind, "one", {"status": {"forged": True}},
                              namespace=case.namespace)
    assert reported["status"] == case.status
    assert reported["metadata"].get("generation") == created["metadata"].get("generation")
    assert forged["status"] == case.status


@pytest.mark.parametrize("case", WITHOUT_STATUS, ids=str)
async def test_kinds_without_status_have_no_status_subresource(
    kube: KubeClient, case: KindCase,
) -> None:
    await kube.create(case.kind, case.manifest("one"), namespace=case.namespace)
    with pytest.raises(NotFound):
        await kube.patch_status(case.kind, "one", {"status": {"x": 1}},
                                namespace=case.namespace)


# -- schemas: the top level is checked, spec and status keep what they are given ---------------

@pytest.mark.parametrize("case", CASES, ids=str)
def test_realistic_object_loses_nothing_to_pruning_and_validates(case: KindCase) -> None:
    rtype = {(t.group, t.kind): t for t in builtin_types()}[(case.kind.group, case.kind.kind)]
    assert rtype.schema is not None
    obj = case.manifest("one", namespace="default", labels={"app": "web"})
    if case.status:
        obj["status"] = case.status
    assert unknown_fields(obj, rtype.schema) == []
    assert prune(obj, rtype.schema) == obj
    assert validate(apply_defaults(obj, rtype.schema), rtype.schema) == []


async def test_unknown_top_level_field_is_refused_but_spec_keeps_unmodelled_fields(
    server: EmbeddedApiServer,
) -> None:
    path = "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict"
    spec = {"selector": SELECTOR, "template": pod_template(), "futureField": {"a": [1]}}
    async with rest_client(server.url, server.token) as api:
        typo = await api.post(path, {**_deployment("typo"), "sepc": {}})
        kept = await api.post(path, {**_deployment("kept"), "spec": spec})
    assert 'unknown field "sepc"' in assert_status(typo, 400, "BadRequest")["message"]
    assert ok(kept, 201)["spec"] == spec


async def test_role_binding_needs_a_role_ref(server: EmbeddedApiServer) -> None:
    binding = {"apiVersion": ROLE_BINDING.api_version, "kind": "RoleBinding",
               "metadata": {"name": "no-role"}, "subjects": []}
    async with rest_client(server.url, server.token) as api:
        reply = await api.post(ROLE_BINDING.path("default"), binding)
    assert cause_fields(assert_status(reply, 422, "Invalid")) == ["roleRef"]


# -- patches and garbage collection ---------------------------------------------------------------

async def test_strategic_merge_patch_adds_a_container_by_name(kube: KubeClient) -> None:
    await kube.create(DEPLOYMENT, _deployment("web"), namespace="default")
    sidecar = {"spec": {"template": {"spec": {"containers": [
        {"name": "proxy", "image": "envoy:1"}]}}}}
    patched = await kube.patch(DEPLOYMENT, "web", sidecar, namespace="default",
                               patch_type=PatchType.STRATEGIC)
    containers = patched["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web", "proxy"]


async def test_deleting_the_owner_of_a_deployment_deletes_the_deployment(
    kube: KubeClient,
) -> None:
    owner = await kube.create(CONFIG_MAP, {"metadata": {"name": "owner"}}, namespace="default")
    reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                 "uid": owner["metadata"]["uid"], "controller": True}
    await kube.create(DEPLOYMENT, _deployment("owned", ownerReferences=[reference]),
                      namespace="default")
    await kube.delete(CONFIG_MAP, "owner", namespace="default")
    await gone_within(kube, DEPLOYMENT, "owned", namespace="default", seconds=30)


# -- discovery and OpenAPI ----------------------------------------------------------------------

async def test_apis_lists_the_new_groups_with_v1_preferred(server: EmbeddedApiServer) -> None:
    async with rest_client(server.url, server.token) as api:
        groups = {g["name"]: g for g in ok(await api.get("/apis"))["groups"]}
        documents = [ok(await api.get(f"/apis/{group}")) for group in NEW_GROUPS]
    for group, document in zip(NEW_GROUPS, documents, strict=True):
        preferred = {"groupVersion": f"{group}/v1", "version": "v1"}
        assert groups[group]["preferredVersion"] == preferred
        assert (document["kind"], document["preferredVersion"]) == ("APIGroup", preferred)


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_discovery_describes_the_kind_as_the_real_server_does(
    server: EmbeddedApiServer, case: KindCase,
) -> None:
    prefix = f"/apis/{case.kind.api_version}" if case.kind.group else "/api/v1"
    async with rest_client(server.url, server.token) as api:
        resources = {r["name"]: r for r in ok(await api.get(prefix))["resources"]}
    entry = resources[case.kind.plural]
    assert (entry["kind"], entry["namespaced"], entry["singularName"]) == (
        case.kind.kind, case.kind.namespaced, case.kind.kind.lower())
    assert entry.get("shortNames", []) == list(case.short_names)
    assert entry.get("categories", []) == (["all"] if case.in_category_all else [])
    assert (f"{case.kind.plural}/status" in resources) == case.has_status


async def test_openapi_v3_describes_the_kinds_with_permissive_spec_and_status(
    server: EmbeddedApiServer,
) -> None:
    async with rest_client(server.url, server.token) as api:
        index = ok(await api.get("/openapi/v3"))["paths"]
        apps = ok(await api.get("/openapi/v3/apis/apps/v1"))
    assert {f"apis/{group}/v1" for group in NEW_GROUPS} <= set(index)
    deployment = apps["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}]
    for part in ("spec", "status"):
        assert deployment["properties"][part]["type"] == "object"
        assert deployment["properties"][part]["x-kubernetes-preserve-unknown-fields"] is True


async def test_openapi_v2_defines_every_new_kind(server: EmbeddedApiServer) -> None:
    async with rest_client(server.url, server.token) as api:
        definitions = ok(await api.get("/openapi/v2"))["definitions"]
    kinds = {name.rsplit(".", 1)[1] for name in definitions}
    assert {case.kind.kind for case in CASES} <= kinds
    # Untagged while their spec is undescribed: kubectl's client-side apply would find them
    # through the tag and crash computing a patch below `spec`.
    assert "x-kubernetes-group-version-kind" not in definitions["io.k8s.api.apps.v1.Deployment"]


# -- kubectl ------------------------------------------------------------------------------------

def test_kubectl_creates_a_deployment_and_gets_common_kinds(kubectl: Kubectl) -> None:
    assert "deployment.apps/web created" in kubectl.run(
        "create", "deployment", "web", "--image=nginx").stdout
    kubectl.run("create", "serviceaccount", "bot")
    kubectl.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                   "spec": {"type": "ClusterIP", "selector": {"app": "web"},
                            "ports": [{"port": 80}]}})
    kubectl.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}})
    blocks = kubectl.run("get", "deploy,svc,sa,no").stdout.strip().split("\n\n")
    tables = [[line.split() for line in block.splitlines()] for block in blocks]
    assert [(table[0], table[1][0]) for table in tables] == [
        (["NAME", "UP-TO-DATE", "AVAILABLE", "AGE"], "deployment.apps/web"),
        (["NAME", "TYPE", "CLUSTER-IP", "AGE"], "service/web"),
        (["NAME", "SECRETS", "AGE"], "serviceaccount/bot"),
        (["NAME", "AGE", "VERSION"], "node/node-1"),
    ]
    deployment = kubectl.json("get", "deployment", "web")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"
    assert deployment["metadata"]["generation"] == 1


def test_kubectl_creates_rbac_objects_for_a_service_account(kubectl: Kubectl) -> None:
    commands = [
        ("serviceaccount", "bot"),
        ("role", "reader", "--verb=get,list", "--resource=pods"),
        ("rolebinding", "bot-reads", "--role=reader", "--serviceaccount=default:bot"),
        ("clusterrole", "node-reader", "--verb=get", "--resource=nodes"),
        ("clusterrolebinding", "ops-read-nodes", "--clusterrole=node-reader", "--group=ops"),
    ]
    for command in commands:
        kubectl.run("create", *command)
    binding = kubectl.json("get", "rolebinding", "bot-reads")
    cluster_binding = kubectl.json("get", "clusterrolebinding", "ops-read-nodes")
    role = kubectl.json("get", "role", "reader")
    assert binding["roleRef"] == {"apiGroup": RBAC, "kind": "Role", "name": "reader"}
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]
    assert cluster_binding["subjects"] == [{"apiGroup": RBAC, "kind": "Group", "name": "ops"}]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"],
                              "verbs": ["get", "list"]}]


def test_kubectl_explain_describes_a_deployment(kubectl: Kubectl) -> None:
    doc = kubectl.run("explain", "deployment").stdout
    assert "KIND:       Deployment" in doc and "GROUP:      apps" in doc
    assert "spec\t<Object>" in doc and "status\t<Object>" in doc


def test_kubectl_apply_updates_a_deployment(kubectl: Kubectl) -> None:
    manifest = _deployment("api")
    assert "created" in kubectl.apply(manifest)
    manifest["spec"]["template"] = pod_template(image="nginx:1.28")
    assert "configured" in kubectl.apply(manifest)
    assert "unchanged" in kubectl.apply(manifest)
    deployment = kubectl.json("get", "deployment", "api")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert deployment["metadata"]["generation"] == 2


def test_rollout_status_waits_for_a_controller_that_never_comes(kubectl: Kubectl) -> None:
    kubectl.run("create", "deployment", "web", "--image=nginx")
    proc = kubectl.run("rollout", "status", "deployment/web", "--timeout=3s", check=False)
    assert proc.returncode == 1
    assert "Waiting for deployment spec update to be observed" in proc.stdout
    assert "timed out waiting for the condition" in proc.stderr


def test_rollout_status_succeeds_once_status_reports_the_rollout(kubectl: Kubectl) -> None:
    kubectl.run("create", "deployment", "web", "--image=nginx")
    version = kubectl.json("get", "deployment", "web")["metadata"]["resourceVersion"]
    rolled_out = {"metadata": {"resourceVersion": version}, "status": DEPLOYMENT_CASE.status}
    kubectl.run("patch", "deployment", "web", "--subresource=status", "--type=merge",
                "-p", json.dumps(rolled_out))
    proc = kubectl.run("rollout", "status", "deployment/web", "--timeout=20s")
    assert 'deployment "web" successfully rolled out' in proc.stdout


def _deployment(name: str, **metadata: Any) -> JSONDict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, **metadata},
            "spec": {"replicas": 1, "selector": SELECTOR, "template": pod_template()}}

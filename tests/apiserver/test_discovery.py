"""Discovery documents over HTTP, and how CRDs appear in and disappear from them."""

from __future__ import annotations

from typing import Any

from controllerkit.apiserver import ThreadedApiServer
from controllerkit.testing import Kubectl

from .http_api import (
    CRDS,
    WIDGET_CRD_NAME,
    RestClient,
    assert_page_not_found,
    assert_status,
    install_widget_crd,
    rest_client,
    wait_established,
    widgets_path,
)
from .manifests import widget, widget_crd

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _by_name(resource_list: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in resource_list["resources"]}


async def _groups(api: RestClient) -> dict[str, dict[str, Any]]:
    reply = await api.get("/apis")
    assert reply.status == 200
    assert reply.body["kind"] == "APIGroupList"
    return {g["name"]: g for g in reply.body["groups"]}


async def test_version_reports_kubernetes_1_32(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.get("/version")
    assert reply.status == 200
    assert reply.body["major"] == "1"
    assert reply.body["minor"] == "32"
    assert reply.body["gitVersion"].startswith("v1.32.")


async def test_core_api_lists_only_v1(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.get("/api")
    assert reply.status == 200
    assert reply.body["kind"] == "APIVersions"
    assert reply.body["versions"] == ["v1"]


async def test_core_v1_describes_builtin_resources(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        reply = await api.get("/api/v1")
    assert reply.status == 200
    assert reply.body["kind"] == "APIResourceList"
    assert reply.body["groupVersion"] == "v1"
    resources = _by_name(reply.body)
    assert resources["configmaps"] == {
        "name": "configmaps", "singularName": "configmap", "namespaced": True,
        "kind": "ConfigMap", "verbs": ALL_VERBS, "shortNames": ["cm"],
    }
    assert resources["namespaces"]["namespaced"] is False
    assert resources["namespaces"]["kind"] == "Namespace"
    assert resources["namespaces/status"]["verbs"] == ["get", "patch", "update"]
    assert resources["secrets"]["kind"] == "Secret"
    assert resources["events"]["kind"] == "Event"


async def test_apis_lists_builtin_groups_with_preferred_versions(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        groups = await _groups(api)
        leases = await api.get("/apis/coordination.k8s.io/v1")
        jobs = await api.get("/apis/batch/v1")
        events = await api.get("/apis/events.k8s.io/v1")
    for name in ("apiextensions.k8s.io", "batch", "coordination.k8s.io", "events.k8s.io"):
        assert groups[name]["preferredVersion"] == {"groupVersion": f"{name}/v1",
                                                    "version": "v1"}
    assert "example.com" not in groups
    assert _by_name(leases.body)["leases"]["kind"] == "Lease"
    assert _by_name(jobs.body)["jobs"]["namespaced"] is True
    assert "jobs/status" in _by_name(jobs.body)
    assert _by_name(events.body)["events"]["kind"] == "Event"


async def test_creating_a_crd_adds_its_group_and_resources(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        before = await api.get("/apis/example.com/v1")
        assert_page_not_found(before)
        await install_widget_crd(api)
        groups = await _groups(api)
        group = await api.get("/apis/example.com")
        reply = await api.get("/apis/example.com/v1")
    assert groups["example.com"]["versions"] == [{"groupVersion": "example.com/v1",
                                                   "version": "v1"}]
    assert group.status == 200 and group.body["kind"] == "APIGroup"
    assert reply.status == 200
    assert reply.body["groupVersion"] == "example.com/v1"
    resources = _by_name(reply.body)
    assert set(resources) == {"widgets", "widgets/status"}
    assert resources["widgets"] == {
        "name": "widgets", "singularName": "widget", "namespaced": True, "kind": "Widget",
        "verbs": ALL_VERBS, "shortNames": ["wd"],
    }
    assert resources["widgets/status"]["kind"] == "Widget"
    assert resources["widgets/status"]["namespaced"] is True
    assert sorted(resources["widgets/status"]["verbs"]) == ["get", "patch", "update"]


async def test_cluster_scoped_crd_is_discovered_as_not_namespaced(
    apiserver: ThreadedApiServer,
) -> None:
    crd = widget_crd(plural="gadgets", kind="Gadget", scope="Cluster")
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api, crd)
        reply = await api.get("/apis/example.com/v1")
    resources = _by_name(reply.body)
    assert resources["gadgets"]["namespaced"] is False
    assert resources["gadgets"]["singularName"] == "gadget"
    assert resources["gadgets/status"]["namespaced"] is False


async def test_deleting_a_crd_removes_its_group_and_resources(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        assert (await api.post(widgets_path(), widget("w1"))).status == 201
        deleted = await api.delete(f"{CRDS}/{WIDGET_CRD_NAME}")
        assert deleted.status == 200
        gone = await api.get(f"{CRDS}/{WIDGET_CRD_NAME}")
        groups = await _groups(api)
        version = await api.get("/apis/example.com/v1")
        objects = await api.get(widgets_path())
    assert_status(gone, 404, "NotFound")
    assert "example.com" not in groups
    assert_page_not_found(version)
    assert_page_not_found(objects)


async def test_crd_reports_names_accepted_and_established(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await api.post(CRDS, widget_crd())
        crd = await wait_established(api)
    conditions = {c["type"]: c for c in crd["status"]["conditions"]}
    assert conditions["NamesAccepted"]["status"] == "True"
    assert conditions["Established"]["status"] == "True"
    assert conditions["Established"]["lastTransitionTime"]
    assert crd["status"]["acceptedNames"]["kind"] == "Widget"
    assert crd["status"]["acceptedNames"]["plural"] == "widgets"
    assert crd["status"]["storedVersions"] == ["v1"]


async def test_crd_with_two_served_versions_serves_objects_through_both(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api, widget_crd(versions=("v1", "v2")))
        group = await api.get("/apis/example.com")
        created = await api.post(widgets_path(version="v1"), widget("w1", size=4))
        as_v2 = await api.get(widgets_path("w1", version="v2"))
        through_v2 = await api.post(widgets_path(version="v2"),
                                    widget("w2", size=5, version="v2"))
        as_v1 = await api.get(widgets_path("w2", version="v1"))
        listed = await api.get(widgets_path(version="v2"))
    assert [v["version"] for v in group.body["versions"]] == ["v2", "v1"]
    assert group.body["preferredVersion"]["version"] == "v2"
    assert created.status == 201 and through_v2.status == 201
    assert as_v2.status == 200
    assert as_v2.body["apiVersion"] == "example.com/v2"
    assert as_v2.body["spec"]["size"] == 4
    assert as_v2.body["metadata"]["uid"] == created.body["metadata"]["uid"]
    assert as_v1.body["apiVersion"] == "example.com/v1"
    assert as_v1.body["spec"]["size"] == 5
    assert [i["metadata"]["name"] for i in listed.body["items"]] == ["w1", "w2"]
    assert {i["apiVersion"] for i in listed.body["items"]} == {"example.com/v2"}


async def test_unserved_crd_version_is_not_discovered_or_routed(
    apiserver: ThreadedApiServer,
) -> None:
    crd = widget_crd(versions=("v1", "v2"))
    crd["spec"]["versions"][1]["served"] = False
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api, crd)
        group = await api.get("/apis/example.com")
        v2 = await api.get("/apis/example.com/v2")
        objects = await api.get(widgets_path(version="v2"))
    assert [v["version"] for v in group.body["versions"]] == ["v1"]
    assert_page_not_found(v2)
    assert_page_not_found(objects)


def test_kubectl_api_resources_follows_crd_lifecycle(kubectl: Kubectl) -> None:
    kubectl.apply(widget_crd())
    kubectl.run("wait", "--for=condition=Established", f"crd/{WIDGET_CRD_NAME}",
                "--timeout=10s")
    listed = kubectl.run("api-resources", "--api-group=example.com", "-o", "wide").stdout
    row = next(line.split() for line in listed.splitlines() if line.startswith("widgets"))
    assert row[:5] == ["widgets", "wd", "example.com/v1", "true", "Widget"]
    kubectl.run("delete", "crd", WIDGET_CRD_NAME)
    after = kubectl.run("api-resources", "--api-group=example.com", "--cached=false")
    assert "widgets" not in after.stdout

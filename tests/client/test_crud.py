"""Create, read, update, patch and delete through `KubeClient`, on ConfigMaps and Widgets."""

from __future__ import annotations

import pytest

from controllerkit.client import KubeClient, PatchType
from controllerkit.errors import NotFound
from controllerkit.meta import CONFIG_MAP, NAMESPACE, resource_version

from ..apiserver.manifests import widget
from .kinds import WIDGET, configmap


async def test_configmap_create_get_update_patch_list_delete(kube: KubeClient) -> None:
    created = await kube.create(CONFIG_MAP, configmap("settings", a="1"))
    assert created["metadata"]["uid"]
    assert created["data"] == {"a": "1"}

    read = await kube.get(CONFIG_MAP, "settings", namespace="default")
    assert read == created

    read["data"]["a"] = "2"
    updated = await kube.update(CONFIG_MAP, read)
    assert updated["data"] == {"a": "2"}
    assert int(resource_version(updated)) > int(resource_version(created))

    patched = await kube.patch(CONFIG_MAP, "settings", {"data": {"b": "3"}}, namespace="default")
    assert patched["data"] == {"a": "2", "b": "3"}

    listed = await kube.list(CONFIG_MAP, namespace="default")
    assert [item["metadata"]["name"] for item in listed.items] == ["settings"]
    assert listed.resource_version and listed.continue_token == ""

    await kube.delete(CONFIG_MAP, "settings", namespace="default")
    with pytest.raises(NotFound):
        await kube.get(CONFIG_MAP, "settings", namespace="default")


async def test_create_takes_the_namespace_from_the_object_or_the_argument(
    kube: KubeClient,
) -> None:
    from_object = await kube.create(CONFIG_MAP, configmap("a", namespace="kube-system"))
    assert from_object["metadata"]["namespace"] == "kube-system"
    body = configmap("b")
    del body["metadata"]["namespace"]
    from_argument = await kube.create(CONFIG_MAP, body, namespace="kube-system")
    assert from_argument["metadata"]["namespace"] == "kube-system"


async def test_namespaced_kind_without_a_namespace_is_refused_before_sending(
    kube: KubeClient,
) -> None:
    with pytest.raises(ValueError, match="namespaced"):
        await kube.get(CONFIG_MAP, "settings")
    assert kube.stats.requests["GET"] == 0


async def test_create_fills_in_api_version_and_kind(kube: KubeClient) -> None:
    created = await kube.create(
        CONFIG_MAP, {"metadata": {"name": "bare"}, "data": {}}, namespace="default"
    )
    assert (created["apiVersion"], created["kind"]) == ("v1", "ConfigMap")


async def test_generate_name_gets_a_server_chosen_name(kube: KubeClient) -> None:
    created = await kube.create(
        CONFIG_MAP, {"metadata": {"generateName": "job-"}}, namespace="default"
    )
    assert created["metadata"]["name"].startswith("job-")
    assert len(created["metadata"]["name"]) > len("job-")


async def test_dry_run_create_stores_nothing(kube: KubeClient) -> None:
    answer = await kube.create(CONFIG_MAP, configmap("ghost"), dry_run=True)
    assert answer["metadata"]["name"] == "ghost"
    with pytest.raises(NotFound):
        await kube.get(CONFIG_MAP, "ghost", namespace="default")


async def test_list_items_carry_api_version_and_kind(kube: KubeClient) -> None:
    await kube.create(CONFIG_MAP, configmap("one"))
    (item,) = (await kube.list(CONFIG_MAP, namespace="default")).items
    assert (item["apiVersion"], item["kind"]) == ("v1", "ConfigMap")


async def test_list_without_namespace_spans_all_namespaces(kube: KubeClient) -> None:
    await kube.create(CONFIG_MAP, configmap("here", namespace="default"))
    await kube.create(CONFIG_MAP, configmap("there", namespace="kube-system"))
    listed = await kube.list(CONFIG_MAP)
    assert {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in listed.items} >= {
        ("default", "here"), ("kube-system", "there"),
    }


async def test_label_selector_filters_a_list(kube: KubeClient) -> None:
    labelled = configmap("labelled")
    labelled["metadata"]["labels"] = {"app": "web"}
    await kube.create(CONFIG_MAP, labelled)
    await kube.create(CONFIG_MAP, configmap("plain"))
    listed = await kube.list(CONFIG_MAP, namespace="default", label_selector="app=web")
    assert [i["metadata"]["name"] for i in listed.items] == ["labelled"]


async def test_cluster_scoped_kind_ignores_namespace(kube: KubeClient) -> None:
    created = await kube.create(NAMESPACE, {"metadata": {"name": "team-a"}})
    assert "namespace" not in created["metadata"]
    assert (await kube.get(NAMESPACE, "team-a"))["metadata"]["uid"] == created["metadata"]["uid"]


@pytest.mark.usefixtures("widgets_installed")
async def test_widget_create_update_status_patch_status_delete(kube: KubeClient) -> None:
    created = await kube.create(WIDGET, widget("w1", size=2))
    assert created["spec"] == {"size": 2, "colour": "red"}  # the CRD's default applied

    status = {**created, "status": {"phase": "Building"}}
    with_status = await kube.update_status(WIDGET, status)
    assert with_status["status"] == {"phase": "Building"}

    patched = await kube.patch_status(
        WIDGET, "w1", {"status": {"phase": "Ready"}}, namespace="default",
        resource_version=resource_version(with_status),
    )
    assert patched["status"]["phase"] == "Ready"
    assert patched["spec"]["size"] == 2

    json_patched = await kube.patch_status(
        WIDGET, "w1", [{"op": "add", "path": "/status/observedGeneration", "value": 1}],
        namespace="default", patch_type=PatchType.JSON,
        resource_version=resource_version(patched),
    )
    assert json_patched["status"] == {"phase": "Ready", "observedGeneration": 1}

    deleted = await kube.delete(WIDGET, "w1", namespace="default")
    # Gone at once: a custom resource's DELETE answers with a Status, as on a real server.
    assert deleted["kind"] == "Status" and deleted["details"]["name"] == "w1"
    with pytest.raises(NotFound):
        await kube.get(WIDGET, "w1", namespace="default")


@pytest.mark.usefixtures("widgets_installed")
async def test_widget_json_patch_applies_operations_in_order(kube: KubeClient) -> None:
    await kube.create(WIDGET, widget("w1", size=1))
    patched = await kube.patch(
        WIDGET, "w1",
        [{"op": "replace", "path": "/spec/size", "value": 5},
         {"op": "add", "path": "/metadata/labels", "value": {"tier": "gold"}}],
        namespace="default", patch_type=PatchType.JSON,
    )
    assert patched["spec"]["size"] == 5
    assert patched["metadata"]["labels"] == {"tier": "gold"}


@pytest.mark.usefixtures("widgets_installed")
async def test_server_side_apply_creates_and_then_updates(kube: KubeClient) -> None:
    applied = await kube.patch(
        WIDGET, "w1", widget("w1", size=3), namespace="default",
        patch_type=PatchType.APPLY, field_manager="tests",
    )
    assert applied["spec"]["size"] == 3
    reapplied = await kube.patch(
        WIDGET, "w1", widget("w1", size=4), namespace="default",
        patch_type=PatchType.APPLY, field_manager="tests", force=True,
    )
    assert reapplied["spec"]["size"] == 4


async def test_apply_without_field_manager_is_refused_before_sending(kube: KubeClient) -> None:
    with pytest.raises(ValueError, match="field_manager"):
        await kube.patch(CONFIG_MAP, "x", configmap("x"), namespace="default",
                         patch_type=PatchType.APPLY)
    assert sum(kube.stats.requests.values()) == 0


@pytest.mark.usefixtures("widgets_installed")
async def test_delete_with_finalizer_returns_the_terminating_object(kube: KubeClient) -> None:
    await kube.create(WIDGET, widget("w1", finalizers=["example.com/cleanup"]))
    terminating = await kube.delete(WIDGET, "w1", namespace="default")
    assert terminating["metadata"]["deletionTimestamp"]
    still_there = await kube.get(WIDGET, "w1", namespace="default")
    assert still_there["metadata"]["deletionTimestamp"]
    await kube.patch(WIDGET, "w1", {"metadata": {"finalizers": None}}, namespace="default")
    with pytest.raises(NotFound):
        await kube.get(WIDGET, "w1", namespace="default")

"""Deletion over HTTP: finalizers, propagation over ownerReferences, namespace termination."""

from __future__ import annotations

from typing import Any

from controllerkit.apiserver import ThreadedApiServer

from .http_api import (
    RestClient,
    assert_status,
    core_path,
    install_widget_crd,
    rest_client,
    summary,
    widgets_path,
)
from .manifests import namespace, widget

FINALIZER = "example.com/cleanup"


async def _owner_and_dependents(
    api: RestClient, *, block: bool = False, dependent_finalizers: list[str] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A Widget `owner` and ConfigMaps `dep-0`, `dep-1` that it owns."""
    await install_widget_crd(api)
    owner = (await api.post(widgets_path(), widget("owner"))).body
    ref = {"apiVersion": "example.com/v1", "kind": "Widget", "name": "owner",
           "uid": owner["metadata"]["uid"], "controller": True}
    if block:
        ref["blockOwnerDeletion"] = True
    dependents = []
    for i in range(2):
        meta: dict[str, Any] = {"name": f"dep-{i}", "ownerReferences": [ref]}
        if dependent_finalizers:
            meta["finalizers"] = dependent_finalizers
        reply = await api.post(core_path("configmaps"), {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"i": str(i)}})
        assert reply.status == 201, reply.body
        dependents.append(reply.body)
    return owner, dependents


async def _names(api: RestClient, path: str) -> list[str]:
    reply = await api.get(path)
    assert reply.status == 200, reply.body
    return [i["metadata"]["name"] for i in reply.body["items"]]


# -- finalizers ---------------------------------------------------------------------------------

async def test_delete_without_finalizers_removes_at_once(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        created = await api.post(widgets_path(), widget("w1"))
        async with api.watch(widgets_path(), resourceVersion=str(created.rv)) as stream:
            reply = await api.delete(widgets_path("w1"))
            event = await stream.next_event()
        gone = await api.get(widgets_path("w1"))
    assert reply.status == 200
    assert "deletionTimestamp" not in reply.body.get("metadata", {})
    assert event["type"] == "DELETED"
    assert event["object"]["metadata"]["uid"] == created.body["metadata"]["uid"]
    assert_status(gone, 404, "NotFound")


async def test_immediate_delete_of_a_builtin_answers_success_status(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        created = await api.post(core_path("configmaps"), {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}})
        reply = await api.delete(core_path("configmaps", "cm"))
    assert reply.status == 200
    assert reply.body == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
        "details": {"name": "cm", "kind": "configmaps",
                    "uid": created.body["metadata"]["uid"]},
    }


async def test_finalizers_hold_a_deleted_object_with_deletion_timestamp(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        created = await api.post(widgets_path(), widget("w1", finalizers=[FINALIZER]))
        async with api.watch(widgets_path(), resourceVersion=str(created.rv)) as stream:
            reply = await api.delete(widgets_path("w1"))
            event = await stream.next_event()
            again = await api.delete(widgets_path("w1"))
            await stream.assert_quiet(0.2)
        held = await api.get(widgets_path("w1"))
    assert reply.status == 200
    assert reply.body["kind"] == "Widget"
    assert reply.body["metadata"]["deletionTimestamp"]
    assert event["type"] == "MODIFIED"
    assert event["object"]["metadata"]["deletionTimestamp"]
    assert event["object"]["metadata"]["finalizers"] == [FINALIZER]
    # Deleting a terminating object again changes nothing.
    assert again.status == 200
    assert again.rv == reply.rv
    assert held.status == 200
    assert held.body["metadata"]["deletionTimestamp"] == reply.body["metadata"][
        "deletionTimestamp"]


async def test_removing_the_last_finalizer_deletes_the_object(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        await api.post(widgets_path(), widget("w1", finalizers=[FINALIZER, "example.com/other"]))
        deleting = await api.delete(widgets_path("w1"))
        async with api.watch(widgets_path(), resourceVersion=str(deleting.rv)) as stream:
            one_left = await api.patch(widgets_path("w1"), {
                "metadata": {"finalizers": ["example.com/other"]}})
            modified = await stream.next_event()
            last = await api.patch(widgets_path("w1"), {"metadata": {"finalizers": None}})
            deleted = await stream.next_event()
        gone = await api.get(widgets_path("w1"))
    assert one_left.status == 200 and last.status == 200
    assert modified["type"] == "MODIFIED"
    assert modified["object"]["metadata"]["finalizers"] == ["example.com/other"]
    assert deleted["type"] == "DELETED"
    assert "finalizers" not in deleted["object"]["metadata"]
    assert int(deleted["object"]["metadata"]["resourceVersion"]) > one_left.rv
    assert_status(gone, 404, "NotFound")


async def test_terminating_object_accepts_no_new_finalizers(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await install_widget_crd(api)
        await api.post(widgets_path(), widget("w1", finalizers=[FINALIZER]))
        await api.delete(widgets_path("w1"))
        reply = await api.patch(widgets_path("w1"), {
            "metadata": {"finalizers": [FINALIZER, "example.com/late"]}})
    status = assert_status(reply, 422, "Invalid")
    assert status["details"]["causes"][0]["field"] == "metadata.finalizers"


# -- propagation --------------------------------------------------------------------------------

async def test_background_deletion_collects_dependents(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        owner, _deps = await _owner_and_dependents(api)
        async with api.watch(core_path("configmaps"),
                             resourceVersion=owner["metadata"]["resourceVersion"]) as stream:
            reply = await api.delete(widgets_path("owner"),
                                     {"propagationPolicy": "Background"})
            events = await stream.take(4)
        owner_gone = await api.get(widgets_path("owner"))
        left = await _names(api, core_path("configmaps"))
    assert reply.status == 200
    assert_status(owner_gone, 404, "NotFound")
    assert summary(events) == [("ADDED", "dep-0"), ("ADDED", "dep-1"),
                              ("DELETED", "dep-0"), ("DELETED", "dep-1")]
    assert "dep-0" not in left and "dep-1" not in left


async def test_default_propagation_of_a_custom_resource_is_background(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await _owner_and_dependents(api)
        reply = await api.delete(widgets_path("owner"))
        left = await _names(api, core_path("configmaps"))
    assert reply.status == 200
    assert [n for n in left if n.startswith("dep-")] == []


async def test_orphan_deletion_keeps_dependents_without_the_owner_reference(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await _owner_and_dependents(api)
        reply = await api.delete(widgets_path("owner"), params={"propagationPolicy": "Orphan"})
        owner_gone = await api.get(widgets_path("owner"))
        deps = [await api.get(core_path("configmaps", f"dep-{i}")) for i in range(2)]
    assert reply.status == 200
    assert_status(owner_gone, 404, "NotFound")
    for dep in deps:
        assert dep.status == 200
        assert "ownerReferences" not in dep.body["metadata"]


async def test_foreground_deletion_removes_dependents_before_the_owner(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        owner, _deps = await _owner_and_dependents(api, block=True)
        start = owner["metadata"]["resourceVersion"]
        async with api.watch(widgets_path(), resourceVersion=start) as owners, \
                api.watch(core_path("configmaps"), resourceVersion=start) as dependents:
            reply = await api.delete(widgets_path("owner"), {"propagationPolicy": "Foreground"})
            dep_events = await dependents.take(4)
            owner_events = await owners.take(2)
    assert reply.status == 200
    assert reply.body["metadata"]["deletionTimestamp"]
    assert reply.body["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert summary(owner_events) == [("MODIFIED", "owner"), ("DELETED", "owner")]
    assert summary(dep_events)[2:] == [("DELETED", "dep-0"), ("DELETED", "dep-1")]
    dep_rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in dep_events[-2:]]
    owner_rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in owner_events]
    # Owner marked, then dependents deleted, then the owner itself.
    assert owner_rvs[0] < dep_rvs[0] < dep_rvs[1] < owner_rvs[1]


async def test_foreground_delete_of_a_builtin_answers_with_the_terminating_object(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        owner = await api.post(core_path("configmaps"), {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}})
        ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
               "uid": owner.body["metadata"]["uid"], "blockOwnerDeletion": True}
        await api.post(core_path("configmaps"), {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "dep", "ownerReferences": [ref]}})
        reply = await api.delete(core_path("configmaps", "owner"),
                                 {"propagationPolicy": "Foreground"})
        left = await _names(api, core_path("configmaps"))
    assert reply.status == 200
    assert reply.body["kind"] == "ConfigMap"
    assert reply.body["metadata"]["deletionTimestamp"]
    assert reply.body["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert "owner" not in left and "dep" not in left


async def test_foreground_owner_waits_for_a_finalizing_blocking_dependent(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await _owner_and_dependents(api, block=True, dependent_finalizers=[FINALIZER])
        reply = await api.delete(widgets_path("owner"), {"propagationPolicy": "Foreground"})
        waiting = await api.get(widgets_path("owner"))
        dep0 = await api.get(core_path("configmaps", "dep-0"))
        await api.patch(core_path("configmaps", "dep-0"), {"metadata": {"finalizers": None}})
        still_waiting = await api.get(widgets_path("owner"))
        await api.patch(core_path("configmaps", "dep-1"), {"metadata": {"finalizers": None}})
        gone = await api.get(widgets_path("owner"))
        left = await _names(api, core_path("configmaps"))
    assert reply.status == 200
    assert waiting.status == 200
    assert waiting.body["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert dep0.body["metadata"]["deletionTimestamp"]
    assert still_waiting.status == 200
    assert_status(gone, 404, "NotFound")
    assert [n for n in left if n.startswith("dep-")] == []


async def test_dependent_with_another_live_owner_survives(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as api:
        await _owner_and_dependents(api)
        other = (await api.post(widgets_path(), widget("other"))).body
        second_ref = {"apiVersion": "example.com/v1", "kind": "Widget", "name": "other",
                      "uid": other["metadata"]["uid"]}
        dep = (await api.get(core_path("configmaps", "dep-0"))).body
        refs = [*dep["metadata"]["ownerReferences"], second_ref]
        await api.patch(core_path("configmaps", "dep-0"), {"metadata": {"ownerReferences": refs}})
        await api.delete(widgets_path("owner"), {"propagationPolicy": "Background"})
        survivor = await api.get(core_path("configmaps", "dep-0"))
        collected = await api.get(core_path("configmaps", "dep-1"))
    assert survivor.status == 200
    assert survivor.body["metadata"]["ownerReferences"] == [second_ref]
    assert_status(collected, 404, "NotFound")


# -- namespaces ---------------------------------------------------------------------------------

async def _namespace_with_content(api: RestClient, name: str = "team") -> dict[str, Any]:
    await install_widget_crd(api)
    ns = await api.post(core_path("namespaces", namespace=None), namespace(name))
    assert ns.status == 201, ns.body
    for i in range(2):
        cm = await api.post(core_path("configmaps", namespace=name), {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"}})
        assert cm.status == 201, cm.body
    wd = await api.post(widgets_path(namespace=name), widget("w1", namespace=name))
    assert wd.status == 201, wd.body
    body: dict[str, Any] = ns.body
    return body


async def test_namespace_deletion_removes_its_objects_then_itself(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        ns = await _namespace_with_content(api)
        outside = await api.post(core_path("configmaps"), {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep"}})
        start = str(outside.rv)
        async with api.watch(core_path("namespaces", namespace=None),
                             resourceVersion=start) as namespaces, \
                api.watch(core_path("configmaps", namespace="team"),
                          resourceVersion=start) as configmaps, \
                api.watch(widgets_path(namespace="team"), resourceVersion=start) as widgets:
            reply = await api.delete(core_path("namespaces", "team", namespace=None))
            ns_events = await namespaces.take(2)
            cm_events = await configmaps.take(2)
            wd_events = await widgets.take(1)
        gone = await api.get(core_path("namespaces", "team", namespace=None))
        kept = await api.get(core_path("configmaps", "keep"))
    assert reply.status == 200
    assert reply.body["kind"] == "Namespace"
    assert reply.body["status"]["phase"] == "Terminating"
    assert reply.body["metadata"]["uid"] == ns["metadata"]["uid"]
    assert summary(ns_events) == [("MODIFIED", "team"), ("DELETED", "team")]
    assert ns_events[0]["object"]["status"]["phase"] == "Terminating"
    assert sorted(summary(cm_events)) == [("DELETED", "cm-0"), ("DELETED", "cm-1")]
    assert summary(wd_events) == [("DELETED", "w1")]
    content_rvs = [int(e["object"]["metadata"]["resourceVersion"])
                   for e in cm_events + wd_events]
    ns_rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in ns_events]
    assert ns_rvs[0] < min(content_rvs) and max(content_rvs) < ns_rvs[1]
    assert_status(gone, 404, "NotFound")
    assert kept.status == 200


async def test_namespace_waits_for_finalizing_content_and_refuses_new_objects(
    apiserver: ThreadedApiServer,
) -> None:
    async with rest_client(apiserver.url) as api:
        await _namespace_with_content(api)
        await api.patch(widgets_path("w1", namespace="team"),
                        {"metadata": {"finalizers": [FINALIZER]}})
        await api.delete(core_path("namespaces", "team", namespace=None))
        terminating = await api.get(core_path("namespaces", "team", namespace=None))
        refused = await api.post(core_path("configmaps", namespace="team"), {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}})
        held = await api.get(widgets_path("w1", namespace="team"))
        await api.patch(widgets_path("w1", namespace="team"), {"metadata": {"finalizers": None}})
        gone = await api.get(core_path("namespaces", "team", namespace=None))
    assert terminating.status == 200
    assert terminating.body["status"]["phase"] == "Terminating"
    status = assert_status(refused, 403, "Forbidden")
    assert "because it is being terminated" in status["message"]
    assert held.body["metadata"]["deletionTimestamp"]
    assert_status(gone, 404, "NotFound")

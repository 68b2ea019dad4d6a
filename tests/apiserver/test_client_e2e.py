"""kubernetes-asyncio end to end: CoreV1Api, CustomObjectsApi and its Watch against the server."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable
from typing import Any

import pytest
from kubernetes_asyncio.client import (
    ApiClient,
    ApiException,
    ApiextensionsV1Api,
    CoreV1Api,
    CustomObjectsApi,
    V1ConfigMap,
    V1ObjectMeta,
)
from kubernetes_asyncio.watch import Watch

from controllerkit.apiserver import EmbeddedApiServer, ThreadedApiServer

from .http_api import CONFIGMAPS, MERGE_PATCH, kube_api, ok, rest_client
from .manifests import GROUP, configmap, widget, widget_crd

# kubernetes-asyncio's stubs are narrower than its generated code, which serializes a plain
# dict body as it is and accepts `_content_type` (for a dict patch it would otherwise send a
# JSON patch); the `type: ignore`s below mark those calls, and go stale if the stubs catch up.
WIDGETS = (GROUP, "v1", "default", "widgets")
STALE_MESSAGE = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


async def _failure(call: Awaitable[Any], code: int, reason: str) -> dict[str, Any]:
    """The `Status` body of a call that must fail with this HTTP code and reason."""
    with pytest.raises(ApiException) as raised:
        await call
    assert raised.value.status == code
    assert raised.value.body is not None
    body: dict[str, Any] = json.loads(raised.value.body)
    assert body["reason"] == reason
    return body


def _cm(name: str, data: dict[str, str], rv: str | None = None) -> V1ConfigMap:
    return V1ConfigMap(metadata=V1ObjectMeta(name=name, resource_version=rv), data=data)


async def _widgets_api(api: ApiClient) -> CustomObjectsApi:
    """Installs the Widget CRD; the client to reach widgets at `*WIDGETS`."""
    await ApiextensionsV1Api(api).create_custom_resource_definition(
        body=widget_crd())  # type: ignore[arg-type]
    return CustomObjectsApi(api)


async def test_configmap_create_read_update_patch_list_delete(
    apiserver: ThreadedApiServer,
) -> None:
    async with kube_api(apiserver) as api:
        core = CoreV1Api(api)
        created = await core.create_namespaced_config_map("default", _cm("settings", {"a": "1"}))
        assert created.metadata.uid and created.metadata.creation_timestamp
        read = await core.read_namespaced_config_map("settings", "default")
        assert read.data == {"a": "1"}
        assert read.metadata.resource_version == created.metadata.resource_version

        read.data = {"a": "2"}
        replaced = await core.replace_namespaced_config_map("settings", "default", read)
        assert replaced.data == {"a": "2"}
        assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)

        patched = await core.patch_namespaced_config_map(  # type: ignore[call-arg]
            "settings", "default", {"data": {"b": "3"}}, _content_type=MERGE_PATCH
        )
        assert patched.data == {"a": "2", "b": "3"}

        listed = await core.list_namespaced_config_map("default")
        assert [cm.metadata.name for cm in listed.items] == ["settings"]
        assert listed.items[0].metadata.resource_version == patched.metadata.resource_version

        await core.delete_namespaced_config_map("settings", "default")
        assert (await core.list_namespaced_config_map("default")).items == []


async def test_widget_create_read_update_status_list_delete(
    apiserver: ThreadedApiServer,
) -> None:
    async with kube_api(apiserver) as api:
        custom = await _widgets_api(api)
        created = await custom.create_namespaced_custom_object(*WIDGETS, widget("w1", size=2))
        assert created["spec"] == {"size": 2, "colour": "red"}
        assert created["metadata"]["generation"] == 1

        read = await custom.get_namespaced_custom_object(*WIDGETS, "w1")
        read["spec"]["size"] = 5
        replaced = await custom.replace_namespaced_custom_object(*WIDGETS, "w1", read)
        assert replaced["spec"]["size"] == 5
        assert replaced["metadata"]["generation"] == 2

        status = await custom.patch_namespaced_custom_object_status(  # type: ignore[call-arg]
            *WIDGETS, "w1",
            {"metadata": {"resourceVersion": replaced["metadata"]["resourceVersion"]},
             "status": {"phase": "Ready"}},
            _content_type=MERGE_PATCH,
        )
        assert status["status"] == {"phase": "Ready"}
        assert status["metadata"]["generation"] == 2

        listed = await custom.list_namespaced_custom_object(*WIDGETS)
        assert [w["metadata"]["name"] for w in listed["items"]] == ["w1"]
        assert listed["items"][0]["status"] == {"phase": "Ready"}

        await custom.delete_namespaced_custom_object(*WIDGETS, "w1")
        assert (await custom.list_namespaced_custom_object(*WIDGETS))["items"] == []


async def test_creating_an_existing_configmap_gets_already_exists(
    apiserver: ThreadedApiServer,
) -> None:
    async with kube_api(apiserver) as api:
        core = CoreV1Api(api)
        await core.create_namespaced_config_map("default", _cm("dup", {"a": "1"}))
        body = await _failure(core.create_namespaced_config_map(
            "default", _cm("dup", {"a": "2"})), 409, "AlreadyExists")
        assert body["message"] == 'configmaps "dup" already exists'
        assert body["details"] == {"name": "dup", "kind": "configmaps"}
        assert (await core.read_namespaced_config_map("dup", "default")).data == {"a": "1"}


async def test_creating_an_existing_widget_gets_already_exists(
    apiserver: ThreadedApiServer,
) -> None:
    async with kube_api(apiserver) as api:
        custom = await _widgets_api(api)
        await custom.create_namespaced_custom_object(*WIDGETS, widget("w1"))
        body = await _failure(custom.create_namespaced_custom_object(
            *WIDGETS, widget("w1", size=3)), 409, "AlreadyExists")
        assert body["message"] == 'widgets.example.com "w1" already exists'


async def test_stale_resource_version_gets_conflict(apiserver: ThreadedApiServer) -> None:
    async with kube_api(apiserver) as api:
        core = CoreV1Api(api)
        created = await core.create_namespaced_config_map("default", _cm("cfg", {"a": "1"}))
        stale = created.metadata.resource_version
        await core.replace_namespaced_config_map("cfg", "default", _cm("cfg", {"a": "2"}, stale))
        body = await _failure(core.replace_namespaced_config_map(
            "cfg", "default", _cm("cfg", {"a": "3"}, stale)), 409, "Conflict")
        assert body["message"] == (
            f'Operation cannot be fulfilled on configmaps "cfg": {STALE_MESSAGE}')
        assert (await core.read_namespaced_config_map("cfg", "default")).data == {"a": "2"}


async def test_stale_resource_version_on_a_widget_gets_conflict(
    apiserver: ThreadedApiServer,
) -> None:
    async with kube_api(apiserver) as api:
        custom = await _widgets_api(api)
        created = await custom.create_namespaced_custom_object(*WIDGETS, widget("w1"))
        fresh = {**created, "spec": {"size": 2}}
        await custom.replace_namespaced_custom_object(*WIDGETS, "w1", fresh)
        stale = {**created, "spec": {"size": 3}}
        body = await _failure(custom.replace_namespaced_custom_object(
            *WIDGETS, "w1", stale), 409, "Conflict")
        assert body["message"] == (
            f'Operation cannot be fulfilled on widgets.example.com "w1": {STALE_MESSAGE}')


async def test_reading_a_missing_configmap_gets_not_found(apiserver: ThreadedApiServer) -> None:
    async with kube_api(apiserver) as api:
        body = await _failure(CoreV1Api(api).read_namespaced_config_map(
            "missing", "default"), 404, "NotFound")
    assert body["message"] == 'configmaps "missing" not found'


async def test_deleting_a_missing_widget_gets_not_found(apiserver: ThreadedApiServer) -> None:
    async with kube_api(apiserver) as api:
        custom = await _widgets_api(api)
        body = await _failure(custom.delete_namespaced_custom_object(*WIDGETS, "missing"),
                              404, "NotFound")
    assert body["message"] == 'widgets.example.com "missing" not found'


async def test_watch_from_resource_version_yields_exactly_the_later_events_in_order(
    apiserver: ThreadedApiServer,
) -> None:
    async with kube_api(apiserver) as api:
        core = CoreV1Api(api)
        await core.create_namespaced_config_map("default", _cm("before", {"a": "1"}))
        mark = await core.create_namespaced_config_map("default", _cm("mark", {"a": "1"}))
        since = mark.metadata.resource_version
        written = [
            await core.create_namespaced_config_map("default", _cm("later", {"a": "1"})),
            await core.patch_namespaced_config_map(  # type: ignore[call-arg]
                "later", "default", {"data": {"a": "2"}}, _content_type=MERGE_PATCH),
            await core.patch_namespaced_config_map(  # type: ignore[call-arg]
                "before", "default", {"data": {"a": "3"}}, _content_type=MERGE_PATCH),
        ]
        await core.delete_namespaced_config_map("mark", "default")
        await core.create_namespaced_config_map("default", _cm("end", {}))

        seen: list[tuple[str, str, str]] = []
        async with Watch() as watch:
            stream = watch.stream(core.list_namespaced_config_map, "default",
                                  resource_version=since, timeout_seconds=5)
            async for event in stream:
                meta = event["object"].metadata
                seen.append((event["type"], meta.name, meta.resource_version))
                if meta.name == "end":
                    watch.stop()
        rvs = [int(rv) for _type, _name, rv in seen]
        assert [(t, n) for t, n, _rv in seen] == [
            ("ADDED", "later"), ("MODIFIED", "later"), ("MODIFIED", "before"),
            ("DELETED", "mark"), ("ADDED", "end"),
        ]
        assert [str(rv) for rv in rvs[:3]] == [w.metadata.resource_version for w in written]
        assert rvs == sorted(rvs) and len(set(rvs)) == len(rvs)
        assert rvs[0] > int(since)


async def test_watch_from_a_resource_version_older_than_history_gets_410_expired() -> None:
    async with EmbeddedApiServer(watch_history=5) as server, kube_api(server) as api:
        core = CoreV1Api(api)
        first = await core.create_namespaced_config_map("default", _cm("cm-0", {}))
        for index in range(1, 10):
            await core.create_namespaced_config_map("default", _cm(f"cm-{index}", {}))
        async with Watch() as watch:
            stream = watch.stream(core.list_namespaced_config_map, "default",
                                  resource_version=first.metadata.resource_version,
                                  timeout_seconds=5)
            try:
                async for event in stream:
                    raise AssertionError(f"no event may precede the error, got {event['type']}")
            except ApiException as error:
                assert error.status == 410
                assert str(error.reason).startswith(
                    f"Expired: too old resource version: {first.metadata.resource_version} (")
            else:
                raise AssertionError("a watch from before the history must fail with 410")


async def test_idle_watch_with_bookmarks_allowed_receives_bookmarks(
    apiserver: ThreadedApiServer,
) -> None:
    async with kube_api(apiserver) as api:
        core = CoreV1Api(api)
        last = await core.create_namespaced_config_map("default", _cm("only", {}))
        rv = last.metadata.resource_version
        bookmarks: list[dict[str, Any]] = []
        async with Watch() as watch:
            stream = watch.stream(core.list_namespaced_config_map, "default",
                                  resource_version=rv, allow_watch_bookmarks=True,
                                  timeout_seconds=10)
            async for event in stream:
                assert event["type"] == "BOOKMARK"
                bookmarks.append(event["raw_object"])
                if len(bookmarks) == 2:
                    watch.stop()
            assert watch.resource_version == rv
        for bookmark in bookmarks:
            assert bookmark["kind"] == "ConfigMap" and bookmark["apiVersion"] == "v1"
            assert bookmark["metadata"]["resourceVersion"] == rv


async def test_pagination_during_concurrent_writes_lists_each_object_once(
    apiserver: ThreadedApiServer,
) -> None:
    total, page_size = 5000, 500
    names = [f"cm-{index:05d}" for index in range(total)]
    async with rest_client(apiserver.url) as raw, kube_api(apiserver) as api:
        gate = asyncio.Semaphore(16)

        async def seed(name: str) -> None:
            async with gate:
                ok(await raw.post(CONFIGMAPS, configmap(name, data={"v": "1"})), 201)

        await asyncio.gather(*(seed(name) for name in names))

        writes: Counter[str] = Counter()
        progress = asyncio.Condition()
        stop = asyncio.Event()

        async def writer() -> None:
            # Creates, updates (odd indices) and deletes (even ones), spread over the key range.
            step = 0
            try:
                while not stop.is_set():
                    ok(await raw.post(CONFIGMAPS, configmap(f"new-{step:05d}")), 201)
                    ok(await raw.patch(f"{CONFIGMAPS}/{names[(step * 106 + 11) % total]}",
                                       {"data": {"v": "2"}}))
                    ok(await raw.delete(f"{CONFIGMAPS}/{names[(step * 74) % total]}"))
                    async with progress:
                        writes.update(("create", "update", "delete"))
                        progress.notify_all()
                    step += 1
            finally:
                async with progress:
                    stop.set()
                    progress.notify_all()

        async def writes_reach(creates: int) -> None:
            async with progress:
                await progress.wait_for(lambda: writes["create"] >= creates or stop.is_set())

        core = CoreV1Api(api)
        first = await core.list_namespaced_config_map("default", limit=page_size)
        pages = [first]
        token = first.metadata._continue
        # The writer starts once the first page fixed the snapshot: from then on, nothing it
        # does may show in the remaining pages.
        writing = asyncio.create_task(writer())
        try:
            while True:
                await writes_reach(writes["create"] + 5)
                page = await core.list_namespaced_config_map(
                    "default", limit=page_size, _continue=token)
                pages.append(page)
                token = page.metadata._continue
                if not token:
                    break
        finally:
            stop.set()
            await writing

    listed = [cm.metadata.name for page in pages for cm in page.items]
    assert len(pages) == total // page_size
    assert all(len(page.items) == page_size for page in pages)
    assert Counter(listed) == Counter(names)  # every object once; nothing created later
    assert {page.metadata.resource_version for page in pages} == {
        pages[0].metadata.resource_version}
    snapshot_rv = int(pages[0].metadata.resource_version)
    assert all(int(cm.metadata.resource_version) <= snapshot_rv
               for page in pages for cm in page.items)
    assert all(cm.data == {"v": "1"} for page in pages for cm in page.items)
    assert writes["delete"] >= 5 * (len(pages) - 1)

"""Every failure the server answers with arrives as its `ApiError` subclass, with context."""

from __future__ import annotations

import socket
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import KubeClient, PatchType, TransportError, WatchOptions
from controllerkit.errors import (
    AlreadyExists,
    Conflict,
    Expired,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
)
from controllerkit.meta import CONFIG_MAP, CUSTOM_RESOURCE_DEFINITION, resource_version

from ..apiserver.manifests import widget, widget_crd
from .kinds import WIDGET, configmap

TOKENS = """
identities:
  - name: admin
    token: "admin-token"
    groups: [system:masters]
  - name: reader
    token: "reader-token"
    rules:
      - {verbs: [get, list, watch], apiGroups: [""], resources: [configmaps]}
"""


async def test_missing_object_is_not_found_with_its_name(kube: KubeClient) -> None:
    with pytest.raises(NotFound) as caught:
        await kube.get(CONFIG_MAP, "absent", namespace="default")
    error = caught.value
    assert (error.code, error.reason) == (404, "NotFound")
    assert (error.kind, error.namespace, error.name) == ("ConfigMap", "default", "absent")
    assert error.status["kind"] == "Status"
    assert "ConfigMap default/absent" in str(error)


async def test_creating_an_existing_name_is_already_exists(kube: KubeClient) -> None:
    await kube.create(CONFIG_MAP, configmap("twice"))
    with pytest.raises(AlreadyExists) as caught:
        await kube.create(CONFIG_MAP, configmap("twice"))
    assert (caught.value.code, caught.value.name) == (409, "twice")


async def test_update_with_a_stale_resource_version_is_conflict(kube: KubeClient) -> None:
    first = await kube.create(CONFIG_MAP, configmap("raced", v="1"))
    await kube.update(CONFIG_MAP, {**first, "data": {"v": "2"}})
    with pytest.raises(Conflict) as caught:
        await kube.update(CONFIG_MAP, {**first, "data": {"v": "3"}})
    error = caught.value
    assert (error.code, error.reason) == (409, "Conflict")
    assert error.resource_version == resource_version(first)
    assert "has been modified" in error.message


@pytest.mark.usefixtures("widgets_installed")
@pytest.mark.parametrize(
    ("patch_type", "patch"),
    [
        (PatchType.MERGE, {"status": {"phase": "Ready"}}),
        (PatchType.JSON, [{"op": "add", "path": "/status", "value": {"phase": "Ready"}}]),
    ],
)
async def test_status_patch_with_a_stale_resource_version_is_conflict_for_every_patch_type(
    kube: KubeClient, patch_type: PatchType, patch: object
) -> None:
    stale = await kube.create(WIDGET, widget("w1"))
    await kube.patch(WIDGET, "w1", {"spec": {"size": 2}}, namespace="default")
    with pytest.raises(Conflict) as caught:
        await kube.patch_status(
            WIDGET, "w1", patch, namespace="default",  # type: ignore[arg-type]
            patch_type=patch_type, resource_version=resource_version(stale),
        )
    error = caught.value
    assert (error.kind, error.namespace, error.name) == ("Widget", "default", "w1")
    assert error.resource_version == resource_version(stale)
    assert "status" not in await kube.get(WIDGET, "w1", namespace="default")


@pytest.mark.usefixtures("widgets_installed")
async def test_json_patch_failing_for_another_reason_stays_invalid(kube: KubeClient) -> None:
    current = await kube.create(WIDGET, widget("w1"))
    with pytest.raises(Invalid):
        await kube.patch_status(
            WIDGET, "w1", [{"op": "remove", "path": "/status/absent"}], namespace="default",
            patch_type=PatchType.JSON, resource_version=resource_version(current),
        )


@pytest.mark.usefixtures("widgets_installed")
async def test_schema_violation_is_invalid_with_field_causes(kube: KubeClient) -> None:
    with pytest.raises(Invalid) as caught:
        await kube.create(WIDGET, widget("tiny", size=0))
    error = caught.value
    assert error.code == 422
    assert [cause.field for cause in error.causes] == ["spec.size"]
    assert error.causes[0].message


async def test_invalid_crd_is_invalid(kube: KubeClient) -> None:
    crd = widget_crd()
    crd["spec"]["scope"] = "Galactic"
    with pytest.raises(Invalid) as caught:
        await kube.create(CUSTOM_RESOURCE_DEFINITION, crd)
    assert any(cause.field == "spec.scope" for cause in caught.value.causes)


async def test_watch_from_an_expired_resource_version_raises_expired(
    server: EmbeddedApiServer, kube: KubeClient
) -> None:
    created = await kube.create(CONFIG_MAP, configmap("c"))
    server.engine.faults.expire_next_watches = 1
    options = WatchOptions(resource_version=resource_version(created))
    with pytest.raises(Expired) as caught:
        async for _ in kube.watch(CONFIG_MAP, options, namespace="default"):
            pass
    assert caught.value.code == 410
    assert caught.value.resource_version == resource_version(created)


async def test_watch_older_than_the_server_history_raises_expired() -> None:
    async with (
        EmbeddedApiServer(watch_history=3) as server,
        KubeClient.from_url(server.url) as kube,
    ):
        first = await kube.create(CONFIG_MAP, configmap("c0"))
        for index in range(1, 6):
            await kube.create(CONFIG_MAP, configmap(f"c{index}"))
        options = WatchOptions(resource_version=resource_version(first))
        with pytest.raises(Expired):
            async for _ in kube.watch(CONFIG_MAP, options, namespace="default"):
                pass


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[EmbeddedApiServer]:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(textwrap.dedent(TOKENS))
    async with EmbeddedApiServer(tokens_file=tokens) as embedded:
        yield embedded


async def test_unknown_token_is_unauthorized(guarded: EmbeddedApiServer) -> None:
    async with KubeClient.from_url(guarded.url, token="wrong") as kube:
        with pytest.raises(Unauthorized) as caught:
            await kube.list(CONFIG_MAP, namespace="default")
    assert caught.value.code == 401
    # A static token cannot change, so the 401 is not retried.
    assert kube.stats.requests["GET"] == 1


async def test_missing_permission_is_forbidden_naming_the_object(
    guarded: EmbeddedApiServer,
) -> None:
    async with KubeClient.from_url(guarded.url, token="reader-token") as kube:
        assert (await kube.list(CONFIG_MAP, namespace="default")).items == []
        with pytest.raises(Forbidden) as caught:
            await kube.create(CONFIG_MAP, configmap("nope"))
    error = caught.value
    assert (error.code, error.kind, error.name) == (403, "ConfigMap", "nope")
    assert "cannot create resource" in error.message


async def test_refused_connection_is_a_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with KubeClient.from_url(f"http://127.0.0.1:{port}") as kube:
        with pytest.raises(TransportError) as caught:
            await kube.get(CONFIG_MAP, "x", namespace="default")
    assert caught.value.method == "GET"
    assert f"127.0.0.1:{port}" in caught.value.url

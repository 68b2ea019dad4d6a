"""Authentication and authorisation over HTTP, with kubernetes-asyncio and kubectl."""

from __future__ import annotations

import json
import ssl
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_asyncio.client import ApiClient, Configuration, CustomObjectsApi
from kubernetes_asyncio.client.exceptions import ApiException

from controllerkit.apiserver import EmbeddedApiServer, ThreadedApiServer
from controllerkit.testing import Kubectl

from .http_api import (
    MERGE_PATCH,
    RestClient,
    assert_status,
    core_path,
    install_widget_crd,
    rest_client,
    widgets_path,
)
from .manifests import widget

ADMIN_TOKEN = "admin-s3cret"
CONTROLLER_TOKEN = "controller-t2"
NOBODY_TOKEN = "nobody-t3"

TOKENS = f"""
identities:
  - name: admin
    token: "{ADMIN_TOKEN}"
    groups: [system:masters]
  - name: widget-controller
    token: "{CONTROLLER_TOKEN}"
    rules:
      - {{verbs: [get, list, watch], apiGroups: [example.com], resources: [widgets]}}
      - {{verbs: [update, patch], apiGroups: [example.com], resources: [widgets/status]}}
  - name: nobody
    token: "{NOBODY_TOKEN}"
"""

SPEC_PATCH_DENIED = (
    'widgets.example.com "w1" is forbidden: User "widget-controller" cannot patch resource '
    '"widgets" in API group "example.com" in the namespace "default"'
)


@asynccontextmanager
async def _secured_server(tmp_path: Path, *, tls: bool = False
                          ) -> AsyncIterator[EmbeddedApiServer]:
    """A server with a tokens file, the Widget CRD and one Widget `w1` (created as admin)."""
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(textwrap.dedent(TOKENS))
    async with EmbeddedApiServer(tokens_file=tokens, tls=tls) as server:
        trust = None
        if server.tls is not None:
            trust = ssl.create_default_context(cadata=server.tls.ca_pem.decode())
        async with rest_client(server.url, ADMIN_TOKEN, ssl_context=trust) as admin:
            await install_widget_crd(admin)
            assert (await admin.post(widgets_path(), widget("w1"))).status == 201
        yield server


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[EmbeddedApiServer]:
    async with _secured_server(tmp_path) as server:
        yield server


async def _rv(api: RestClient) -> str:
    return str((await api.get(widgets_path("w1"))).body["metadata"]["resourceVersion"])


async def test_request_without_token_is_unauthorized(secured: EmbeddedApiServer) -> None:
    async with rest_client(secured.url) as anonymous:
        reply = await anonymous.get(widgets_path())
        created = await anonymous.post(core_path("configmaps"), {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    status = assert_status(reply, 401, "Unauthorized")
    assert status["message"] == "Unauthorized"
    assert_status(created, 401, "Unauthorized")


async def test_unknown_token_is_unauthorized(secured: EmbeddedApiServer) -> None:
    async with rest_client(secured.url, "not-a-token") as stranger:
        reply = await stranger.get(widgets_path("w1"))
        discovery = await stranger.get("/apis")
    assert_status(reply, 401, "Unauthorized")
    assert_status(discovery, 401, "Unauthorized")


async def test_known_token_reads_discovery(secured: EmbeddedApiServer) -> None:
    async with rest_client(secured.url, NOBODY_TOKEN) as nobody:
        reply = await nobody.get("/apis/example.com/v1")
    assert reply.status == 200
    assert reply.body["kind"] == "APIResourceList"


async def test_identity_without_rules_is_forbidden_naming_identity_verb_and_resource(
    secured: EmbeddedApiServer,
) -> None:
    async with rest_client(secured.url, NOBODY_TOKEN) as nobody:
        reply = await nobody.get(core_path("configmaps"))
    status = assert_status(reply, 403, "Forbidden")
    assert status["message"] == (
        'configmaps is forbidden: User "nobody" cannot list resource "configmaps" in API group '
        '"" in the namespace "default"')
    assert status["details"]["kind"] == "configmaps"


async def test_controller_identity_reads_lists_and_watches_widgets(
    secured: EmbeddedApiServer,
) -> None:
    async with rest_client(secured.url, CONTROLLER_TOKEN) as controller:
        got = await controller.get(widgets_path("w1"))
        listed = await controller.get(widgets_path())
        across = await controller.get("/apis/example.com/v1/widgets")
        async with controller.watch(widgets_path(), resourceVersion="0") as stream:
            event = await stream.next_event()
    assert got.status == 200 and listed.status == 200 and across.status == 200
    assert [i["metadata"]["name"] for i in listed.body["items"]] == ["w1"]
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "w1")


async def test_controller_identity_writes_status(secured: EmbeddedApiServer) -> None:
    async with rest_client(secured.url, CONTROLLER_TOKEN) as controller:
        rv = await _rv(controller)
        patched = await controller.patch(widgets_path("w1", subresource="status"), {
            "metadata": {"resourceVersion": rv}, "status": {"phase": "Ready"}})
        replaced = await controller.put(widgets_path("w1", subresource="status"), {
            **patched.body, "status": {"phase": "Done"}})
    assert patched.status == 200, patched.body
    assert replaced.status == 200, replaced.body
    assert replaced.body["status"] == {"phase": "Done"}


async def test_controller_identity_is_forbidden_to_change_spec(
    secured: EmbeddedApiServer,
) -> None:
    async with rest_client(secured.url, CONTROLLER_TOKEN) as controller:
        current = (await controller.get(widgets_path("w1"))).body
        patched = await controller.patch(widgets_path("w1"), {"spec": {"size": 5}})
        replaced = await controller.put(widgets_path("w1"), {**current, "spec": {"size": 5}})
        created = await controller.post(widgets_path(), widget("w2"))
        deleted = await controller.delete(widgets_path("w1"))
        after = await controller.get(widgets_path("w1"))
    status = assert_status(patched, 403, "Forbidden")
    assert status["message"] == SPEC_PATCH_DENIED
    assert status["details"] == {"name": "w1", "group": "example.com", "kind": "widgets"}
    assert 'cannot update resource "widgets"' in assert_status(replaced, 403, "Forbidden")[
        "message"]
    assert assert_status(created, 403, "Forbidden")["message"] == (
        'widgets.example.com is forbidden: User "widget-controller" cannot create resource '
        '"widgets" in API group "example.com" in the namespace "default"')
    assert 'cannot delete resource "widgets"' in assert_status(deleted, 403, "Forbidden")[
        "message"]
    assert after.body["spec"]["size"] == 1


async def test_typed_client_with_controller_token_patches_status_but_not_spec(
    secured: EmbeddedApiServer,
) -> None:
    cfg = Configuration(host=secured.url, api_key={"BearerToken": CONTROLLER_TOKEN},
                        api_key_prefix={"BearerToken": "Bearer"})
    where = ("example.com", "v1", "default", "widgets", "w1")
    async with ApiClient(cfg) as client:
        custom = CustomObjectsApi(client)
        current = await custom.get_namespaced_custom_object(*where)
        # For a dict body this client would pick JSON patch; ask for a merge patch.
        merge: dict[str, Any] = {"_content_type": MERGE_PATCH}
        updated = await custom.patch_namespaced_custom_object_status(*where, {
            "metadata": {"resourceVersion": current["metadata"]["resourceVersion"]},
            "status": {"phase": "Ready"}}, **merge)
        with pytest.raises(ApiException) as caught:
            await custom.patch_namespaced_custom_object(*where, {"spec": {"size": 9}}, **merge)
    assert updated["status"] == {"phase": "Ready"}
    assert caught.value.status == 403
    body = json.loads(caught.value.body or "{}")
    assert body["reason"] == "Forbidden"
    assert body["message"] == SPEC_PATCH_DENIED


async def test_kubectl_with_controller_token_is_denied_spec_changes(tmp_path: Path) -> None:
    # kubectl sends bearer tokens only over TLS, so this server serves https.
    async with _secured_server(tmp_path, tls=True) as secured:
        config = yaml.safe_load(secured.kubeconfig_path.read_text())
        config["users"][0]["user"]["token"] = CONTROLLER_TOKEN
        kubeconfig = tmp_path / "controller.kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(config))
        await _kubectl_as_controller(Kubectl(kubeconfig, tmp_path / "cache"))


async def _kubectl_as_controller(kubectl: Kubectl) -> None:
    listed = await kubectl.arun("get", "widgets", "-o", "name")
    denied = await kubectl.arun("patch", "widget", "w1", "--type=merge",
                                "-p", '{"spec":{"size":9}}', check=False)
    assert listed.stdout.split() == ["widget.example.com/w1"]
    assert denied.returncode != 0
    assert "Error from server (Forbidden)" in denied.stderr
    assert 'User "widget-controller" cannot patch resource "widgets"' in denied.stderr


async def test_without_tokens_file_every_request_is_allowed(apiserver: ThreadedApiServer) -> None:
    async with rest_client(apiserver.url) as anonymous, \
            rest_client(apiserver.url, "anything") as any_token:
        created = await anonymous.post(core_path("configmaps"), {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
        deleted = await any_token.delete(core_path("configmaps", "x"))
    assert created.status == 201
    assert deleted.status == 200

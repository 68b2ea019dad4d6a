"""Helpers of the internal API tests: an API server whose `spritz-internal-api` identity has
exactly the RBAC of `examples/binding/api/rbac.yaml`, the API served over HTTP in the test's
event loop, and runtimes whose phase a test sets (playing the runtime operator)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from aiohttp.test_utils import TestClient, TestServer

from controllerkit import KubeClient
from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.meta import CUSTOM_RESOURCE_DEFINITION, JSONObject
from examples.binding.api import create_app
from examples.binding.kinds import SPRITZ, SPRITZ_BINDING, crds
from examples.binding.naming import binding_resource_name

from ...support import ROOT

API_RBAC = ROOT / "examples" / "binding" / "api" / "rbac.yaml"
ADMIN_TOKEN = "admin-token"
API_IDENTITY_TOKEN = "internal-api-identity-token"
CALLER_TOKEN = "caller-token"
NAMESPACE = "default"


def api_rules() -> list[dict[str, Any]]:
    """The rules of the ClusterRole in the API's rbac.yaml."""
    for document in yaml.safe_load_all(API_RBAC.read_text()):
        if document["kind"] == "ClusterRole":
            return [{"verbs": rule["verbs"], "apiGroups": rule["apiGroups"],
                     "resources": rule["resources"]} for rule in document["rules"]]
    raise AssertionError(f"no ClusterRole in {API_RBAC}")


@dataclass
class ApiCluster:
    """The API server, an admin client, and a client with the internal API's RBAC."""

    server: EmbeddedApiServer
    admin: KubeClient
    api_identity: KubeClient


@contextlib.asynccontextmanager
async def api_cluster(workdir: Path) -> AsyncIterator[ApiCluster]:
    tokens = workdir / "tokens.yaml"
    tokens.write_text(yaml.safe_dump({"identities": [
        {"name": "admin", "token": ADMIN_TOKEN, "groups": ["system:masters"]},
        {"name": "spritz-internal-api", "token": API_IDENTITY_TOKEN, "rules": api_rules()},
    ]}))
    async with (
        # Strict status: the example's status writes must be preconditioned and status-only.
        EmbeddedApiServer(tokens_file=tokens, bookmark_interval=0.2, strict_status=True) as server,
        KubeClient.from_url(server.url, token=ADMIN_TOKEN) as admin,
        KubeClient.from_url(server.url, token=API_IDENTITY_TOKEN) as api_identity,
    ):
        for crd in crds():
            await admin.create(CUSTOM_RESOURCE_DEFINITION, crd)
        yield ApiCluster(server, admin, api_identity)


@dataclass(frozen=True)
class Answer:
    """One HTTP answer of the API: its status code and JSend body."""

    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")


class InternalApi:
    """Calls the internal API over HTTP as an authenticated caller."""

    def __init__(self, http: TestClient[Any, Any], token: str = CALLER_TOKEN) -> None:
        self.http = http
        self.token = token

    async def call(self, method: str, path: str, body: Any = None, *,
                   token: str | None = None, raw: str | None = None) -> Answer:
        headers = {"Authorization": f"Bearer {token if token is not None else self.token}"}
        if raw is not None:
            headers["Content-Type"] = "application/json"
            response = await self.http.request(method, path, data=raw, headers=headers)
        else:
            response = await self.http.request(method, path, json=body, headers=headers)
        return Answer(response.status, await response.json())

    async def put_binding(self, key: str, body: Mapping[str, Any], *,
                          namespace: str = NAMESPACE) -> Answer:
        return await self.call("PUT", binding_path(namespace, key), dict(body))

    async def get_binding(self, key: str, *, namespace: str = NAMESPACE) -> Answer:
        return await self.call("GET", binding_path(namespace, key))

    async def reconcile(self, key: str, *, namespace: str = NAMESPACE) -> Answer:
        return await self.call("POST", binding_path(namespace, key) + "/reconcile")

    async def replace(self, source: str, body: Mapping[str, Any], *,
                      namespace: str = NAMESPACE) -> Answer:
        return await self.call(
            "POST", f"/api/internal/v1/spritzes/{namespace}/{source}:replace", dict(body))


def binding_path(namespace: str, key: str) -> str:
    """The path of a binding; the key percent-encoded (it may hold `/`)."""
    return f"/api/internal/v1/bindings/{namespace}/{quote(key, safe='')}"


@contextlib.asynccontextmanager
async def serving(cluster: ApiCluster, **options: Any) -> AsyncIterator[InternalApi]:
    """The internal API, over the API identity's client, served on a loopback port."""
    app = create_app(cluster.api_identity, tokens=[CALLER_TOKEN], **options)
    async with TestClient(TestServer(app)) as http:
        yield InternalApi(http)


def upsert_body(*, revision: str | None = "r1", preset: str = "devbox",
                **fields: Any) -> dict[str, Any]:
    """An upsert body: a template with an image, and `fields` added or replacing."""
    body: dict[str, Any] = {"template": {"presetId": preset, "spec": {"image": "devbox:1"}}}
    if revision is not None:
        body["desiredRevision"] = revision
    body.update(fields)
    return body


async def stored_binding(cluster: ApiCluster, key: str) -> JSONObject:
    return await cluster.admin.get(SPRITZ_BINDING, binding_resource_name(key),
                                   namespace=NAMESPACE)


async def create_runtime(cluster: ApiCluster, name: str, *, phase: str | None = "Ready",
                         owner: JSONObject | None = None, **spec: Any) -> JSONObject:
    """A Spritz (owned by the binding `owner` with a controller reference, if given) in
    `phase`."""
    metadata: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
    if owner is not None:
        metadata["ownerReferences"] = [{
            "apiVersion": SPRITZ_BINDING.api_version, "kind": SPRITZ_BINDING.kind,
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}]
    created = await cluster.admin.create(SPRITZ, {
        "apiVersion": SPRITZ.api_version, "kind": SPRITZ.kind, "metadata": metadata,
        "spec": spec or {"image": "devbox:1"}}, namespace=NAMESPACE)
    if phase is not None:
        created = await set_phase(cluster, name, phase)
    return created


async def set_phase(cluster: ApiCluster, name: str, phase: str) -> JSONObject:
    """Write a runtime's status.phase, as the runtime operator would."""
    current = await cluster.admin.get(SPRITZ, name, namespace=NAMESPACE)
    return await cluster.admin.patch_status(
        SPRITZ, name, {"status": {"phase": phase}}, namespace=NAMESPACE,
        resource_version=current["metadata"]["resourceVersion"])


async def set_binding_status(cluster: ApiCluster, key: str,
                             status: Mapping[str, Any]) -> JSONObject:
    """Write a binding's status, as the binding controller would."""
    current = await stored_binding(cluster, key)
    return await cluster.admin.patch_status(
        SPRITZ_BINDING, current["metadata"]["name"], {"status": dict(status)},
        namespace=NAMESPACE, resource_version=current["metadata"]["resourceVersion"])

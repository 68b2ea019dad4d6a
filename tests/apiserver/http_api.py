"""How the end-to-end tests talk to the server: raw HTTP, watch streams and kubernetes-asyncio.

Tests that must see exact status codes, headers, bodies and event order use `rest_client`
(aiohttp underneath) rather than a typed client that would hide them; `kube_api` yields a
kubernetes-asyncio `ApiClient` configured from the server's kubeconfig.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client import ApiClient, Configuration
from multidict import CIMultiDictProxy

from .manifests import widget_crd

JSONDict = dict[str, Any]
Params = Mapping[str, str | int]

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGET_CRD_NAME = "widgets.example.com"


def widgets_path(name: str = "", *, namespace: str = "default", version: str = "v1",
                 subresource: str = "") -> str:
    path = f"/apis/example.com/{version}/namespaces/{namespace}/widgets"
    if name:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    return path


def core_path(plural: str, name: str = "", *, namespace: str | None = "default") -> str:
    path = "/api/v1" + (f"/namespaces/{namespace}" if namespace else "") + f"/{plural}"
    return path + (f"/{name}" if name else "")


CONFIGMAPS = core_path("configmaps")


@dataclass
class Reply:
    status: int
    body: Any
    headers: CIMultiDictProxy[str]

    @property
    def rv(self) -> int:
        """The resourceVersion of the object (or list) in the body, as an int."""
        return int(self.body["metadata"]["resourceVersion"])


_SERVER_TOKEN = object()


class RestClient:
    """Requests against one server; bodies are JSON-encoded unless `raw` bytes are given."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str | None) -> None:
        self.session = session
        self.base_url = base_url
        self.token = token

    def _headers(self, content_type: str, token: Any) -> dict[str, str]:
        headers = {"Content-Type": content_type, "Accept": JSON}
        chosen = self.token if token is _SERVER_TOKEN else token
        if chosen is not None:
            headers["Authorization"] = f"Bearer {chosen}"
        return headers

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = JSON,
        params: Params | None = None,
        token: Any = _SERVER_TOKEN,
    ) -> Reply:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        async with self.session.request(
            method, self.base_url + path, data=data, params=params,
            headers=self._headers(content_type, token),
        ) as response:
            text = await response.text()
            try:
                parsed: Any = json.loads(text)
            except ValueError:
                parsed = text
            return Reply(response.status, parsed, response.headers)

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.request("POST", path, body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.request("PUT", path, body, **kw)

    async def patch(self, path: str, body: Any, content_type: str = MERGE_PATCH,
                    **kw: Any) -> Reply:
        return await self.request("PATCH", path, body, content_type=content_type, **kw)

    async def delete(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.request("DELETE", path, body, **kw)

    @asynccontextmanager
    async def watch(self, path: str, **params: str | int) -> AsyncIterator[WatchStream]:
        """A watch of `path` with these query parameters; it must be accepted (200)."""
        query = {"watch": "1", **params}
        async with self.session.get(
            self.base_url + path, params=query, headers=self._headers(JSON, _SERVER_TOKEN),
        ) as response:
            assert response.status == 200, await response.text()
            yield WatchStream(response)


class WatchStream:
    """The events of one watch response, read line by line.

    Every event counts, BOOKMARKs included: the server sends those only to a watch that asks
    for them. `within` bounds the whole call in seconds, not each event.
    """

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next_event(self, within: float = 5.0) -> JSONDict:
        """The next event; EOFError if the server ended the stream."""
        line = await asyncio.wait_for(self.response.content.readline(), within)
        if not line:
            raise EOFError("the watch stream ended")
        event: JSONDict = json.loads(line)
        return event

    async def take(self, count: int, within: float = 5.0) -> list[JSONDict]:
        """Exactly the next `count` events."""
        deadline = time.monotonic() + within
        return [await self.next_event(_left(deadline)) for _ in range(count)]

    async def until(self, wanted: Callable[[JSONDict], bool],
                    within: float = 5.0) -> list[JSONDict]:
        """Events up to and including the first one that `wanted` accepts."""
        events: list[JSONDict] = []
        deadline = time.monotonic() + within
        while True:
            events.append(await self.next_event(_left(deadline)))
            if wanted(events[-1]):
                return events

    async def events_until_rv(self, rv: int, within: float = 5.0) -> list[JSONDict]:
        """Events up to and including the one at resourceVersion `rv`."""
        return await self.until(lambda event: resource_version(event["object"]) >= rv, within)

    async def until_end(self, within: float = 5.0) -> list[JSONDict]:
        """Every event left, up to where the server ends the stream."""
        events: list[JSONDict] = []
        deadline = time.monotonic() + within
        while True:
            try:
                events.append(await self.next_event(_left(deadline)))
            except EOFError:
                return events

    async def assert_quiet(self, seconds: float) -> None:
        """Nothing arrives for `seconds`: the stream stays open and silent."""
        try:
            line = await asyncio.wait_for(self.response.content.readline(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"expected no event, got {line!r}")


def _left(deadline: float) -> float:
    return max(0.01, deadline - time.monotonic())


@asynccontextmanager
async def rest_client(
    base_url: str, token: str | None = None, *, ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[RestClient]:
    """A `RestClient` with no connection limit (many watches may be open at once)."""
    connector = (aiohttp.TCPConnector(limit=0) if ssl_context is None
                 else aiohttp.TCPConnector(limit=0, ssl=ssl_context))
    async with aiohttp.ClientSession(connector=connector) as session:
        yield RestClient(session, base_url, token)


class Server(Protocol):
    """What `kube_api` needs of a running server (threaded or in the test's own loop)."""

    @property
    def kubeconfig_path(self) -> Path: ...


@asynccontextmanager
async def kube_api(server: Server) -> AsyncIterator[ApiClient]:
    """A kubernetes-asyncio client configured from the server's kubeconfig, closed afterwards."""
    configuration = Configuration()
    await kube_config.load_kube_config(
        config_file=str(server.kubeconfig_path), client_configuration=configuration
    )
    async with ApiClient(configuration) as api:
        yield api


def ok(reply: Reply, code: int = 200) -> Any:
    """The body of a reply that must have succeeded with this status code."""
    assert reply.status == code, (reply.status, reply.body)
    return reply.body


def assert_status(reply: Reply, code: int, reason: str) -> JSONDict:
    """The reply is a Kubernetes failure `Status` with this code and reason; returns its body."""
    assert reply.status == code, (reply.status, reply.body)
    assert reply.headers.get("Content-Type", "").startswith(JSON), reply.headers
    body = reply.body
    assert isinstance(body, dict), body
    assert body["kind"] == "Status" and body["apiVersion"] == "v1", body
    assert body["status"] == "Failure", body
    assert body["code"] == code, body
    assert body["reason"] == reason, body
    assert isinstance(body["message"], str) and body["message"], body
    return body


def assert_page_not_found(reply: Reply) -> None:
    """The reply is the plain-text 404 a real server sends for a path no API handler owns."""
    assert reply.status == 404, (reply.status, reply.body)
    assert reply.headers.get("Content-Type") == "text/plain; charset=utf-8", reply.headers
    assert reply.body == "404 page not found\n", reply.body


def cause_fields(status: JSONDict) -> list[str]:
    return [c.get("field", "") for c in status.get("details", {}).get("causes", [])]


def resource_version(obj: Mapping[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


def summary(events: list[JSONDict]) -> list[tuple[str, str]]:
    """(type, name) of each event, the shape most assertions compare."""
    return [(e["type"], e["object"]["metadata"].get("name", "")) for e in events]


async def wait_established(api: RestClient, name: str = WIDGET_CRD_NAME,
                           within: float = 5.0) -> JSONDict:
    """Poll the CRD until its Established condition is True; returns the CRD."""
    deadline = time.monotonic() + within
    while True:
        reply = await api.get(f"{CRDS}/{name}")
        assert reply.status == 200, reply.body
        conditions = {c["type"]: c["status"] for c in
                      (reply.body.get("status") or {}).get("conditions") or []}
        if conditions.get("Established") == "True":
            body: JSONDict = reply.body
            return body
        assert time.monotonic() < deadline, f"CRD {name} never became Established: {reply.body}"
        await asyncio.sleep(0.02)


async def install_widget_crd(api: RestClient, crd: JSONDict | None = None) -> None:
    """Create the Widget CRD (or `crd`) and wait until it is served."""
    crd = crd or widget_crd()
    reply = await api.post(CRDS, crd)
    assert reply.status == 201, reply.body
    await wait_established(api, crd["metadata"]["name"])

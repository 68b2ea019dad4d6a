"""A thin raw-HTTP client for end-to-end tests: requests, `Status` checks and watch streams.

Tests that must see exact status codes, headers and bodies talk to the server through this
(aiohttp underneath) rather than through a typed client that would hide them.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from .manifests import widget_crd

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
        params: Mapping[str, str] | None = None,
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
    async def watch(self, path: str, **params: str) -> AsyncIterator[WatchStream]:
        query = {"watch": "1", **params}
        async with self.session.get(
            self.base_url + path, params=query, headers=self._headers(JSON, _SERVER_TOKEN),
        ) as response:
            assert response.status == 200, await response.text()
            yield WatchStream(response)


class WatchStream:
    """The events of one watch response, read line by line."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next_event(self, within: float = 3.0) -> dict[str, Any]:
        line = await asyncio.wait_for(self.response.content.readline(), within)
        if not line:
            raise EOFError("the watch stream ended")
        event: dict[str, Any] = json.loads(line)
        return event

    async def events_until_rv(self, rv: int, within: float = 3.0) -> list[dict[str, Any]]:
        """Events (bookmarks skipped) up to and including the one at resourceVersion `rv`."""
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + within
        while True:
            event = await self.next_event(max(0.01, deadline - time.monotonic()))
            if event["type"] == "BOOKMARK":
                continue
            events.append(event)
            if int(event["object"]["metadata"]["resourceVersion"]) >= rv:
                return events

    async def take(self, count: int, within: float = 3.0) -> list[dict[str, Any]]:
        """The next `count` events, bookmarks skipped."""
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + within
        while len(events) < count:
            event = await self.next_event(max(0.01, deadline - time.monotonic()))
            if event["type"] != "BOOKMARK":
                events.append(event)
        return events

    async def assert_quiet(self, seconds: float) -> None:
        """No event other than a BOOKMARK arrives for `seconds`."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = await self.next_event(left)
            except TimeoutError:
                return
            assert event["type"] == "BOOKMARK", f"unexpected event {event}"


@asynccontextmanager
async def rest_client(
    base_url: str, token: str | None = None, *, ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[RestClient]:
    connector = aiohttp.TCPConnector(ssl=ssl_context) if ssl_context is not None else None
    async with aiohttp.ClientSession(connector=connector) as session:
        yield RestClient(session, base_url, token)


def assert_status(reply: Reply, code: int, reason: str) -> dict[str, Any]:
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


def cause_fields(status: dict[str, Any]) -> list[str]:
    return [c.get("field", "") for c in status.get("details", {}).get("causes", [])]


async def wait_established(api: RestClient, name: str = WIDGET_CRD_NAME,
                           within: float = 5.0) -> dict[str, Any]:
    """Poll the CRD until its Established condition is True; returns the CRD."""
    deadline = time.monotonic() + within
    while True:
        reply = await api.get(f"{CRDS}/{name}")
        assert reply.status == 200, reply.body
        conditions = {c["type"]: c["status"] for c in
                      (reply.body.get("status") or {}).get("conditions") or []}
        if conditions.get("Established") == "True":
            body: dict[str, Any] = reply.body
            return body
        assert time.monotonic() < deadline, f"CRD {name} never became Established: {reply.body}"
        await asyncio.sleep(0.02)


async def install_widget_crd(api: RestClient, crd: dict[str, Any] | None = None) -> None:
    """Create the Widget CRD (or `crd`) and wait until it is served."""
    crd = crd or widget_crd()
    reply = await api.post(CRDS, crd)
    assert reply.status == 201, reply.body
    await wait_established(api, crd["metadata"]["name"])

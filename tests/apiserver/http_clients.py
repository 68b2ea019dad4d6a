"""Clients the end-to-end tests talk to the server with: kubernetes-asyncio and plain aiohttp.

`kube_api` yields a kubernetes-asyncio `ApiClient` configured from the server's kubeconfig.
`RawClient` sends requests and reads watch streams byte for byte, for the checks a typed client
hides (exact status bodies, event order, where a stream ends).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client import ApiClient, Configuration

JSONDict = dict[str, Any]
Params = Mapping[str, str | int]

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


class Server(Protocol):
    """What the tests need of a running server (threaded or in the test's own loop)."""

    @property
    def url(self) -> str: ...

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


class WatchStream:
    """One open watch response, read as JSON lines."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    @property
    def status(self) -> int:
        return self.response.status

    async def next_event(self, within: float = 5.0) -> JSONDict | None:
        """The next event, or None when the server ended the stream; fails after `within` s."""
        line = await asyncio.wait_for(self.response.content.readline(), within)
        if not line:
            return None
        event: JSONDict = json.loads(line)
        return event

    async def take(self, count: int, within: float = 5.0) -> list[JSONDict]:
        """Exactly `count` events; fails if the stream ends or stalls first."""
        events: list[JSONDict] = []
        for _ in range(count):
            event = await self.next_event(within)
            assert event is not None, f"stream ended after {events}"
            events.append(event)
        return events

    async def until_end(self, within: float = 5.0) -> list[JSONDict]:
        """Every event left, up to the end of the stream."""
        events: list[JSONDict] = []
        while (event := await self.next_event(within)) is not None:
            events.append(event)
        return events

    async def expect_quiet(self, seconds: float) -> None:
        """Assert that nothing arrives for `seconds` (the stream stays open and silent)."""
        try:
            line = await asyncio.wait_for(self.response.content.readline(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"expected no event, got {line!r}")

    def close(self) -> None:
        self.response.close()


class RawClient:
    """Plain HTTP requests against the server, returning status codes and decoded bodies."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self.session = session

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> tuple[int, JSONDict]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if data is not None else {}
        async with self.session.request(
            method, self.url + path, params=_query(params), data=data, headers=headers
        ) as response:
            payload: JSONDict = await response.json(content_type=None)
            return response.status, payload

    async def ok(
        self, method: str, path: str, *, params: Params | None = None, body: Any = None,
        content_type: str = "application/json",
    ) -> JSONDict:
        """A request that must succeed (2xx); its decoded body."""
        status, payload = await self.request(method, path, params=params, body=body,
                                             content_type=content_type)
        assert 200 <= status < 300, (status, payload)
        return payload

    async def watch(self, path: str, params: Params | None = None) -> WatchStream:
        query = {"watch": "1", **(params or {})}
        response = await self.session.get(self.url + path, params=_query(query))
        return WatchStream(response)


@asynccontextmanager
async def raw_client(server: Server) -> AsyncIterator[RawClient]:
    """A `RawClient` with no connection limit (many watches may be open at once)."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        yield RawClient(server.url, session)


def configmap(name: str, *, namespace: str = "default", labels: Mapping[str, str] | None = None,
              data: Mapping[str, str] | None = None) -> JSONDict:
    meta: JSONDict = {"name": name, "namespace": namespace}
    if labels is not None:
        meta["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
            "data": dict(data or {"v": "1"})}


def resource_version(obj: Mapping[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


def summary(events: list[JSONDict]) -> list[tuple[str, str]]:
    """(type, name) of each event, the shape most assertions compare."""
    return [(e["type"], e["object"]["metadata"].get("name", "")) for e in events]


def _query(params: Params | None) -> dict[str, str] | None:
    return None if params is None else {k: str(v) for k, v in params.items()}

"""The benchmark's custom resource, and the HTTP calls that create and update it.

Plain aiohttp over keep-alive connections with stdlib `json` on both sides of the wire, as a
typical Python client would.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp

GROUP = "bench.controllerkit.dev"
VERSION = "v1"
PLURAL = "gadgets"
NAMESPACE = "default"
COLLECTION = f"/apis/{GROUP}/{VERSION}/namespaces/{NAMESPACE}/{PLURAL}"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
JSON_BODY = {"Content-Type": "application/json"}


def crd() -> dict[str, Any]:
    status = {
        "type": "object",
        "properties": {
            "phase": {"type": "string"},
            "observedGeneration": {"type": "integer"},
            "updates": {"type": "integer"},
        },
    }
    spec = {
        "type": "object",
        "required": ["replicas"],
        "properties": {
            "replicas": {"type": "integer", "minimum": 0},
            "image": {"type": "string"},
        },
    }
    return gadget_crd(spec, status)


def gadget_crd(spec: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    """The Gadget CRD with a status subresource, for these spec and status schemas."""
    schema = {"type": "object", "properties": {"spec": spec, "status": status}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": PLURAL, "singular": "gadget", "kind": "Gadget",
                      "listKind": "GadgetList"},
            "versions": [{"name": VERSION, "served": True, "storage": True,
                          "subresources": {"status": {}},
                          "schema": {"openAPIV3Schema": schema}}],
        },
    }


def gadget(index: int) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Gadget",
        "metadata": {"name": f"gadget-{index:06d}", "labels": {"shard": str(index % 16)}},
        "spec": {"replicas": index % 5, "image": f"registry.example/gadget:{index % 7}"},
    }


class Client:
    """JSON over one keep-alive aiohttp session; every answer must have the expected status."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def call(self, method: str, path: str, expect: int, body: Any = None,
                   headers: dict[str, str] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        if data is not None and headers is None:
            headers = JSON_BODY
        async with self.session.request(method, self.base + path, data=data,
                                        headers=headers) as resp:
            raw = await resp.read()
            if resp.status != expect:
                raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {raw[:300]!r}")
        return json.loads(raw)


async def concurrently(workers: int, items: Iterator[Any],
                       work: Callable[[Any], Awaitable[None]]) -> float:
    """Run `work` over `items` from `workers` tasks; the elapsed wall time in seconds."""

    async def worker() -> None:
        for item in items:  # the iterator is shared: each item goes to one worker
            await work(item)

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(workers):
            group.create_task(worker())
    return time.perf_counter() - start


async def install_crd(client: Client, definition: dict[str, Any] | None = None) -> None:
    """Create the Gadget CRD (`definition`, or `crd()`) and wait until it is served."""
    await client.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", 201,
                      definition or crd())
    deadline = time.monotonic() + 30
    while True:
        async with client.session.get(f"{client.base}{COLLECTION}?limit=1") as resp:
            await resp.read()
            if resp.status == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{PLURAL}.{GROUP} was not served within 30 s")
        await asyncio.sleep(0.05)


class StatusWriter:
    """Status merge-patches carrying each object's last known resourceVersion."""

    def __init__(self, client: Client, versions: dict[str, str]) -> None:
        self.client = client
        self.versions = versions
        self.sequence = itertools.count(1)

    async def patch(self, name: str) -> str:
        body = {
            "metadata": {"resourceVersion": self.versions[name]},
            "status": {"phase": "Ready", "observedGeneration": 1,
                       "updates": next(self.sequence)},
        }
        obj = await self.client.call("PATCH", f"{COLLECTION}/{name}/status", 200, body,
                                     MERGE_PATCH)
        version = str(obj["metadata"]["resourceVersion"])
        self.versions[name] = version
        return version



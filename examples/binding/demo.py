"""The binding demo: a durable identity replaces its runtime safely, driven through the
internal API.

    python -m examples.binding.demo

starts an embedded API server, the binding controller with the runtime simulator, and the
internal API; upserts a binding through the API and prints its phases as they progress to
ready; asks the API to `:replace` the runtime with revision r2 and prints the candidate, the
cutover (one status write) and the cleanup; repeats the request to show the idempotent replay;
and prints `kubectl get spritzbindings,spritzes`. `run_demo(server, workdir)` does the same
against any server (a URL or a kubeconfig path).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from controllerkit import KubeClient
from controllerkit.client import WatchOptions
from controllerkit.meta import JSONObject

from ..demo_support import run_command, run_main
from .api import create_app
from .app import Settings, create_manager, install_crds
from .kinds import SPRITZ_BINDING
from .naming import binding_resource_name
from .simulator import SimulatorSettings

NAMESPACE = "default"
BINDING_KEY = "alice-workspace"
API_TOKEN = "demo-token"
DEMO_SIMULATOR = SimulatorSettings(ready_delay=1.0, deletion_hold=1.0)
TEMPLATE = {"presetId": "claude-code", "spec": {"image": "example/runtime:1"}}

Status = dict[str, Any]


async def run_demo(server: str | Path, workdir: Path, *, out: Callable[[str], None] = print,
                   simulator: SimulatorSettings = DEMO_SIMULATOR) -> None:
    """Run the demo against `server` (an http(s) URL of an open server, or a kubeconfig
    path); `workdir` holds the kubeconfig written for a URL."""
    kubeconfig = Path(server) if not _is_url(server) else _write_kubeconfig(
        str(server), workdir / "kubeconfig")
    async with KubeClient.from_kubeconfig(kubeconfig) as client:
        await install_crds(client)
        manager = create_manager(client, Settings(simulator_settings=simulator),
                                 simulator=True, metrics_bind_address="",
                                 health_probe_bind_address="")
        running = asyncio.create_task(manager.run())
        try:
            async with _serving(create_app(client, tokens=[API_TOKEN])) as api, \
                    aiohttp.ClientSession(
                        base_url=api,
                        headers={"Authorization": f"Bearer {API_TOKEN}"}) as http:
                await _demo(client, http, kubeconfig, out)
        finally:
            manager.stop()
            await running


async def _demo(client: KubeClient, http: aiohttp.ClientSession, kubeconfig: Path,
                out: Callable[[str], None]) -> None:
    progress = _BindingProgress(client, out)
    async with progress.following():
        binding_path = f"/api/internal/v1/bindings/{NAMESPACE}/{BINDING_KEY}"
        answer = await _call(http, "PUT", binding_path,
                             {"desiredRevision": "r1", "template": TEMPLATE}, out)
        out(f"-> binding {answer['metadata']['name']} stored\n")
        ready = await progress.until(lambda s: s.get("phase") == "ready"
                                     and s.get("observedRevision") == "r1")
        old = ready["activeInstanceRef"]["name"]

        replace_path = f"/api/internal/v1/spritzes/{NAMESPACE}/{old}:replace"
        request = {"targetRevision": "r2", "idempotencyKey": "deploy-r2"}
        out("")
        answer = await _call(http, "POST", replace_path, request, out)
        out(f"-> {_replacement(answer)}\n")
        await progress.until(lambda s: s.get("phase") == "ready"
                             and s.get("observedRevision") == "r2")
        out("\nthe same request again (a caller polling for the result):")
        answer = await _call(http, "POST", replace_path, request, out)
        out(f"-> {_replacement(answer)}")

    out("\n$ kubectl get spritzbindings,spritzes")
    out((await _kubectl(kubeconfig, "get", "spritzbindings,spritzes",
                        "-n", NAMESPACE)).rstrip())


class _BindingProgress:
    """Prints the binding's status each time its lifecycle state changes, and lets the demo
    wait for a state."""

    def __init__(self, client: KubeClient, out: Callable[[str], None]) -> None:
        self.client = client
        self.out = out
        self.status: Status = {}
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def following(self) -> AsyncIterator[None]:
        # Watch from before the binding exists, so every status written is seen.
        listed = await self.client.list(SPRITZ_BINDING, namespace=NAMESPACE)
        task = asyncio.create_task(self._follow(listed.resource_version))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def until(self, reached: Callable[[Status], bool]) -> Status:
        async with self._changed:
            await self._changed.wait_for(lambda: reached(self.status))
            return self.status

    async def _follow(self, resource_version: str) -> None:
        name = binding_resource_name(BINDING_KEY)
        last = ""
        options = WatchOptions(resource_version=resource_version)
        async for event in self.client.watch(SPRITZ_BINDING, options, namespace=NAMESPACE):
            if event.type == "BOOKMARK" or event.object["metadata"]["name"] != name:
                continue
            status: Status = event.object.get("status") or {}
            line = _describe(status)
            if status.get("phase") and line != last:
                self.out(line)
                last = line
            async with self._changed:
                self.status = status
                self._changed.notify_all()


def _describe(status: Status) -> str:
    def ref(field: str) -> str:
        return str((status.get(field) or {}).get("name") or "-")

    phase = status.get("phase") or "-"
    revision = status.get("observedRevision") or "-"
    return (f"  {phase:<14} revision={revision:<3} active={ref('activeInstanceRef'):<22} "
            f"candidate={ref('candidateInstanceRef'):<22} cleanup={ref('cleanupInstanceRef')}")


def _replacement(answer: JSONObject) -> str:
    replacement = answer["replacement"]
    return (f"replacement {replacement['instanceId']} (revision "
            f"{replacement['targetRevision']}) phase {replacement['phase']}, ready "
            f"{str(replacement['ready']).lower()}, replayed {str(answer['replayed']).lower()}")


async def _call(http: aiohttp.ClientSession, method: str, path: str, body: JSONObject,
                out: Callable[[str], None]) -> JSONObject:
    out(f"$ {method} {path} {json.dumps(body, separators=(',', ':'))}")
    async with http.request(method, path, json=body) as response:
        answer = await response.json()
    if answer.get("status") != "success":
        raise RuntimeError(f"{method} {path} answered {response.status}: {answer}")
    out(f"{response.status} {answer['status']}")
    data: JSONObject = answer["data"]
    return data


@contextlib.asynccontextmanager
async def _serving(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port; its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.SockSite(runner, listener).start()
        host, port = listener.getsockname()[:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
        listener.close()


def _is_url(server: str | Path) -> bool:
    return str(server).startswith(("http://", "https://"))


def _write_kubeconfig(url: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "demo",
        "clusters": [{"name": "demo", "cluster": {"server": url}}],
        "users": [{"name": "demo", "user": {}}],
        "contexts": [{"name": "demo", "context": {"cluster": "demo", "user": "demo",
                                                  "namespace": NAMESPACE}}]}))
    return path


async def _kubectl(kubeconfig: Path, *args: str) -> str:
    return await run_command("kubectl", "--kubeconfig", str(kubeconfig), *args)


if __name__ == "__main__":
    run_main(run_demo, scratch_prefix="binding-demo-")

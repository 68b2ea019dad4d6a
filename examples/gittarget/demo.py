"""The GitTarget demo: mirror a namespace's ConfigMaps and Secrets into a local git repository.

    python -m examples.gittarget.demo

starts an embedded API server, a bare repository and the controller, applies
`manifests/demo.yaml`, prints the target's conditions each time the controller writes them
(through PENDING, BOOTSTRAPPING, SYNCING to RUNNING), changes a ConfigMap to show a change
committed as it happens, and prints `git log --oneline` of the repository.
`run_demo(server, workdir)` does the same against any server (a URL or a kubeconfig path).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from controllerkit import KubeClient
from controllerkit.client import WatchOptions
from controllerkit.meta import CONFIG_MAP, SECRET, JSONObject

from ..demo_support import run_command, run_main
from .app import Settings, create_manager, install_crds
from .contract import GATE_TYPES, READY
from .kinds import GIT_PROVIDER, GIT_TARGET, WATCH_RULE

MANIFESTS = Path(__file__).resolve().parent / "manifests" / "demo.yaml"
KINDS = {kind.kind: kind for kind in (GIT_PROVIDER, GIT_TARGET, WATCH_RULE, CONFIG_MAP, SECRET)}
TARGET = "demo"
NAMESPACE = "default"


async def run_demo(server: str | Path, workdir: Path, *,
                   out: Callable[[str], None] = print) -> None:
    """Run the demo against `server` (an http(s) URL of an open server, or a kubeconfig
    path), keeping the repository and the clones under `workdir`."""
    remote = workdir / "remote.git"  # `git init` creates the missing directories
    await run_command("git", "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    client = (KubeClient.from_url(str(server)) if str(server).startswith(("http://", "https://"))
              else KubeClient.from_kubeconfig(server))
    async with client:
        await install_crds(client)
        manager = create_manager(client, Settings(workdir=workdir / "controller"),
                                 metrics_bind_address="", health_probe_bind_address="")
        running = asyncio.create_task(manager.run())
        try:
            # Watch from before the first object exists, so every status written is seen.
            listed = await client.list(GIT_TARGET, namespace=NAMESPACE)
            waiting_for_provider = asyncio.Event()
            watching = asyncio.create_task(_print_progress(
                client, listed.resource_version, out, waiting_for_provider))
            objects = _demo_objects(remote)
            for obj in objects:
                if obj["kind"] == "GitProvider":
                    # Show the target blocked on its first gate before the provider exists.
                    await waiting_for_provider.wait()
                await client.create(KINDS[obj["kind"]], obj, namespace=NAMESPACE)
            await watching

            out("\nchanging ConfigMap web-settings: color blue -> green")
            await client.patch(CONFIG_MAP, "web-settings", {"data": {"color": "green"}},
                               namespace=NAMESPACE)
            # A remote repository announces nothing: look until the pushed commit is there.
            while "[UPDATE] v1/configmaps/web-settings" not in await _log(remote):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            out("\n$ git log --oneline")
            out((await _log(remote)).rstrip())
        finally:
            manager.stop()
            await running


def _demo_objects(remote: Path) -> list[JSONObject]:
    objects = [obj for obj in yaml.safe_load_all(MANIFESTS.read_text()) if obj]
    for obj in objects:
        if obj["kind"] == "GitProvider":
            obj["spec"]["url"] = str(remote)
    return objects


async def _print_progress(client: KubeClient, resource_version: str,
                          out: Callable[[str], None], waiting_for_provider: asyncio.Event
                          ) -> None:
    """Print each new state of the target's conditions until it is Ready; set
    `waiting_for_provider` once the target reports that its provider is missing."""
    last = ""
    async for event in client.watch(GIT_TARGET, WatchOptions(resource_version=resource_version),
                                    namespace=NAMESPACE):
        if event.type == "BOOKMARK" or event.object["metadata"]["name"] != TARGET:
            continue
        status: dict[str, Any] = event.object.get("status") or {}
        line = _describe(status)
        if line != last:
            out(line)
            last = line
        if "Validated=False(ProviderNotFound)" in line:
            waiting_for_provider.set()
        if any(c["type"] == READY and c["status"] == "True"
               for c in status.get("conditions") or ()):
            return


def _describe(status: dict[str, Any]) -> str:
    by_type = {c["type"]: c for c in status.get("conditions") or ()}
    parts = []
    for type_ in (*GATE_TYPES, READY):
        condition = by_type.get(type_)
        parts.append(f"{type_}={condition['status']}({condition['reason']})" if condition
                     else f"{type_}=-")
    return f"{status.get('phase') or 'PENDING':<13} " + " ".join(parts)


async def _log(remote: Path) -> str:
    return await run_command("git", "--git-dir", str(remote), "log", "--oneline", "main",
                             check=False)


if __name__ == "__main__":
    run_main(run_demo, scratch_prefix="gittarget-demo-",
             banner="embedded API server at {url}; repository in {scratch}/remote.git")

"""Helpers of the binding controller tests: identities with the RBAC of
`examples/binding/rbac.yaml`, bindings, the controller and the runtime simulator run
in the test's event loop, a recording watch, and the lifecycle invariants."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controllerkit import KubeClient, Manager
from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import WatchOptions
from controllerkit.meta import JSONObject, ResourceKind
from examples.binding.app import Settings, create_manager
from examples.binding.kinds import SPRITZ, SPRITZ_BINDING
from examples.binding.naming import TARGET_REVISION_ANNOTATION, binding_resource_name
from examples.binding.simulator import SimulatorSettings, add_simulator

from .. import support as shared
from ..support import ROOT

RBAC = ROOT / "examples" / "binding" / "rbac.yaml"
ADMIN_TOKEN = "admin-token"
CONTROLLER_TOKEN = "binding-controller-token"
SIMULATOR_TOKEN = "runtime-simulator-token"
NAMESPACE = "default"
FAST_SIMULATOR = SimulatorSettings(ready_delay=0.2, deletion_hold=0.2)


def role_rules(role: str) -> list[dict[str, Any]]:
    """The rules of ClusterRole `role` in rbac.yaml."""
    for document in yaml.safe_load_all(RBAC.read_text()):
        if document["kind"] == "ClusterRole" and document["metadata"]["name"] == role:
            return [{"verbs": rule["verbs"], "apiGroups": rule["apiGroups"],
                     "resources": rule["resources"]} for rule in document["rules"]]
    raise AssertionError(f"no ClusterRole {role} in {RBAC}")


def write_tokens(path: Path) -> Path:
    """A tokens file: `admin` may do anything; the controller and the simulator what their
    roles in rbac.yaml allow."""
    path.write_text(yaml.safe_dump({"identities": [
        {"name": "admin", "token": ADMIN_TOKEN, "groups": ["system:masters"]},
        {"name": "spritz-binding-controller", "token": CONTROLLER_TOKEN,
         "rules": role_rules("spritz-binding-controller")},
        {"name": "spritz-runtime-simulator", "token": SIMULATOR_TOKEN,
         "rules": role_rules("spritz-runtime-simulator")},
    ]}))
    return path


@dataclass
class Cluster:
    """The test's API server, an admin client and the controller's and simulator's clients."""

    server: EmbeddedApiServer
    admin: KubeClient
    controller_client: KubeClient
    simulator_client: KubeClient


def binding(key: str = "team-a/workspace", *, revision: str | None = "r1",
            template: dict[str, Any] | None = None, **spec: Any) -> JSONObject:
    """A SpritzBinding for `key`, named as the internal API names it."""
    body: JSONObject = {"bindingKey": key,
                        "template": template or {"presetId": "claude-code",
                                                 "spec": {"image": "example/runtime:1"}},
                        **spec}
    if revision is not None:
        body["desiredRevision"] = revision
    return {"apiVersion": "spritz.sh/v1", "kind": "SpritzBinding",
            "metadata": {"name": binding_resource_name(key), "namespace": NAMESPACE},
            "spec": body}


def spritz(name: str, *, annotations: dict[str, str] | None = None) -> JSONObject:
    """A Spritz made by hand (not by a binding)."""
    return {"apiVersion": "spritz.sh/v1", "kind": "Spritz",
            "metadata": {"name": name, "namespace": NAMESPACE,
                         "annotations": annotations or {}},
            "spec": {"image": "example/runtime:1"}}


def running(manager: Manager) -> contextlib.AbstractAsyncContextManager[Manager]:
    """`manager` running until the block ends (then stopped gracefully)."""
    return shared.running(manager, interval=0.02)


def controller_manager(client: KubeClient, settings: Settings | None = None) -> Manager:
    return create_manager(client, settings, metrics_bind_address="",
                          health_probe_bind_address="")


def simulator_manager(client: KubeClient,
                      settings: SimulatorSettings = FAST_SIMULATOR) -> Manager:
    manager = Manager(client, metrics_bind_address="", health_probe_bind_address="")
    add_simulator(manager, settings)
    return manager


async def get_binding(client: KubeClient, key: str = "team-a/workspace") -> JSONObject:
    return await client.get(SPRITZ_BINDING, binding_resource_name(key), namespace=NAMESPACE)


def status_of(obj: JSONObject) -> dict[str, Any]:
    return dict(obj.get("status") or {})


def ref_name(status: dict[str, Any], ref: str) -> str | None:
    """The name in `status[ref]` (`activeInstanceRef`, ...), or None."""
    return (status.get(ref) or {}).get("name")


async def phase_is(client: KubeClient, phase: str, key: str = "team-a/workspace") -> bool:
    return status_of(await get_binding(client, key)).get("phase") == phase


async def spritzes(client: KubeClient) -> dict[str, JSONObject]:
    """The Spritzes of the namespace by name."""
    listed = await client.list(SPRITZ, namespace=NAMESPACE)
    return {item["metadata"]["name"]: item for item in listed.items}


@dataclass
class Recorder:
    """Every watch event of some kinds since the recorder started, in order."""

    events: list[tuple[str, JSONObject]] = field(default_factory=list)

    def of(self, kind: str, event_type: str | None = None) -> list[JSONObject]:
        return [obj for type_, obj in self.events
                if obj.get("kind") == kind and event_type in (None, type_)]


@contextlib.asynccontextmanager
async def recording(client: KubeClient, kinds: Iterable[ResourceKind] = (SPRITZ_BINDING, SPRITZ)
                    ) -> AsyncIterator[Recorder]:
    """Record the namespace's watch events of `kinds` from now until the block ends."""
    recorder = Recorder()

    async def follow(kind: ResourceKind, resource_version: str) -> None:
        options = WatchOptions(resource_version=resource_version)
        async for event in client.watch(kind, options, namespace=NAMESPACE):
            if event.type != "BOOKMARK":
                recorder.events.append((event.type, event.object))

    # Each watch starts where a list taken now ends, so no event after this point is missed.
    starts = [(kind, (await client.list(kind, namespace=NAMESPACE)).resource_version)
              for kind in kinds]
    tasks = [asyncio.create_task(follow(kind, version)) for kind, version in starts]
    try:
        yield recorder
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def created_per_revision(recorder: Recorder) -> dict[str | None, list[str]]:
    """The Spritzes created during the recording, grouped by their target revision."""
    created: dict[str | None, list[str]] = {}
    for obj in recorder.of("Spritz", "ADDED"):
        revision = (obj["metadata"].get("annotations") or {}).get(TARGET_REVISION_ANNOTATION)
        created.setdefault(revision, []).append(obj["metadata"]["name"])
    return created


async def orphans(client: KubeClient, key: str = "team-a/workspace") -> list[str]:
    """Runtimes owned by the binding that its status does not refer to and that are not
    being deleted (there must never be any once the binding's status is written)."""
    obj = await get_binding(client, key)
    status = status_of(obj)
    referenced = {ref_name(status, ref) for ref in
                  ("activeInstanceRef", "candidateInstanceRef", "cleanupInstanceRef")}
    uid = obj["metadata"]["uid"]
    return sorted(
        name for name, runtime in (await spritzes(client)).items()
        if any(owner.get("uid") == uid for owner in runtime["metadata"].get("ownerReferences")
               or ())
        and name not in referenced and not runtime["metadata"].get("deletionTimestamp"))

"""The GitTarget controller process: `controllerkit run examples.gittarget.app:build`.

`build(client, namespace=None)` returns a `Manager` running one controller, `gittargets`,
that reconciles GitTargets and is woken by changes of their providers, of their WatchRules,
of targets claiming the same folder, and by its own snapshots and event streams. Settings
come from the environment (see `Settings.from_env`):

| Variable | Default | Meaning |
| --- | --- | --- |
| `GITTARGET_WORKDIR` | `<tmp>/controllerkit-gittarget` | clones of the branches, ssh keys |
| `GITTARGET_INSTALL_CRDS` | `false` | create the three CRDs at start if they are missing |
| `GITTARGET_SNAPSHOT_SYNC_TIMEOUT` | `60` | seconds a snapshot waits for mirrored caches |

`create_manager(client, settings, ...)` is the same with explicit settings (tests, embedding).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controllerkit import KubeClient, Manager, Request
from controllerkit.controller import GENERATION_CHANGED, Controller
from controllerkit.errors import AlreadyExists
from controllerkit.meta import CUSTOM_RESOURCE_DEFINITION, JSONObject, ObjectKey

from .contract import RequeueDelays
from .controller import GitTargetReconciler
from .discovery import DiscoveryReader
from .gates import GitTargetGates
from .kinds import GIT_PROVIDER, GIT_TARGET, WATCH_RULE, crds
from .mirror import MirrorHub
from .session import TargetSessions
from .worker import GitError, WorkerRegistry

logger = logging.getLogger(__name__)

CONTROLLER_NAME = "gittargets"
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """What the controller process is configured with."""

    workdir: Path = field(
        default_factory=lambda: Path(tempfile.gettempdir()) / "controllerkit-gittarget")
    """Branch clones live in `workdir/workers`, provider ssh keys in `workdir/keys`."""
    install_crds: bool = False
    """Create the CRDs at start when missing (needs `create` on CustomResourceDefinitions)."""
    snapshot_sync_timeout: float = 60.0
    """How long a snapshot waits for the caches of the mirrored kinds before it fails."""
    delays: RequeueDelays = field(default_factory=RequeueDelays)
    max_concurrent_reconciles: int = 4

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `GITTARGET_*` variables (see the module doc); defaults otherwise."""
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            workdir=Path(env["GITTARGET_WORKDIR"]) if env.get("GITTARGET_WORKDIR")
            else defaults.workdir,
            install_crds=env.get("GITTARGET_INSTALL_CRDS", "").lower() in _TRUE,
            snapshot_sync_timeout=float(env.get("GITTARGET_SNAPSHOT_SYNC_TIMEOUT")
                                        or defaults.snapshot_sync_timeout),
        )


async def build(client: KubeClient, namespace: str | None = None) -> Manager:
    """The controller process for `controllerkit run` (settings from the environment)."""
    settings = Settings.from_env()
    if settings.install_crds:
        await install_crds(client)
    return create_manager(client, settings, namespace=namespace)


async def install_crds(client: KubeClient) -> None:
    """Create the GitProvider, GitTarget and WatchRule CRDs that do not exist yet."""
    for crd in crds():
        with contextlib.suppress(AlreadyExists):
            await client.create(CUSTOM_RESOURCE_DEFINITION, crd)


def create_manager(client: KubeClient, settings: Settings, *, namespace: str | None = None,
                   now: Callable[[], datetime] = lambda: datetime.now(UTC),
                   **manager_options: Any) -> Manager:
    """A `Manager` running the GitTarget controller in `namespace` (None: every namespace).

    `now` is the wall clock of status timestamps (injectable for exact tests);
    `manager_options` are passed to `Manager` (bind addresses, timeouts, informers...).
    """
    manager = Manager(client, namespace=namespace, **manager_options)
    informers = manager.informers
    targets = informers.informer(GIT_TARGET, namespace=namespace).store
    providers = informers.informer(GIT_PROVIDER, namespace=namespace).store
    watch_rules = informers.informer(WATCH_RULE, namespace=namespace).store
    hub = MirrorHub(informers)
    registry = WorkerRegistry(settings.workdir / "workers")
    wake = _Wake()
    sessions = TargetSessions(registry, hub, on_change=wake,
                              sync_timeout=settings.snapshot_sync_timeout,
                              retry_after=settings.delays.short.total_seconds(), now=now)
    gates = GitTargetGates(client, providers=providers, targets=targets,
                           watch_rules=watch_rules, sessions=sessions,
                           discovery=lambda: DiscoveryReader(client.config),
                           key_dir=settings.workdir / "keys")
    reconciler = GitTargetReconciler(client, gates, sessions, targets, delays=settings.delays,
                                     now=now)

    def same_folder_claims(obj: JSONObject) -> list[Request]:
        # Another target of the same provider changed: the later-created one of a pair
        # claiming one folder must re-check for TargetConflict.
        namespace_, name = _key(obj)
        provider = ((obj.get("spec") or {}).get("providerRef") or {}).get("name")
        return [Request(namespace_, _key(other)[1]) for other in targets.list()
                if _key(other)[0] == namespace_ and _key(other)[1] != name
                and ((other.get("spec") or {}).get("providerRef") or {}).get("name") == provider]

    def provider_targets(obj: JSONObject) -> list[Request]:
        namespace_, name = _key(obj)
        return [Request(namespace_, _key(target)[1]) for target in targets.list()
                if _key(target)[0] == namespace_
                and ((target.get("spec") or {}).get("providerRef") or {}).get("name") == name]

    def rule_target(obj: JSONObject) -> list[Request]:
        name = ((obj.get("spec") or {}).get("targetRef") or {}).get("name")
        return [Request(_key(obj)[0], str(name))] if name else []

    controller = (
        manager.controller_builder()
        # Our own status writes do not bump the generation: they never wake the controller.
        .for_(GIT_TARGET, predicates=[GENERATION_CHANGED])
        .watches(GIT_TARGET, same_folder_claims, predicates=[GENERATION_CHANGED])
        .watches(GIT_PROVIDER, provider_targets, predicates=[GENERATION_CHANGED])
        .watches(WATCH_RULE, rule_target, predicates=[GENERATION_CHANGED])
        .with_options(max_concurrent_reconciles=settings.max_concurrent_reconciles)
        .named(CONTROLLER_NAME)
        .build(reconciler)
    )
    wake.controller = controller

    async def run_mirror() -> None:
        try:
            await hub.run()
        finally:
            # Stopping: end the streams and let each worker push what waits.
            await sessions.close_all()
            try:
                await registry.close()
            except GitError as error:
                # The commits stay in the clones and are pushed by the next process.
                logger.warning("final push failed: %s", error)

    manager.add_runnable(run_mirror, name="gittarget mirror")
    return manager


class _Wake:
    """Asks the controller to reconcile a target (after a snapshot or a streamed commit)."""

    controller: Controller | None = None

    def __call__(self, target: ObjectKey) -> None:
        if self.controller is not None:
            self.controller.enqueue(Request(*target))


def _key(obj: JSONObject) -> ObjectKey:
    metadata = obj.get("metadata") or {}
    return (str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))

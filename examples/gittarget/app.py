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
from controllerkit.controller import Trigger
from controllerkit.errors import AlreadyExists
from controllerkit.meta import CUSTOM_RESOURCE_DEFINITION

from .contract import RequeueDelays
from .controller import add_controller
from .discovery import DiscoveryReader
from .gates import GitTargetGates
from .kinds import crds
from .mirror import MirrorHub
from .session import TargetSessions
from .worker import GitError, WorkerRegistry

logger = logging.getLogger(__name__)

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
    hub = MirrorHub(manager.informers)
    registry = WorkerRegistry(settings.workdir / "workers")
    wake = Trigger()
    sessions = TargetSessions(registry, hub, on_change=lambda target: wake.fire(Request(*target)),
                              sync_timeout=settings.snapshot_sync_timeout,
                              retry_after=settings.delays.short.total_seconds(), now=now)
    gates = GitTargetGates(sessions=sessions, discovery=lambda: DiscoveryReader(client),
                           key_dir=settings.workdir / "keys")
    add_controller(manager, gates=gates, sessions=sessions, wake=wake, delays=settings.delays,
                   max_concurrent_reconciles=settings.max_concurrent_reconciles, now=now)

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

"""The binding controller process: `controllerkit run examples.binding.app:build`.

`build(client, namespace=None)` returns a `Manager` running the `spritzbindings` controller
(for SpritzBindings, owning Spritzes), and the runtime simulator too when asked. Settings
come from the environment (see `Settings.from_env`):

| Variable | Default | Meaning |
| --- | --- | --- |
| `BINDING_SIMULATOR` | `false` | also run the runtime simulator (`simulator.py`) |
| `BINDING_SIMULATOR_READY_DELAY` | `1.0` | seconds a simulated Spritz takes to be Ready |
| `BINDING_SIMULATOR_DELETION_HOLD` | `1.0` | seconds a simulated deletion stays in flight |
| `BINDING_INSTALL_CRDS` | `false` | create the two CRDs at start if they are missing |
| `BINDING_RETRY_DELAY` | `2.0` | seconds before a failed step is tried again |

`create_manager(client, settings, ...)` is the same with explicit settings (tests, embedding).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controllerkit import Manager
from controllerkit.client import Client
from controllerkit.errors import AlreadyExists
from controllerkit.meta import CUSTOM_RESOURCE_DEFINITION

from .controller import RETRY_DELAY, add_binding_controller
from .kinds import crds
from .simulator import SimulatorSettings, add_simulator

_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """What the controller process is configured with."""

    simulator: bool = False
    """Also run the runtime simulator in this process."""
    simulator_settings: SimulatorSettings = field(default_factory=SimulatorSettings)
    install_crds: bool = False
    """Create the CRDs at start when missing (needs `create` on CustomResourceDefinitions)."""
    retry_delay: float = RETRY_DELAY
    """Seconds before a failed step (candidate create, cleanup, adoption) is tried again."""
    max_concurrent_reconciles: int = 4

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `BINDING_*` variables (see the module doc); defaults otherwise."""
        env = os.environ if environ is None else environ
        defaults = SimulatorSettings()
        return cls(
            simulator=env.get("BINDING_SIMULATOR", "").lower() in _TRUE,
            simulator_settings=SimulatorSettings(
                ready_delay=float(env.get("BINDING_SIMULATOR_READY_DELAY")
                                  or defaults.ready_delay),
                deletion_hold=float(env.get("BINDING_SIMULATOR_DELETION_HOLD")
                                    or defaults.deletion_hold)),
            install_crds=env.get("BINDING_INSTALL_CRDS", "").lower() in _TRUE,
            retry_delay=float(env.get("BINDING_RETRY_DELAY") or cls.retry_delay),
        )


async def build(client: Client, namespace: str | None = None) -> Manager:
    """The controller process for `controllerkit run` (settings from the environment)."""
    settings = Settings.from_env()
    if settings.install_crds:
        await install_crds(client)
    return create_manager(client, settings, namespace=namespace)


async def install_crds(client: Client) -> None:
    """Create the Spritz and SpritzBinding CRDs that do not exist yet."""
    for crd in crds():
        with contextlib.suppress(AlreadyExists):
            await client.create(CUSTOM_RESOURCE_DEFINITION, crd)


def create_manager(client: Client, settings: Settings | None = None, *,
                   namespace: str | None = None, simulator: bool | None = None,
                   **manager_options: Any) -> Manager:
    """A `Manager` running the binding controller in `namespace` (None: every namespace).

    `simulator` overrides `settings.simulator`; `manager_options` are passed to `Manager`
    (bind addresses, timeouts, informers...).
    """
    settings = settings or Settings()
    manager = Manager(client, namespace=namespace, **manager_options)
    add_binding_controller(manager, retry_delay=settings.retry_delay,
                           max_concurrent_reconciles=settings.max_concurrent_reconciles)
    if settings.simulator if simulator is None else simulator:
        add_simulator(manager, settings.simulator_settings)
    return manager

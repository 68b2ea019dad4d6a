"""The runtime simulator: phases, forced failures, held readiness and held deletions, on a
fake clock (its delays are exact, and nothing here waits for real time to pass)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from controllerkit import KubeClient, Manager
from controllerkit.clock import FakeClock
from controllerkit.meta import JSONObject
from controllerkit.testing import eventually
from examples.binding.app import Settings, create_manager
from examples.binding.kinds import SPRITZ
from examples.binding.simulator import (
    CONTROLLER_NAME,
    SIMULATE_ANNOTATION,
    SIMULATE_DELETION_ANNOTATION,
    SIMULATOR_FINALIZER,
    SimulatorSettings,
    add_simulator,
)

from .support import NAMESPACE, Cluster, running, spritz, spritzes

SETTINGS = SimulatorSettings(ready_delay=5.0, deletion_hold=3.0)


@dataclass
class Simulated:
    cluster: Cluster
    clock: FakeClock
    manager: Manager

    @property
    def reconciles(self) -> int:
        return self.manager.controllers[CONTROLLER_NAME].stats.reconciles

    async def runtime(self, name: str = "rt") -> JSONObject | None:
        return (await spritzes(self.cluster.admin)).get(name)

    async def phase(self, name: str = "rt") -> str | None:
        return ((await self.runtime(name) or {}).get("status") or {}).get("phase")

    async def annotate(self, value: str | None, key: str = SIMULATE_ANNOTATION,
                       name: str = "rt") -> None:
        """Change an annotation, and wait until the simulator has looked at the change."""
        before = self.reconciles
        await self.cluster.admin.patch(SPRITZ, name, {"metadata": {"annotations": {
            key: value}}}, namespace=NAMESPACE)
        await eventually(lambda: self.reconciles > before)


@pytest.fixture
async def simulated(cluster: Cluster) -> AsyncIterator[Simulated]:
    clock = FakeClock()
    manager = Manager(cluster.simulator_client, metrics_bind_address="",
                      health_probe_bind_address="")
    add_simulator(manager, SETTINGS, clock=clock)
    async with running(manager):
        yield Simulated(cluster, clock, manager)


async def has_phase(simulated: Simulated, phase: str, name: str = "rt") -> bool:
    return await simulated.phase(name) == phase


async def test_a_new_runtime_provisions_and_is_ready_after_the_delay(
        simulated: Simulated) -> None:
    await simulated.cluster.admin.create(SPRITZ, spritz("rt"), namespace=NAMESPACE)
    await eventually(lambda: has_phase(simulated, "Provisioning"))
    runtime = await simulated.runtime()
    assert runtime is not None
    assert runtime["metadata"]["finalizers"] == [SIMULATOR_FINALIZER]
    # The requeue is set once the reconcile that wrote the phase returns: wait for it.
    await eventually(lambda: simulated.clock.next_deadline == SETTINGS.ready_delay)

    simulated.clock.advance(SETTINGS.ready_delay)
    await eventually(lambda: has_phase(simulated, "Ready"))


@pytest.mark.parametrize(("value", "phase"), [("error", "Error"), ("expire", "Expired")])
async def test_an_annotation_forces_a_terminal_phase_even_on_a_ready_runtime(
        simulated: Simulated, value: str, phase: str) -> None:
    await simulated.cluster.admin.create(SPRITZ, spritz("rt"), namespace=NAMESPACE)
    await eventually(lambda: has_phase(simulated, "Provisioning"))
    simulated.clock.advance(SETTINGS.ready_delay)
    await eventually(lambda: has_phase(simulated, "Ready"))

    await simulated.annotate(value)
    await eventually(lambda: has_phase(simulated, phase))


async def test_a_held_runtime_stays_provisioning_until_released(simulated: Simulated) -> None:
    await simulated.cluster.admin.create(
        SPRITZ, spritz("rt", annotations={SIMULATE_ANNOTATION: "hold"}), namespace=NAMESPACE)
    await eventually(lambda: has_phase(simulated, "Provisioning"))
    simulated.clock.advance(SETTINGS.ready_delay * 2)
    await simulated.annotate("still", key="example.com/touch")
    assert await simulated.phase() == "Provisioning"

    await simulated.annotate(None)
    # The delay has long passed: released, it is Ready at once.
    await eventually(lambda: has_phase(simulated, "Ready"))


async def test_a_deleted_runtime_is_terminating_for_the_hold_time(
        simulated: Simulated) -> None:
    await simulated.cluster.admin.create(SPRITZ, spritz("rt"), namespace=NAMESPACE)
    await eventually(lambda: has_phase(simulated, "Provisioning"))
    simulated.clock.advance(SETTINGS.ready_delay)
    await eventually(lambda: has_phase(simulated, "Ready"))

    await simulated.cluster.admin.delete(SPRITZ, "rt", namespace=NAMESPACE)
    await eventually(lambda: has_phase(simulated, "Terminating"))
    deleted_at = simulated.clock.monotonic()
    await eventually(
        lambda: simulated.clock.next_deadline == deleted_at + SETTINGS.deletion_hold)
    simulated.clock.advance(SETTINGS.deletion_hold)
    await eventually(lambda: _gone(simulated))


async def test_a_held_deletion_lasts_until_released(simulated: Simulated) -> None:
    await simulated.cluster.admin.create(SPRITZ, spritz(
        "rt", annotations={SIMULATE_DELETION_ANNOTATION: "hold"}), namespace=NAMESPACE)
    await eventually(lambda: has_phase(simulated, "Provisioning"))
    await simulated.cluster.admin.delete(SPRITZ, "rt", namespace=NAMESPACE)
    await eventually(lambda: has_phase(simulated, "Terminating"))
    simulated.clock.advance(SETTINGS.deletion_hold * 2)
    await simulated.annotate("still", key="example.com/touch")
    assert await simulated.runtime() is not None

    await simulated.annotate(None, key=SIMULATE_DELETION_ANNOTATION)
    await eventually(lambda: _gone(simulated))


async def _gone(simulated: Simulated) -> bool:
    return await simulated.runtime() is None


@pytest.mark.parametrize(("environ", "runs_simulator"), [
    ({}, False), ({"BINDING_SIMULATOR": "1"}, True), ({"BINDING_SIMULATOR": "off"}, False)])
def test_the_controller_process_runs_the_simulator_when_asked(
        environ: dict[str, str], runs_simulator: bool) -> None:
    settings = Settings.from_env({**environ, "BINDING_SIMULATOR_READY_DELAY": "0.5",
                                  "BINDING_SIMULATOR_DELETION_HOLD": "2"})
    assert settings.simulator_settings == SimulatorSettings(ready_delay=0.5, deletion_hold=2.0)
    manager = create_manager(KubeClient.from_url("http://127.0.0.1:1"), settings)
    expected = {"spritzbindings", CONTROLLER_NAME} if runs_simulator else {"spritzbindings"}
    assert set(manager.controllers) == expected

"""Crash safety: the controller runs as its own process (`controllerkit run
examples.binding.app:build`) and is killed with SIGKILL at every phase boundary of a full
lifecycle, then restarted. Everything it needs is in the binding's status, so each restart
resumes where the last process stopped: never two candidates for one revision, never a
runtime the binding owns but does not refer to, and the lifecycle completes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from controllerkit import Manager
from controllerkit.apiserver.kubeconfig import write_kubeconfig
from controllerkit.controller import set_controller_reference
from controllerkit.testing import eventually
from examples.binding.kinds import SPRITZ, SPRITZ_BINDING, SpritzBinding
from examples.binding.naming import binding_resource_name, candidate_name
from examples.binding.runtimes import candidate_object

from .support import (
    CONTROLLER_TOKEN,
    NAMESPACE,
    Cluster,
    Recorder,
    binding,
    controller_manager,
    created_per_revision,
    get_binding,
    orphans,
    phase_is,
    recording,
    ref_name,
    running,
    spritzes,
    status_of,
)
from .test_lifecycle import HELD, KEY, release, release_deletion, runtime_name

ROOT = Path(__file__).resolve().parents[3]


class ControllerProcess:
    """`controllerkit run examples.binding.app:build` with the controller's identity; its
    log goes to a file (a pipe nobody reads would fill up and block it)."""

    def __init__(self, kubeconfig: Path, logs: Path) -> None:
        self.kubeconfig = kubeconfig
        self.logs = logs
        self.started = 0
        self.boundary = 0
        """How many binding events the watch had seen at the phase boundary of the last kill."""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.started += 1
        with (self.logs / f"controller-{self.started}.log").open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "controllerkit.cli", "run", "examples.binding.app:build",
                 "--kubeconfig", str(self.kubeconfig), "--metrics-bind-address", "",
                 "--health-probe-bind-address", ""],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "BINDING_RETRY_DELAY": "0.2"})

    def kill(self) -> None:
        """SIGKILL: no graceful stop, no final writes."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.kill()
        self.start()


@pytest.fixture
def controller_process(cluster: Cluster, tmp_path: Path) -> Iterator[ControllerProcess]:
    kubeconfig = write_kubeconfig(tmp_path / "controller.kubeconfig", server=cluster.server.url,
                                  token=CONTROLLER_TOKEN)
    process = ControllerProcess(kubeconfig, tmp_path)
    try:
        yield process
    finally:
        process.kill()


def reached(recorder: Recorder, phase: str, *, after: int) -> int:
    """How many binding events the watch had seen when it first saw the binding in `phase`
    after its first `after` events; 0 while it has not."""
    history = recorder.of("SpritzBinding")
    return next((index + 1 for index in range(after, len(history))
                 if status_of(history[index]).get("phase") == phase), 0)


async def kill_when(recorder: Recorder, controller: ControllerProcess, phase: str) -> None:
    """Wait until the binding enters `phase` after the previous kill's boundary, kill -9 the
    controller at once, restart it.

    The controller may be past `phase` when the kill lands (a pass that wrote a status is
    followed by the next one at once): that is a crash point too. The next boundary is looked
    for after this one, not after the kill, so a phase reached just before it counts.
    """
    controller.boundary = await eventually(
        lambda: reached(recorder, phase, after=controller.boundary), within=20)
    controller.restart()


async def kill_when_created(recorder: Recorder, controller: ControllerProcess,
                            name: str) -> None:
    """Wait until runtime `name` is created, kill -9 the controller at once (most likely
    before it wrote the status naming the runtime), restart it."""
    await eventually(lambda: any(obj["metadata"]["name"] == name
                                 for obj in recorder.of("Spritz", "ADDED")), within=20)
    controller.restart()


async def test_the_lifecycle_survives_a_kill_at_every_phase_boundary(
        cluster: Cluster, simulator: Manager, controller_process: ControllerProcess) -> None:
    first, second = runtime_name(1), runtime_name(2)
    admin = cluster.admin
    async with recording(admin) as recorder:
        controller_process.start()
        await admin.create(SPRITZ_BINDING, binding(KEY, revision="r1", template=HELD),
                           namespace=NAMESPACE)
        await kill_when_created(recorder, controller_process, first)
        await kill_when(recorder, controller_process, "waiting_ready")
        assert await orphans(admin) == []
        await release(cluster, first)
        await kill_when(recorder, controller_process, "ready")
        assert await orphans(admin) == []

        await admin.patch(SPRITZ_BINDING, binding_resource_name(KEY),
                          {"spec": {"desiredRevision": "r2"}}, namespace=NAMESPACE)
        await kill_when(recorder, controller_process, "creating")
        await kill_when(recorder, controller_process, "waiting_ready")
        assert await orphans(admin) == []
        await release(cluster, second)
        await kill_when(recorder, controller_process, "cleaning_up")
        assert await orphans(admin) == []
        # The restarted controller finds the old runtime's deletion in flight and keeps the ref.
        assert ref_name(status_of(await get_binding(admin)), "cleanupInstanceRef") == first
        await release_deletion(cluster, first)
        await eventually(lambda: phase_is(admin, "ready"), within=20)

        final = status_of(await get_binding(admin))
        assert (final["observedRevision"], ref_name(final, "activeInstanceRef")) == ("r2", second)
        assert "candidateInstanceRef" not in final and "cleanupInstanceRef" not in final
        assert list(await spritzes(admin)) == [second]
        assert await orphans(admin) == []
        assert created_per_revision(recorder) == {"r1": [first], "r2": [second]}
        assert controller_process.started == 7


async def test_a_candidate_created_before_a_lost_status_write_is_taken_over(
        cluster: Cluster, simulator: Manager) -> None:
    # What a crash between the create and the status write leaves behind: runtime number 1
    # exists (owned by the binding), the status still says nothing was created.
    created = await cluster.admin.create(SPRITZ_BINDING, binding(KEY, revision="r1"),
                                         namespace=NAMESPACE)
    leftover = set_controller_reference(created, candidate_object(
        SpritzBinding.model_validate(created), runtime_name(1), "r1"))
    await cluster.admin.create(SPRITZ, leftover, namespace=NAMESPACE)

    async with recording(cluster.admin) as recorder, running(
            controller_manager(cluster.controller_client)):
        await eventually(lambda: phase_is(cluster.admin, "ready"))
        status = status_of(await get_binding(cluster.admin))
        assert ref_name(status, "activeInstanceRef") == runtime_name(1)
        assert status["nextRuntimeSequence"] == 1
        assert recorder.of("Spritz", "ADDED") == []
        assert list(await spritzes(cluster.admin)) == [runtime_name(1)]


async def test_an_unowned_runtime_with_the_candidate_name_is_taken_over(
        cluster: Cluster, simulator: Manager) -> None:
    created = await cluster.admin.create(SPRITZ_BINDING, binding(KEY, revision="r1"),
                                         namespace=NAMESPACE)
    name = candidate_name("claude-code", KEY, 1)
    await cluster.admin.create(SPRITZ, {
        "apiVersion": "spritz.sh/v1", "kind": "Spritz",
        "metadata": {"name": name, "namespace": NAMESPACE,
                     "annotations": {"spritz.sh/target-revision": "r1"}},
        "spec": {"image": "example/runtime:1"}}, namespace=NAMESPACE)

    async with running(controller_manager(cluster.controller_client)):
        await eventually(lambda: phase_is(cluster.admin, "ready"))
    runtime = (await spritzes(cluster.admin))[name]
    expected = set_controller_reference(created, {"metadata": {"namespace": NAMESPACE}})
    assert runtime["metadata"]["ownerReferences"] == expected["metadata"]["ownerReferences"]
    assert list(await spritzes(cluster.admin)) == [name]

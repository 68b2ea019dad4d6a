"""The binding lifecycle against an embedded API server: the controller and the runtime
simulator run as separate managers in the test's event loop, each with its own identity and
exactly the RBAC of examples/binding/rbac.yaml. Runtimes made from a `held` template stay
Provisioning, and their deletion stays in flight, until the test releases them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from controllerkit import Manager
from controllerkit.meta import JSONObject
from controllerkit.testing import eventually
from examples.binding.app import Settings
from examples.binding.kinds import SPRITZ, SPRITZ_BINDING
from examples.binding.naming import (
    BINDING_FINALIZER,
    RECONCILE_REQUEST_ANNOTATION,
    binding_resource_name,
    candidate_name,
)
from examples.binding.simulator import SIMULATE_ANNOTATION, SIMULATE_DELETION_ANNOTATION

from .support import (
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
    spritz,
    spritzes,
    status_of,
)

KEY = "team-a/workspace"
HELD = {"presetId": "claude-code", "spec": {"image": "example/runtime:1"},
        "annotations": {SIMULATE_ANNOTATION: "hold", SIMULATE_DELETION_ANNOTATION: "hold"}}


def runtime_name(sequence: int) -> str:
    return candidate_name("claude-code", KEY, sequence)


async def set_annotation(cluster: Cluster, name: str, key: str, value: str | None) -> None:
    await cluster.admin.patch(SPRITZ, name, {"metadata": {"annotations": {key: value}}},
                              namespace=NAMESPACE)


async def release(cluster: Cluster, name: str) -> None:
    """Let the held runtime `name` become Ready."""
    await set_annotation(cluster, name, SIMULATE_ANNOTATION, None)


async def release_deletion(cluster: Cluster, name: str) -> None:
    """Let the held deletion of runtime `name` finish."""
    await set_annotation(cluster, name, SIMULATE_DELETION_ANNOTATION, None)


def phases(recorder: Recorder) -> list[str]:
    """The binding phases the watch saw, each run of equal phases once."""
    seen: list[str] = []
    for obj in recorder.of("SpritzBinding"):
        phase = status_of(obj).get("phase")
        if phase and (not seen or seen[-1] != phase):
            seen.append(phase)
    return seen


def recorded(recorder: Recorder, phase: str) -> bool:
    """The last binding phase the watch saw is `phase` (the server may be there before it)."""
    return phases(recorder)[-1:] == [phase]


def refs(obj: JSONObject) -> dict[str, Any]:
    status = status_of(obj)
    return {"phase": status.get("phase"), "observedRevision": status.get("observedRevision"),
            "active": ref_name(status, "activeInstanceRef"),
            "candidate": ref_name(status, "candidateInstanceRef"),
            "cleanup": ref_name(status, "cleanupInstanceRef")}


async def test_upsert_to_ready_then_a_new_revision_cuts_over_and_cleans_up(
        cluster: Cluster, simulator: Manager) -> None:
    first, second = runtime_name(1), runtime_name(2)
    async with recording(cluster.admin) as recorder, running(
            controller_manager(cluster.controller_client)):
        await cluster.admin.create(SPRITZ_BINDING, binding(KEY, revision="r1", template=HELD),
                                   namespace=NAMESPACE)
        await eventually(lambda: phase_is(cluster.admin, "waiting_ready"))
        await release(cluster, first)
        await eventually(lambda: recorded(recorder, "ready"))
        assert phases(recorder) == ["creating", "waiting_ready", "ready"]
        assert refs(await get_binding(cluster.admin)) == {
            "phase": "ready", "observedRevision": "r1", "active": first, "candidate": None,
            "cleanup": None}

        await cluster.admin.patch(SPRITZ_BINDING, binding_resource_name(KEY),
                                  {"spec": {"desiredRevision": "r2"}}, namespace=NAMESPACE)
        await eventually(lambda: phase_is(cluster.admin, "waiting_ready"))
        await release(cluster, second)
        await eventually(lambda: recorded(recorder, "cleaning_up"))

        # The cutover is one status write: one MODIFIED event moves every ref at once.
        history = recorder.of("SpritzBinding")
        cutover = next(i for i, obj in enumerate(history)
                       if status_of(obj).get("observedRevision") == "r2")
        assert refs(history[cutover - 1]) == {
            "phase": "waiting_ready", "observedRevision": "r1", "active": first,
            "candidate": second, "cleanup": None}
        assert refs(history[cutover]) == {
            "phase": "cleaning_up", "observedRevision": "r2", "active": second,
            "candidate": None, "cleanup": first}
        assert [type_ for type_, obj in recorder.events
                if obj is history[cutover]] == ["MODIFIED"]

        # The old runtime's deletion is in flight: a later pass keeps the cleanup ref.
        old = await eventually(lambda: _deleting(cluster, first))
        assert old["status"]["phase"] == "Terminating"
        stamp = datetime.now(UTC).isoformat()
        await cluster.admin.patch(SPRITZ_BINDING, binding_resource_name(KEY), {
            "metadata": {"annotations": {RECONCILE_REQUEST_ANNOTATION: stamp}}},
            namespace=NAMESPACE)
        reconciled = await eventually(lambda: _reconciled_after(cluster, stamp))
        assert refs(reconciled)["cleanup"] == first
        assert refs(reconciled)["phase"] == "cleaning_up"

        await release_deletion(cluster, first)
        await eventually(lambda: recorded(recorder, "ready"))
        final = await get_binding(cluster.admin)
        assert refs(final) == {"phase": "ready", "observedRevision": "r2", "active": second,
                               "candidate": None, "cleanup": None}
        assert list(await spritzes(cluster.admin)) == [second]
        assert phases(recorder) == ["creating", "waiting_ready", "ready", "creating",
                                    "waiting_ready", "cleaning_up", "ready"]
        assert created_per_revision(recorder) == {"r1": [first], "r2": [second]}
        conditions = {c["type"]: c["status"] for c in status_of(final)["conditions"]}
        assert conditions == {"Ready": "True", "Progressing": "False"}
        assert status_of(final)["nextRuntimeSequence"] == 2
        assert status_of(final)["observedGeneration"] == final["metadata"]["generation"]


async def _deleting(cluster: Cluster, name: str) -> JSONObject:
    runtime = (await spritzes(cluster.admin)).get(name)
    assert runtime and runtime["metadata"].get("deletionTimestamp") and (
        runtime.get("status") or {}).get("phase") == "Terminating", runtime
    return runtime


async def _reconciled_after(cluster: Cluster, stamp: str) -> JSONObject:
    obj = await get_binding(cluster.admin)
    reconciled = status_of(obj).get("lastReconciledAt")
    assert reconciled and datetime.fromisoformat(reconciled) > datetime.fromisoformat(stamp), (
        f"last reconciled at {reconciled}, not after {stamp}")
    return obj


def _first_with_cleanup(recorder: Recorder, name: str) -> JSONObject:
    """The first binding the watch saw with runtime `name` in cleanup."""
    found = [obj for obj in recorder.of("SpritzBinding") if refs(obj)["cleanup"] == name]
    assert found, f"no binding with {name} in cleanup yet"
    return found[0]


async def test_a_terminal_candidate_goes_to_cleanup_and_the_next_sequence_follows(
        cluster: Cluster, simulator: Manager) -> None:
    first, second = runtime_name(1), runtime_name(2)
    async with recording(cluster.admin) as recorder, running(
            controller_manager(cluster.controller_client)):
        await cluster.admin.create(SPRITZ_BINDING, binding(KEY, template=HELD),
                                   namespace=NAMESPACE)
        await eventually(lambda: phase_is(cluster.admin, "waiting_ready"))
        await set_annotation(cluster, first, SIMULATE_ANNOTATION, "error")

        # One pass moves the failed candidate to cleanup and creates its successor.
        replaced = await eventually(lambda: _first_with_cleanup(recorder, first))
        assert refs(replaced)["candidate"] == second
        assert status_of(replaced)["nextRuntimeSequence"] == 2
        assert refs(replaced)["phase"] == "creating"

        await release(cluster, second)
        await eventually(lambda: _deleting(cluster, first))
        await release_deletion(cluster, first)
        await eventually(lambda: phase_is(cluster.admin, "ready"))
        assert refs(await get_binding(cluster.admin))["active"] == second
        assert list(await spritzes(cluster.admin)) == [second]


async def test_an_active_runtime_that_fails_is_demoted_and_recreated(
        cluster: Cluster, simulator: Manager) -> None:
    first, second = runtime_name(1), runtime_name(2)
    async with running(controller_manager(cluster.controller_client)):
        await cluster.admin.create(SPRITZ_BINDING, binding(KEY), namespace=NAMESPACE)
        await eventually(lambda: phase_is(cluster.admin, "ready"))
        await set_annotation(cluster, first, SIMULATE_ANNOTATION, "error")

        await eventually(lambda: _active_is(cluster, second))
        await eventually(lambda: phase_is(cluster.admin, "ready"))
        assert list(await spritzes(cluster.admin)) == [second]
        assert refs(await get_binding(cluster.admin))["observedRevision"] == "r1"


async def _active_is(cluster: Cluster, name: str) -> bool:
    return bool(refs(await get_binding(cluster.admin))["active"] == name)


async def test_an_existing_runtime_is_adopted_as_the_active_one(
        cluster: Cluster, simulator: Manager) -> None:
    await cluster.admin.create(SPRITZ, spritz("handmade"), namespace=NAMESPACE)
    await eventually(lambda: _phase_of(cluster, "handmade", "Ready"))
    async with recording(cluster.admin) as recorder, running(
            controller_manager(cluster.controller_client)):
        created = await cluster.admin.create(SPRITZ_BINDING, binding(
            KEY, revision="r7", adoptActive={"namespace": NAMESPACE, "name": "handmade"},
            adoptedRevision="r7"), namespace=NAMESPACE)
        await eventually(lambda: phase_is(cluster.admin, "ready"))

        assert refs(await get_binding(cluster.admin)) == {
            "phase": "ready", "observedRevision": "r7", "active": "handmade",
            "candidate": None, "cleanup": None}
        runtime = (await spritzes(cluster.admin))["handmade"]
        owner = runtime["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["uid"], owner["controller"]) == (
            "SpritzBinding", created["metadata"]["uid"], True)
        assert list(await spritzes(cluster.admin)) == ["handmade"]
        assert recorder.of("Spritz", "ADDED") == []


async def _phase_of(cluster: Cluster, name: str, phase: str) -> bool:
    runtime = (await spritzes(cluster.admin)).get(name) or {}
    return (runtime.get("status") or {}).get("phase") == phase


async def test_a_candidate_the_server_refuses_fails_the_binding_and_is_retried(
        cluster: Cluster, simulator: Manager) -> None:
    refused = {"presetId": "claude-code", "spec": {"image": "example/runtime:1"},
               "labels": {"team": "not a label value!"}}
    manager = controller_manager(cluster.controller_client, Settings(retry_delay=0.1))
    async with running(manager):
        await cluster.admin.create(SPRITZ_BINDING, binding(KEY, template=refused),
                                   namespace=NAMESPACE)
        await eventually(lambda: phase_is(cluster.admin, "failed"))
        stats = manager.controllers["spritzbindings"].stats
        # Looked at again after the retry delay, without raising into the queue's backoff.
        requests = cluster.server.engine.requests
        await eventually(lambda: requests.count("create", "spritzes") >= 3)
        status = status_of(await get_binding(cluster.admin))
        assert status["lastErrorCode"] == "candidate_create_failed"
        assert "metadata.labels" in status["lastErrorMessage"]
        assert status["nextRuntimeSequence"] == 0
        assert {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]} == {
            "Ready": ("False", "candidate_create_failed"),
            "Progressing": ("False", "candidate_create_failed")}
        assert stats.errors == 0
        assert stats.results["requeue_after"] >= 2
        assert await spritzes(cluster.admin) == {}

        await cluster.admin.patch(SPRITZ_BINDING, binding_resource_name(KEY), {
            "spec": {"template": {"labels": {"team": "a"}}}}, namespace=NAMESPACE)
        await eventually(lambda: phase_is(cluster.admin, "ready"))
        status = status_of(await get_binding(cluster.admin))
        assert "lastErrorCode" not in status
        assert status["nextRuntimeSequence"] == 1


async def test_deleting_a_binding_removes_its_finalizer_and_its_runtimes_follow(
        cluster: Cluster, simulator: Manager) -> None:
    async with running(controller_manager(cluster.controller_client)):
        await cluster.admin.create(SPRITZ_BINDING, binding(KEY), namespace=NAMESPACE)
        await eventually(lambda: phase_is(cluster.admin, "ready"))
        assert (await get_binding(cluster.admin))["metadata"]["finalizers"] == [
            BINDING_FINALIZER]
        assert await orphans(cluster.admin) == []

        await cluster.admin.delete(SPRITZ_BINDING, binding_resource_name(KEY),
                                   namespace=NAMESPACE)
        await eventually(lambda: _gone(cluster))
        await eventually(lambda: _no_runtimes(cluster))


async def _gone(cluster: Cluster) -> bool:
    listed = await cluster.admin.list(SPRITZ_BINDING, namespace=NAMESPACE)
    return not listed.items


async def _no_runtimes(cluster: Cluster) -> bool:
    return not await spritzes(cluster.admin)

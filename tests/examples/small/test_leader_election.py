"""`examples/leader_election.py`: of two replicas only the Lease holder reconciles, and the
other takes over when it stops."""

from __future__ import annotations

import contextlib

from controllerkit import KubeClient
from controllerkit.kinds import ConfigMap, Lease
from controllerkit.testing import eventually, run_manager

from .conftest import LoadExample


async def test_only_the_leader_reconciles_and_a_standby_takes_over_when_it_stops(
    kube: KubeClient, load_example: LoadExample,
) -> None:
    first, second = load_example("leader_election"), load_example("leader_election")
    assert first.identity() != second.identity()
    config_maps, leases = kube.typed(ConfigMap), kube.typed(Lease)

    async def stamped_by(replica: str, name: str = "demo") -> bool:
        found = await config_maps.get(name, namespace="default")
        return (found.metadata.annotations or {}).get(first.ANNOTATION) == replica

    async def holder() -> str | None:
        lease = await leases.get("leader-election-example", namespace="default")
        return lease.spec.holder_identity if lease.spec else None

    await config_maps.create(ConfigMap.model_validate({"metadata": {
        "name": "demo", "namespace": "default", "labels": {first.LABEL: "true"}}}))
    async with contextlib.AsyncExitStack() as first_running:
        await first_running.enter_async_context(run_manager(first.manager))
        await eventually(lambda: first.manager.is_leader, message="the first replica leads")
        async with run_manager(second.manager):
            await eventually(lambda: stamped_by(first.identity()))
            assert await holder() == first.identity()
            # Ready with a warm cache, yet its controller has not run a single reconcile.
            assert second.manager.ready and not second.manager.is_leader
            [standby_controller] = second.manager.controllers.values()
            assert standby_controller.stats.reconciles == 0

            await first_running.aclose()  # a clean stop releases the Lease
            await eventually(lambda: second.manager.is_leader, message="the second leads")
            assert await holder() == second.identity()
            await eventually(lambda: stamped_by(second.identity()))

            await config_maps.create(ConfigMap.model_validate({"metadata": {
                "name": "later", "namespace": "default", "labels": {first.LABEL: "true"}}}))
            await eventually(lambda: stamped_by(second.identity(), "later"))

"""`examples/owned_children.py`: an Echo's Deployment and Service are owned by it, put back
when deleted by hand, and garbage-collected with it."""

from __future__ import annotations

from typing import Any

from controllerkit import KubeClient
from controllerkit.client import TypedClient
from controllerkit.kinds import Deployment, Service
from controllerkit.testing import eventually, run_manager

from .conftest import LoadExample, existing, get_or_none, install_crd


async def uid_of(objects: TypedClient[Any], name: str) -> str | None:
    found = await get_or_none(objects, name)
    return None if found is None else str(found.metadata.uid)


async def delete_by_hand_and_see_it_back(objects: TypedClient[Any], name: str) -> None:
    deleted = await uid_of(objects, name)
    await objects.delete(name, namespace="default")

    async def replaced() -> bool:
        return await uid_of(objects, name) not in (None, deleted)

    await eventually(replaced, message=f"a new {objects.kind.kind} {name}")


async def collected(objects: TypedClient[Any], name: str) -> bool:
    return await uid_of(objects, name) is None


async def test_children_are_owned_repaired_and_collected_with_their_owner(
    kube: KubeClient, load_example: LoadExample,
) -> None:
    example = load_example("owned_children")
    await install_crd(kube, example.Echo)
    echoes = kube.typed(example.Echo)
    deployments, services = kube.typed(Deployment), kube.typed(Service)

    async def deployment_says(text: str) -> Deployment:
        deployment = await existing(deployments, "hello")
        assert deployment.spec is not None and deployment.spec.template.spec is not None
        [container] = deployment.spec.template.spec.containers
        assert f"-text={text}" in (container.args or [])
        return deployment

    async with run_manager(example.manager):
        echo = await echoes.create(example.Echo.model_validate({
            "metadata": {"name": "hello", "namespace": "default"},
            "spec": {"text": "hello", "port": 8080}}))
        deployment = await eventually(lambda: deployment_says("hello"))
        service = await eventually(lambda: existing(services, "hello"))
        for child in (deployment, service):
            [owner] = child.metadata.owner_references or []
            assert (owner.kind, owner.uid, owner.controller) == ("Echo", echo.metadata.uid, True)
        assert service.spec is not None and service.spec.ports is not None
        assert service.spec.ports[0].port == 8080

        await delete_by_hand_and_see_it_back(deployments, "hello")
        await delete_by_hand_and_see_it_back(services, "hello")

        echo.spec.text = "bonjour"
        await echoes.update(echo)
        await eventually(lambda: deployment_says("bonjour"))

        await echoes.delete("hello", namespace="default")
        await eventually(lambda: collected(deployments, "hello"))
        await eventually(lambda: collected(services, "hello"))

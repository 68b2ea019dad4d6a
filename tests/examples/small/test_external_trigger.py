"""`examples/external_trigger.py`: an announcement from outside the cluster wakes the
PackageWatches of its package at once; the periodic resync finds a release nobody announced."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from controllerkit import KubeClient
from controllerkit.client import TypedClient
from controllerkit.testing import eventually, run_manager

from .conftest import LoadExample, install_crd


async def create_watches(kube: KubeClient, example: ModuleType, **packages: str
                         ) -> TypedClient[Any]:
    """Install the CRD and create a PackageWatch of each package, named by its keyword."""
    await install_crd(kube, example.PackageWatch)
    watches: TypedClient[Any] = kube.typed(example.PackageWatch)
    for name, package in packages.items():
        await watches.create(example.PackageWatch.model_validate({
            "metadata": {"name": name, "namespace": "default"}, "spec": {"package": package}}))
    return watches


async def reports(watches: TypedClient[Any], name: str, version: str) -> bool:
    watch = await watches.get(name, namespace="default")
    return watch.status is not None and watch.status.latest_version == version


async def test_an_announced_release_wakes_the_watches_of_its_package(
    kube: KubeClient, load_example: LoadExample,
) -> None:
    example = load_example("external_trigger")
    assert example.RESYNC_SECONDS > 60  # longer than this test may wait: no resync helps
    example.index.release("httpx", "0.27.0", announce=False)
    watches = await create_watches(kube, example, client="httpx", mirror="httpx",
                                   other="flask")

    async with run_manager(example.manager):
        await eventually(lambda: reports(watches, "client", "0.27.0"))
        await eventually(lambda: reports(watches, "mirror", "0.27.0"))
        await eventually(lambda: reports(watches, "other", ""))

        example.index.release("httpx", "0.28.1")
        await eventually(lambda: reports(watches, "client", "0.28.1"))
        await eventually(lambda: reports(watches, "mirror", "0.28.1"))


async def test_the_periodic_resync_finds_a_release_that_was_not_announced(
    kube: KubeClient, load_example: LoadExample, monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = load_example("external_trigger")
    monkeypatch.setattr(example, "RESYNC_SECONDS", 0.2)
    watches = await create_watches(kube, example, client="httpx")

    async with run_manager(example.manager):
        await eventually(lambda: reports(watches, "client", ""))
        example.index.release("httpx", "0.28.1", announce=False)
        await eventually(lambda: reports(watches, "client", "0.28.1"))

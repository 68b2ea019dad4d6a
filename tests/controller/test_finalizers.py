"""The finalizer helper adds before work, cleans up on deletion, then lets the delete finish,
and never overwrites a newer object."""

from __future__ import annotations

import pytest

from controllerkit.client import KubeClient
from controllerkit.controller import Finalizer, add_finalizer
from controllerkit.errors import Conflict, NotFound
from controllerkit.meta import CONFIG_MAP, JSONObject

NAME = "example.com/cleanup"


async def test_finalizer_is_added_then_cleanup_runs_on_deletion_and_the_object_goes(
    kube: KubeClient,
) -> None:
    cleaned: list[str] = []

    async def cleanup(obj: JSONObject) -> None:
        cleaned.append(obj["metadata"]["name"])

    finalizer = Finalizer(kube, CONFIG_MAP, NAME, cleanup)
    created = await kube.create(CONFIG_MAP, {"metadata": {"name": "guarded"}},
                                namespace="default")
    outcome = await finalizer.apply(created)
    assert not outcome.deleting
    assert outcome.object["metadata"]["finalizers"] == [NAME]
    again = await finalizer.apply(outcome.object)
    assert again.object is outcome.object  # already there: no write

    await kube.delete(CONFIG_MAP, "guarded", namespace="default")
    terminating = await kube.get(CONFIG_MAP, "guarded", namespace="default")
    assert terminating["metadata"].get("deletionTimestamp")
    assert cleaned == []

    finished = await finalizer.apply(terminating)
    assert finished.deleting and cleaned == ["guarded"]
    with pytest.raises(NotFound):
        await kube.get(CONFIG_MAP, "guarded", namespace="default")


async def test_failed_cleanup_keeps_the_finalizer(kube: KubeClient) -> None:
    async def broken(obj: JSONObject) -> None:
        raise RuntimeError("backend unreachable")

    finalizer = Finalizer(kube, CONFIG_MAP, NAME, broken)
    created = await kube.create(CONFIG_MAP, {"metadata": {"name": "stuck"}},
                                namespace="default")
    await finalizer.apply(created)
    await kube.delete(CONFIG_MAP, "stuck", namespace="default")
    terminating = await kube.get(CONFIG_MAP, "stuck", namespace="default")
    with pytest.raises(RuntimeError, match="unreachable"):
        await finalizer.apply(terminating)
    still = await kube.get(CONFIG_MAP, "stuck", namespace="default")
    assert still["metadata"]["finalizers"] == [NAME]


async def test_adding_a_finalizer_to_a_stale_object_conflicts(kube: KubeClient) -> None:
    stale = await kube.create(CONFIG_MAP, {"metadata": {"name": "raced"}},
                              namespace="default")
    await kube.patch(CONFIG_MAP, "raced", {"metadata": {"finalizers": ["other.io/keep"]}},
                     namespace="default")
    with pytest.raises(Conflict):
        await add_finalizer(kube, CONFIG_MAP, stale, NAME)
    current = await kube.get(CONFIG_MAP, "raced", namespace="default")
    assert current["metadata"]["finalizers"] == ["other.io/keep"]


def test_unqualified_finalizer_names_are_refused(kube: KubeClient) -> None:
    async def cleanup(obj: JSONObject) -> None:
        return None

    with pytest.raises(ValueError, match="domain-qualified"):
        Finalizer(kube, CONFIG_MAP, "cleanup", cleanup)

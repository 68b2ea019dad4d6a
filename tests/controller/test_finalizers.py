"""`Context.finalize`: the finalizer is added before work, cleanup runs once per deletion, the
delete then finishes, and a newer object is never overwritten."""

from __future__ import annotations

import logging

import pytest

from controllerkit.cache import CachedClient, InformerFactory
from controllerkit.client import KubeClient
from controllerkit.controller import Context, FinalizerMemory
from controllerkit.errors import Conflict, NotFound
from controllerkit.events import EventRecorder
from controllerkit.meta import CONFIG_MAP, JSONObject
from controllerkit.reconcile import Request

NAME = "example.com/cleanup"


def context(kube: KubeClient, name: str, memory: FinalizerMemory | None = None) -> Context:
    return Context(request=Request("default", name), kind=CONFIG_MAP,
                   client=CachedClient(kube, InformerFactory(kube)),
                   log=logging.getLogger("test"),
                   events=EventRecorder(kube, component="test"),
                   finalized=memory or FinalizerMemory())


async def test_finalizer_is_added_then_cleanup_runs_once_and_the_object_goes(
    kube: KubeClient,
) -> None:
    cleaned: list[str] = []

    async def cleanup(obj: JSONObject) -> None:
        cleaned.append(obj["metadata"]["name"])

    memory = FinalizerMemory()
    ctx = context(kube, "guarded", memory)
    created = await kube.create(CONFIG_MAP, {"metadata": {"name": "guarded"}},
                                namespace="default")
    guarded = await ctx.finalize(created, NAME, cleanup)
    assert guarded is not None and guarded["metadata"]["finalizers"] == [NAME]
    assert await ctx.finalize(guarded, NAME, cleanup) is guarded  # already there: no write

    await kube.delete(CONFIG_MAP, "guarded", namespace="default")
    terminating = await kube.get(CONFIG_MAP, "guarded", namespace="default")
    assert terminating["metadata"].get("deletionTimestamp") and cleaned == []

    assert await ctx.finalize(terminating, NAME, cleanup) is None
    assert cleaned == ["guarded"]
    with pytest.raises(NotFound):
        await kube.get(CONFIG_MAP, "guarded", namespace="default")
    # A reconcile from a stale read of the same deletion: no second cleanup, no error.
    assert await context(kube, "guarded", memory).finalize(terminating, NAME, cleanup) is None
    assert cleaned == ["guarded"]


async def test_an_already_removed_finalizer_is_nothing_to_do(kube: KubeClient) -> None:
    async def cleanup(obj: JSONObject) -> None:
        raise AssertionError("no cleanup without the finalizer")

    created = await kube.create(CONFIG_MAP, {"metadata": {"name": "bare", "finalizers": [
        "other.io/keep"]}}, namespace="default")
    await kube.delete(CONFIG_MAP, "bare", namespace="default")
    terminating = await kube.get(CONFIG_MAP, "bare", namespace="default")
    assert created["metadata"]["uid"] == terminating["metadata"]["uid"]
    assert await context(kube, "bare").finalize(terminating, NAME, cleanup) is None


async def test_failed_cleanup_keeps_the_finalizer(kube: KubeClient) -> None:
    async def broken(obj: JSONObject) -> None:
        raise RuntimeError("backend unreachable")

    ctx = context(kube, "stuck")
    created = await kube.create(CONFIG_MAP, {"metadata": {"name": "stuck"}},
                                namespace="default")
    await ctx.finalize(created, NAME, broken)
    await kube.delete(CONFIG_MAP, "stuck", namespace="default")
    terminating = await kube.get(CONFIG_MAP, "stuck", namespace="default")
    with pytest.raises(RuntimeError, match="unreachable"):
        await ctx.finalize(terminating, NAME, broken)
    still = await kube.get(CONFIG_MAP, "stuck", namespace="default")
    assert still["metadata"]["finalizers"] == [NAME]


async def test_adding_a_finalizer_to_a_stale_object_conflicts(kube: KubeClient) -> None:
    async def cleanup(obj: JSONObject) -> None:
        return None

    stale = await kube.create(CONFIG_MAP, {"metadata": {"name": "raced"}},
                              namespace="default")
    await kube.patch(CONFIG_MAP, "raced", {"metadata": {"finalizers": ["other.io/keep"]}},
                     namespace="default")
    with pytest.raises(Conflict):
        await context(kube, "raced").finalize(stale, NAME, cleanup)
    current = await kube.get(CONFIG_MAP, "raced", namespace="default")
    assert current["metadata"]["finalizers"] == ["other.io/keep"]


async def test_unqualified_finalizer_names_are_refused(kube: KubeClient) -> None:
    async def cleanup(obj: JSONObject) -> None:
        return None

    with pytest.raises(ValueError, match="domain-qualified"):
        await context(kube, "any").finalize({"metadata": {"name": "any"}}, "cleanup", cleanup)

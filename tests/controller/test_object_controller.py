"""`Manager.controller`: a reconcile function of the object, with its `Context`, against a real
embedded API server."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from controllerkit import Condition, Context, CustomResource, KubeModel, Manager, Result
from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.cache import InformerFactory
from controllerkit.cache.checkpoint_file import FileCheckpointStore
from controllerkit.client import KubeClient
from controllerkit.crd import crd_for
from controllerkit.errors import NoKindMatch
from controllerkit.kinds import ConfigMap
from controllerkit.meta import CONFIG_MAP, CUSTOM_RESOURCE_DEFINITION, JSONObject
from controllerkit.testing import eventually, run_manager


class GadgetSpec(KubeModel):
    size: int = 1


class GadgetStatus(KubeModel):
    conditions: list[Condition] = []
    size: int = 0


class Gadget(CustomResource[GadgetSpec, GadgetStatus], group="test.controllerkit.dev",
             version="v1", kind="Gadget"):
    """A test object with a status subresource."""


class Missing(CustomResource[GadgetSpec, GadgetStatus], group="nowhere.example.com",
              version="v1", kind="Missing"):
    """A kind no server serves."""


FINALIZER = "test.controllerkit.dev/cleanup"


def gadget(name: str, size: int = 1) -> JSONObject:
    return {"apiVersion": "test.controllerkit.dev/v1", "kind": "Gadget",
            "metadata": {"name": name, "namespace": "default"}, "spec": {"size": size}}


@pytest.fixture
async def gadgets(kube: KubeClient) -> None:
    await kube.create(CUSTOM_RESOURCE_DEFINITION, crd_for(Gadget))


def quiet_manager(kube: KubeClient, **options: object) -> Manager:
    return Manager(kube, namespace="default", metrics_bind_address="0",
                   health_probe_bind_address="0", **options)  # type: ignore[arg-type]


@pytest.mark.usefixtures("gadgets")
async def test_finalizer_then_status_in_one_reconcile_writes_both_without_a_conflict(
    kube: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    manager = quiet_manager(kube)
    cleaned: list[str] = []

    async def cleanup(obj: Gadget) -> None:
        cleaned.append(obj.metadata.name or "")

    @manager.controller(Gadget)
    async def reconcile(obj: Gadget | None, ctx: Context) -> Result | None:
        if obj is None:
            return None
        obj = await ctx.finalize(obj, FINALIZER, cleanup)
        if obj is None:
            return None
        ctx.set_condition(obj, "Ready", True, reason="Sized")
        assert obj.status is not None
        obj.status.size = obj.spec.size
        await ctx.client.write_status(obj)
        return None

    with caplog.at_level(logging.INFO):
        async with run_manager(manager):
            await kube.create(Gadget.__kind__, gadget("g1", size=3))

            async def ready() -> JSONObject:
                found = await kube.get(Gadget.__kind__, "g1", namespace="default")
                assert found["metadata"].get("finalizers") == [FINALIZER]
                assert found.get("status", {}).get("size") == 3
                return found

            await eventually(ready)
            await kube.delete(Gadget.__kind__, "g1", namespace="default")

            async def gone() -> bool:
                return not (await kube.list(Gadget.__kind__, namespace="default")).items

            await eventually(gone)
            stats = manager.controllers["gadgets.test.controllerkit.dev"].stats
            await eventually(lambda: stats.active_workers == 0)

    assert cleaned == ["g1"]
    assert stats.results["conflict"] == 0
    assert stats.errors == 0
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.usefixtures("gadgets")
async def test_a_child_created_is_read_back_by_the_same_process_at_once(
    kube: KubeClient,
) -> None:
    manager = quiet_manager(kube)
    seen: list[bool] = []

    @manager.controller(Gadget, owns=[ConfigMap])
    async def reconcile(obj: Gadget | None, ctx: Context) -> Result | None:
        if obj is None:
            return None
        name = f"{obj.metadata.name}-config"
        if await ctx.client.get(ConfigMap, name, namespace="default") is None:
            await ctx.client.create(ConfigMap.model_validate(
                {"metadata": {"name": name, "namespace": "default"}}), owner=obj)
        seen.append(await ctx.client.get(ConfigMap, name, namespace="default") is not None)
        return None

    async with run_manager(manager):
        await kube.create(Gadget.__kind__, gadget("g2"))
        await eventually(lambda: seen)
        config = await kube.get(CONFIG_MAP, "g2-config", namespace="default")

    assert all(seen)
    assert config["metadata"]["ownerReferences"][0]["name"] == "g2"


@pytest.mark.usefixtures("gadgets")
async def test_a_plain_kind_hands_the_reconcile_function_a_dict(kube: KubeClient) -> None:
    manager = quiet_manager(kube)
    seen: list[object] = []

    @manager.controller(CONFIG_MAP)
    async def reconcile(obj: JSONObject | None, ctx: Context) -> Result | None:
        if obj is not None and obj["metadata"]["name"] == "plain":
            seen.append(obj)
        return None

    async with run_manager(manager):
        await kube.create(CONFIG_MAP, {"metadata": {"name": "plain", "namespace": "default"},
                                       "data": {"a": "1"}})
        await eventually(lambda: seen)

    assert isinstance(seen[0], dict)
    assert seen[0]["data"] == {"a": "1"}


async def test_a_kind_the_server_does_not_serve_fails_at_start_naming_it(
    kube: KubeClient,
) -> None:
    manager = quiet_manager(kube, kind_check_timeout=0.5)

    @manager.controller(Missing)
    async def reconcile(obj: Missing | None, ctx: Context) -> Result | None:
        return None

    with pytest.raises(NoKindMatch, match=r"Missing.*nowhere\.example\.com/v1"):
        await manager.run()


@pytest.mark.usefixtures("gadgets")
async def test_a_restart_from_a_checkpoint_reconciles_every_key_even_a_failed_one(
    server: EmbeddedApiServer, kube: KubeClient, tmp_path: Path
) -> None:
    for name in ("a", "b", "c"):
        await kube.create(Gadget.__kind__, gadget(name))

    async def run_once(fail: str) -> tuple[set[str], int]:
        store = FileCheckpointStore(tmp_path / "checkpoints")
        manager = quiet_manager(kube, informers=InformerFactory(kube, checkpoint_store=store))
        reconciled: set[str] = set()

        @manager.controller(Gadget)
        async def reconcile(obj: Gadget | None, ctx: Context) -> Result | None:
            assert obj is not None and obj.metadata.name is not None
            reconciled.add(obj.metadata.name)
            if obj.metadata.name == fail:
                raise RuntimeError("the backend is down")
            return None

        async with run_manager(manager):
            await eventually(lambda: reconciled == {"a", "b", "c"})
        (informer,) = manager.informers.informers()
        return reconciled, informer.reflector.stats.warm_starts

    assert await run_once(fail="b") == ({"a", "b", "c"}, 0)
    # The second start is warm: the informer restores its cache from the checkpoint and lists
    # nothing, yet every key is reconciled again, the one that failed included.
    assert await run_once(fail="") == ({"a", "b", "c"}, 1)

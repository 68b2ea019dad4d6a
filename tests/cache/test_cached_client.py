"""`CachedClient`: reads from synced caches, writes to the server, reads its own writes."""

from __future__ import annotations

from controllerkit.cache import InformerFactory
from controllerkit.cache.cached_client import CachedClient
from controllerkit.client import KubeClient
from controllerkit.kinds import ConfigMap
from controllerkit.meta import CONFIG_MAP, SECRET, JSONObject


def config_map(name: str, **data: str) -> JSONObject:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"}, "data": dict(data)}


async def test_writes_are_read_back_at_once_from_a_cache_that_has_not_seen_them(
    kube: KubeClient,
) -> None:
    async with InformerFactory(kube) as informers:
        informer = informers.informer(CONFIG_MAP, namespace="default")
        await informers.wait_for_sync(30)
        client = CachedClient(kube, informers)

        created = await client.create(config_map("fresh", a="1"))
        assert await client.get(CONFIG_MAP, "fresh", namespace="default") == created
        assert [obj["metadata"]["name"] for obj in await client.list(
            CONFIG_MAP, namespace="default")] == ["fresh"]

        created["data"] = {"a": "2"}
        updated = await client.update(created)
        assert (await client.get(CONFIG_MAP, "fresh", namespace="default") or {}).get(
            "data") == {"a": "2"}

        await client.delete(updated)
        assert await client.get(CONFIG_MAP, "fresh", namespace="default") is None
        assert await client.list(CONFIG_MAP, namespace="default") == []
        assert informer.has_synced


async def test_models_in_give_models_out(kube: KubeClient) -> None:
    async with InformerFactory(kube) as informers:
        informers.informer(CONFIG_MAP, namespace="default")
        await informers.wait_for_sync(30)
        client = CachedClient(kube, informers)

        created = await client.create(ConfigMap.model_validate(config_map("typed", k="v")))
        assert isinstance(created, ConfigMap) and created.data == {"k": "v"}
        read = await client.get(ConfigMap, "typed", namespace="default")
        assert isinstance(read, ConfigMap) and read.metadata.uid == created.metadata.uid


async def test_apply_sends_nothing_when_the_cache_already_has_every_value(
    kube: KubeClient,
) -> None:
    async with InformerFactory(kube) as informers:
        informers.informer(CONFIG_MAP, namespace="default")
        await informers.wait_for_sync(30)
        client = CachedClient(kube, informers)
        first = await client.apply(config_map("applied", a="1"))
        patches = kube.stats.requests.get("PATCH", 0)

        again = await client.apply(config_map("applied", a="1"))

        assert kube.stats.requests.get("PATCH", 0) == patches
        assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
        changed = await client.apply(config_map("applied", a="2"))
        assert changed["data"] == {"a": "2"}


async def test_a_kind_no_cache_covers_is_read_from_the_server(kube: KubeClient) -> None:
    await kube.create(SECRET, {"metadata": {"name": "s", "namespace": "default"}},
                      namespace="default")
    async with InformerFactory(kube) as informers:
        client = CachedClient(kube, informers)
        found = await client.get(SECRET, "s", namespace="default")
        assert found is not None and found["metadata"]["name"] == "s"
        assert await client.get(SECRET, "absent", namespace="default") is None
        assert informers.informers() == []  # no watch was opened behind the caller's back

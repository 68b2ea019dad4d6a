"""`list_all`: pages of one consistent list, and `Expired` when a continue token outlives it."""

from __future__ import annotations

import asyncio

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.apiserver.pagination import ListPager
from controllerkit.client import KubeClient
from controllerkit.errors import Expired
from controllerkit.meta import CONFIG_MAP

from .kinds import configmap

OBJECTS = 2_500


async def create_configmaps(kube: KubeClient, count: int, *, prefix: str = "cm") -> None:
    semaphore = asyncio.Semaphore(32)

    async def one(index: int) -> None:
        async with semaphore:
            await kube.create(CONFIG_MAP, configmap(f"{prefix}-{index:05d}", i=str(index)))

    await asyncio.gather(*(one(index) for index in range(count)))


async def test_list_all_returns_every_object_in_pages_of_the_page_size(
    server: EmbeddedApiServer, kube: KubeClient
) -> None:
    await create_configmaps(kube, OBJECTS)
    server.engine.requests.clear()

    pages = [page async for page in kube.list_all(CONFIG_MAP, namespace="default")]

    assert [len(page.items) for page in pages] == [500] * (OBJECTS // 500)
    names = [item["metadata"]["name"] for page in pages for item in page.items]
    assert sorted(names) == [f"cm-{index:05d}" for index in range(OBJECTS)]
    assert {page.resource_version for page in pages} == {pages[0].resource_version}
    assert pages[-1].continue_token == ""
    assert server.engine.requests.count("list", "configmaps") == len(pages)


async def test_list_all_pages_show_the_first_pages_snapshot_despite_writes(
    kube: KubeClient,
) -> None:
    await create_configmaps(kube, 1_200)
    seen: list[str] = []
    async for page in kube.list_all(CONFIG_MAP, namespace="default", page_size=400):
        seen.extend(item["metadata"]["name"] for item in page.items)
        if len(seen) == 400:
            await kube.create(CONFIG_MAP, configmap("zz-late"))
            await kube.delete(CONFIG_MAP, "cm-01199", namespace="default")
    assert len(seen) == 1_200
    assert "zz-late" not in seen and "cm-01199" in seen


async def test_list_all_with_a_selector_pages_only_matching_objects(kube: KubeClient) -> None:
    for index in range(30):
        body = configmap(f"cm-{index:02d}")
        body["metadata"]["labels"] = {"parity": "even" if index % 2 == 0 else "odd"}
        await kube.create(CONFIG_MAP, body)
    pages = [
        page
        async for page in kube.list_all(
            CONFIG_MAP, namespace="default", label_selector="parity=odd", page_size=4
        )
    ]
    assert [len(page.items) for page in pages] == [4, 4, 4, 3]


async def test_continue_token_outliving_its_snapshot_raises_expired(
    server: EmbeddedApiServer, kube: KubeClient
) -> None:
    now = [0.0]
    server.engine.pager = ListPager(ttl_seconds=60.0, clock=lambda: now[0])
    await create_configmaps(kube, 30)

    pages = kube.list_all(CONFIG_MAP, namespace="default", page_size=10)
    first = await anext(pages)
    assert len(first.items) == 10 and first.continue_token
    now[0] += 61.0
    with pytest.raises(Expired) as caught:
        await anext(pages)
    assert caught.value.code == 410
    assert "continue" in caught.value.message


async def test_one_page_list_reports_remaining_items(kube: KubeClient) -> None:
    await create_configmaps(kube, 7)
    page = await kube.list(CONFIG_MAP, namespace="default", limit=5)
    assert len(page.items) == 5
    assert page.remaining_item_count == 2
    rest = await kube.list(CONFIG_MAP, namespace="default", limit=5,
                           continue_token=page.continue_token)
    assert len(rest.items) == 2 and rest.continue_token == ""

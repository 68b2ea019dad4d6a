"""`examples/external_cleanup.py`: a DnsRecord's finalizer keeps it until its record is
withdrawn from the zone, however long the zone is unreachable; a host name has one owner."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from controllerkit import KubeClient
from controllerkit.testing import eventually, run_manager

from .conftest import LoadExample, get_or_none, install_crd


def dns_record(example: ModuleType, name: str, host: str, address: str) -> Any:
    return example.DnsRecord.model_validate({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"host": host, "address": address}})


async def test_a_deleted_record_stays_until_it_is_withdrawn_from_the_zone(
    kube: KubeClient, load_example: LoadExample,
) -> None:
    example = load_example("external_cleanup")
    zone = example.zone
    await install_crd(kube, example.DnsRecord)
    records = kube.typed(example.DnsRecord)

    async with run_manager(example.manager):
        await records.create(dns_record(example, "blog", "blog.example.com", "192.0.2.10"))
        await eventually(lambda: zone.resolve("blog.example.com") == "192.0.2.10")
        record = await records.get("blog", namespace="default")
        assert record.metadata.finalizers == [example.FINALIZER]

        record.spec.host = "www.example.com"
        await records.update(record)
        await eventually(lambda: zone.resolve("www.example.com") == "192.0.2.10")
        assert zone.resolve("blog.example.com") is None

        zone.reachable = False
        await records.delete("blog", namespace="default")
        await eventually(lambda: zone.failed_calls > 0, message="a failed withdrawal")
        deleting = await records.get("blog", namespace="default")
        assert deleting.metadata.deletion_timestamp is not None
        assert deleting.metadata.finalizers == [example.FINALIZER]
        assert zone.resolve("www.example.com") == "192.0.2.10"

        zone.reachable = True

        async def gone() -> bool:
            return await get_or_none(records, "blog") is None

        await eventually(gone, message="the DnsRecord gone")
        assert zone.records == {}


async def test_a_host_held_by_another_record_is_taken_only_once_that_record_is_gone(
    kube: KubeClient, load_example: LoadExample,
) -> None:
    example = load_example("external_cleanup")
    zone = example.zone
    await install_crd(kube, example.DnsRecord)
    records = kube.typed(example.DnsRecord)

    async with run_manager(example.manager):
        [controller] = example.manager.controllers.values()
        await records.create(dns_record(example, "first", "shop.example.com", "192.0.2.1"))
        await eventually(lambda: zone.resolve("shop.example.com") == "192.0.2.1")
        await records.create(dns_record(example, "second", "shop.example.com", "192.0.2.2"))
        await eventually(lambda: controller.stats.errors > 0, message="second refused")
        assert zone.resolve("shop.example.com") == "192.0.2.1"

        await records.delete("first", namespace="default")
        await eventually(lambda: zone.resolve("shop.example.com") == "192.0.2.2")

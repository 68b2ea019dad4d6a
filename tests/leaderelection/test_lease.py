"""`LeaseLock` and MicroTime against the embedded API server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from controllerkit.client import KubeClient
from controllerkit.errors import AlreadyExists, Conflict
from controllerkit.leaderelection import (
    LeaseLock,
    LeaseRecord,
    format_micro_time,
    parse_micro_time,
)
from controllerkit.meta import LEASE

MOMENT = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def held_by(identity: str, *, transitions: int = 0) -> LeaseRecord:
    return LeaseRecord(holder_identity=identity, lease_duration_seconds=15,
                       acquire_time=MOMENT, renew_time=MOMENT, lease_transitions=transitions)


def test_micro_time_has_six_fractional_digits_in_utc() -> None:
    in_paris = MOMENT.astimezone(timezone(timedelta(hours=2)))
    assert format_micro_time(in_paris) == "2024-05-06T07:08:09.123456Z"


def test_micro_time_round_trips_and_reads_offsets() -> None:
    assert parse_micro_time(format_micro_time(MOMENT)) == MOMENT
    assert parse_micro_time("2024-05-06T09:08:09.123456+02:00") == MOMENT
    assert parse_micro_time("2024-05-06T07:08:09Z") == MOMENT.replace(microsecond=0)


@pytest.mark.parametrize("text", ["yesterday", "2024-05-06T07:08:09"])
def test_micro_time_rejects_text_that_is_not_rfc3339(text: str) -> None:
    with pytest.raises(ValueError, match=text):
        parse_micro_time(text)


async def test_missing_lease_reads_as_none(kube: KubeClient) -> None:
    assert await LeaseLock(kube, "default", "nobody").get() is None


async def test_created_record_reads_back_with_labels_and_annotations(kube: KubeClient) -> None:
    lock = LeaseLock(kube, "default", "ctl")
    record = LeaseRecord(holder_identity="a", lease_duration_seconds=15, acquire_time=MOMENT,
                         renew_time=MOMENT, lease_transitions=2,
                         labels={"shard": "yes"}, annotations={"note": "hi"})
    version = await lock.create(record)
    assert await lock.get() == (record, version)
    lease = await kube.get(LEASE, "ctl", namespace="default")
    assert lease["spec"]["renewTime"] == "2024-05-06T07:08:09.123456Z"


async def test_second_create_gets_already_exists(kube: KubeClient) -> None:
    lock = LeaseLock(kube, "default", "ctl")
    await lock.create(held_by("a"))
    with pytest.raises(AlreadyExists):
        await lock.create(held_by("b"))


async def test_update_at_a_stale_resource_version_gets_conflict(kube: KubeClient) -> None:
    lock = LeaseLock(kube, "default", "ctl")
    first = await lock.create(held_by("a"))
    second = await lock.update(held_by("b", transitions=1), first)
    assert second != first
    with pytest.raises(Conflict):
        await lock.update(held_by("c", transitions=1), first)
    found = await lock.get()
    assert found is not None and found[0].holder_identity == "b"


async def test_cleared_holder_reads_as_not_held(kube: KubeClient) -> None:
    lock = LeaseLock(kube, "default", "ctl")
    version = await lock.create(held_by("a"))
    await lock.update(LeaseRecord(None, 1, MOMENT, MOMENT, 0), version)
    found = await lock.get()
    assert found is not None and not found[0].is_held


async def test_delete_at_a_stale_version_conflicts_and_a_missing_lease_is_fine(
    kube: KubeClient,
) -> None:
    lock = LeaseLock(kube, "default", "ctl")
    first = await lock.create(held_by("a"))
    await lock.update(held_by("b"), first)
    with pytest.raises(Conflict):
        await lock.delete(first)
    await lock.delete()
    assert await lock.get() is None
    await lock.delete()

"""Idempotency records in the API server: one record per (scope, key) however many attempts
race, a different request under a used key refused, the first outcome kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from controllerkit import KubeClient
from controllerkit.meta import CONFIG_MAP
from examples.binding.api.idempotency import (
    IDEMPOTENCY_RECORD_LABEL,
    IdempotencyKeyReused,
    IdempotencyStore,
    record_name,
    request_fingerprint,
)

from .support import NAMESPACE, ApiCluster

SCOPE = "replace:default/runtime-a"
FROZEN = datetime(2026, 4, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(cluster: ApiCluster) -> IdempotencyStore:
    # The API's own identity: its RBAC (rbac.yaml) must be enough for the records.
    return IdempotencyStore(cluster.api_identity, now=lambda: FROZEN)


async def records(client: KubeClient) -> list[dict[str, object]]:
    page = await client.list(CONFIG_MAP, namespace=NAMESPACE,
                             label_selector=f"{IDEMPOTENCY_RECORD_LABEL}=true")
    return page.items


def test_fingerprints_ignore_key_order_and_see_every_value() -> None:
    assert request_fingerprint({"a": 1, "b": {"c": 2, "d": 3}}) == \
        request_fingerprint({"b": {"d": 3, "c": 2}, "a": 1})
    assert request_fingerprint({"a": 1}) != request_fingerprint({"a": 2})


def test_record_names_separate_scopes_and_fit_a_configmap_name() -> None:
    name = record_name(SCOPE, "key-1")

    assert name != record_name("replace:default/runtime-b", "key-1")
    assert name != record_name(SCOPE, "key-2")
    assert name == record_name(SCOPE, "key-1")
    assert len(name) <= 63


async def test_a_new_key_is_reserved_with_its_planned_outcome(store: IdempotencyStore,
                                                              cluster: ApiCluster) -> None:
    record = await store.reserve(NAMESPACE, SCOPE, "key-1", "fp-1",
                                 outcome={"replacement": "runtime-b"})

    assert (record.completed, dict(record.outcome)) == (False, {"replacement": "runtime-b"})
    [stored] = await records(cluster.admin)
    assert stored["data"] == {"scope": SCOPE, "key": "key-1", "fingerprint": "fp-1",
                              "state": "reserved", "outcome": '{"replacement": "runtime-b"}',
                              "reservedAt": "2026-04-03T12:00:00+00:00"}


async def test_racing_reservations_of_one_key_share_one_record(store: IdempotencyStore,
                                                               cluster: ApiCluster) -> None:
    reserved = await asyncio.gather(*(
        store.reserve(NAMESPACE, SCOPE, "key-1", "fp-1", outcome={"attempt": str(n)})
        for n in range(6)))

    assert len({record.outcome["attempt"] for record in reserved}) == 1
    assert len(await records(cluster.admin)) == 1


async def test_a_used_key_with_another_fingerprint_is_refused(store: IdempotencyStore) -> None:
    await store.reserve(NAMESPACE, SCOPE, "key-1", "fp-1")

    with pytest.raises(IdempotencyKeyReused):
        await store.reserve(NAMESPACE, SCOPE, "key-1", "fp-2")
    # The same key in another scope is another record.
    other = await store.reserve(NAMESPACE, "replace:default/runtime-b", "key-1", "fp-2")
    assert other.fingerprint == "fp-2"


async def test_the_first_completion_is_the_one_kept(store: IdempotencyStore) -> None:
    reserved = await store.reserve(NAMESPACE, SCOPE, "key-1", "fp-1")

    first = await store.complete(reserved, {"replacement": "runtime-b"})
    second = await store.complete(reserved, {"replacement": "runtime-c"})

    assert first.completed and dict(first.outcome) == {"replacement": "runtime-b"}
    assert dict(second.outcome) == {"replacement": "runtime-b"}
    found = await store.find(NAMESPACE, SCOPE, "key-1")
    assert found is not None and dict(found.outcome) == {"replacement": "runtime-b"}


async def test_records_are_found_by_any_client_later(store: IdempotencyStore,
                                                     cluster: ApiCluster) -> None:
    reserved = await store.reserve(NAMESPACE, SCOPE, "key-1", "fp-1")
    await store.complete(reserved, {"replacement": "runtime-b"})

    async with KubeClient.from_url(cluster.server.url,
                                   token=cluster.server.token) as another_process:
        found = await IdempotencyStore(another_process).find(NAMESPACE, SCOPE, "key-1")

    assert found is not None
    assert (found.fingerprint, found.completed, dict(found.outcome)) == \
        ("fp-1", True, {"replacement": "runtime-b"})
    assert await IdempotencyStore(cluster.admin).find(NAMESPACE, SCOPE, "key-2") is None

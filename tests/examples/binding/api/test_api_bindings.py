"""The binding endpoints of the internal API: upsert (spec replaced wholesale, 400 naming the
field of a bad body), read, reconcile requests, and concurrent upserts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controllerkit.errors import NotFound
from controllerkit.status import retry_on_conflict
from examples.binding.kinds import SPRITZ_BINDING
from examples.binding.naming import RECONCILE_REQUEST_ANNOTATION, binding_resource_name

from .support import (
    NAMESPACE,
    ApiCluster,
    InternalApi,
    binding_path,
    serving,
    set_binding_status,
    stored_binding,
    upsert_body,
)

KEY = "workspace/alice"


class SteppingClock:
    """A clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.current = datetime(2026, 4, 3, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.current += timedelta(seconds=1)
        return self.current


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
async def api(cluster: ApiCluster, clock: Callable[[], datetime]) -> AsyncIterator[InternalApi]:
    async with serving(cluster, now=clock) as served:
        yield served


async def test_upsert_creates_the_binding_named_after_its_key(
        api: InternalApi, cluster: ApiCluster) -> None:
    answer = await api.put_binding(KEY, upsert_body(revision="r1", attributes={"team": "a"}))

    assert answer.status == 201
    assert answer.body["status"] == "success"
    assert answer.data["metadata"]["name"] == binding_resource_name(KEY)
    stored = await stored_binding(cluster, KEY)
    assert stored["spec"] == {
        "bindingKey": KEY, "desiredRevision": "r1", "disconnected": False,
        "attributes": {"team": "a"},
        "template": {"presetId": "devbox", "spec": {"image": "devbox:1"}, "labels": {},
                     "annotations": {}},
    }
    assert answer.data["spec"] == stored["spec"]
    assert stored["metadata"]["annotations"][RECONCILE_REQUEST_ANNOTATION] == \
        "2026-04-03T12:00:01.000000Z"


async def test_upsert_replaces_the_spec_wholesale(api: InternalApi,
                                                  cluster: ApiCluster) -> None:
    first = upsert_body(revision="r1", attributes={"team": "a"}, disconnected=True,
                        adoptedRevision="r0")
    first["template"]["labels"] = {"tier": "gold"}
    assert (await api.put_binding(KEY, first)).status == 201

    answer = await api.put_binding(KEY, upsert_body(revision="r2", preset="other"))

    assert answer.status == 200
    spec = (await stored_binding(cluster, KEY))["spec"]
    assert spec == {
        "bindingKey": KEY, "desiredRevision": "r2", "disconnected": False, "attributes": {},
        "template": {"presetId": "other", "spec": {"image": "devbox:1"}, "labels": {},
                     "annotations": {}},
    }


async def test_upsert_keeps_what_others_own_on_the_object(api: InternalApi,
                                                          cluster: ApiCluster) -> None:
    await api.put_binding(KEY, upsert_body(revision="r1"))
    name = binding_resource_name(KEY)
    await cluster.admin.patch(SPRITZ_BINDING, name, {"metadata": {
        "finalizers": ["spritz.sh/binding-finalizer"], "labels": {"owner": "platform"}}},
        namespace=NAMESPACE)
    await set_binding_status(cluster, KEY, {"phase": "ready", "observedRevision": "r1"})

    await api.put_binding(KEY, upsert_body(revision="r2"))

    stored = await stored_binding(cluster, KEY)
    assert stored["spec"]["desiredRevision"] == "r2"
    assert stored["metadata"]["finalizers"] == ["spritz.sh/binding-finalizer"]
    assert stored["metadata"]["labels"] == {"owner": "platform"}
    assert (stored["status"]["phase"], stored["status"]["observedRevision"]) == ("ready", "r1")


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("revision of the wrong type", upsert_body(revision=None, desiredRevision=3),
     "desiredRevision"),
    ("empty revision", upsert_body(revision=""), "desiredRevision"),
    ("no template", {"desiredRevision": "r1"}, "template"),
    ("template without a spec", {"template": {"presetId": "devbox"}}, "template.spec"),
    ("runtime spec not an object", {"template": {"spec": "devbox:1"}}, "template.spec"),
    ("misspelt field", upsert_body(desiredRevison="r2"), "desiredRevison"),
    ("misspelt template field", {"template": {"spec": {}, "namePrefx": "x"}},
     "template.namePrefx"),
    ("attribute not a string", upsert_body(attributes={"n": 1}), "attributes.n"),
    ("adoption without a name", upsert_body(adoptActive={"namespace": NAMESPACE}),
     "adoptActive.name"),
    ("another binding key", upsert_body(bindingKey="someone-else"), "bindingKey"),
    ("not an object", ["r1"], "body"),
]


@pytest.mark.parametrize(("body", "field"), [(b, f) for _, b, f in BAD_BODIES],
                         ids=[case for case, _, _ in BAD_BODIES])
async def test_a_bad_body_fails_naming_the_field_and_stores_nothing(
        api: InternalApi, cluster: ApiCluster, body: Any, field: str) -> None:
    answer = await api.call("PUT", binding_path(NAMESPACE, KEY), body)

    assert answer.status == 400
    assert answer.body["status"] == "fail"
    assert field in answer.data, answer.data
    with pytest.raises(NotFound):
        await stored_binding(cluster, KEY)


async def test_a_body_that_is_not_json_fails_naming_the_body(api: InternalApi) -> None:
    answer = await api.call("PUT", binding_path(NAMESPACE, KEY), raw="{not json")

    assert (answer.status, answer.body["status"]) == (400, "fail")
    assert "body" in answer.data


async def test_a_bad_namespace_fails_naming_it(api: InternalApi) -> None:
    answer = await api.put_binding(KEY, upsert_body(), namespace="Not_A_Namespace")

    assert (answer.status, answer.body["status"]) == (400, "fail")
    assert "namespace" in answer.data


async def test_get_returns_the_binding_with_its_status(api: InternalApi,
                                                       cluster: ApiCluster) -> None:
    await api.put_binding(KEY, upsert_body(revision="r1"))
    await set_binding_status(cluster, KEY, {"phase": "waiting_ready",
                                            "nextRuntimeSequence": 1})

    answer = await api.get_binding(KEY)

    assert answer.status == 200
    assert answer.data["spec"]["desiredRevision"] == "r1"
    assert answer.data["status"]["phase"] == "waiting_ready"
    assert answer.data["metadata"]["namespace"] == NAMESPACE


async def test_get_of_an_unknown_key_is_a_404_fail(api: InternalApi) -> None:
    answer = await api.get_binding("nobody")

    assert (answer.status, answer.body["status"]) == (404, "fail")
    assert "binding" in answer.data


async def test_reconcile_stamps_the_annotation_and_changes_nothing_else(
        api: InternalApi, cluster: ApiCluster) -> None:
    await api.put_binding(KEY, upsert_body(revision="r1"))
    before = await stored_binding(cluster, KEY)

    answer = await api.reconcile(KEY)

    assert answer.status == 202
    after = await stored_binding(cluster, KEY)
    assert after["metadata"]["annotations"][RECONCILE_REQUEST_ANNOTATION] == \
        "2026-04-03T12:00:02.000000Z"
    assert before["metadata"]["annotations"][RECONCILE_REQUEST_ANNOTATION] == \
        "2026-04-03T12:00:01.000000Z"
    assert after["spec"] == before["spec"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"]


async def test_reconcile_of_an_unknown_key_is_a_404_fail(api: InternalApi) -> None:
    answer = await api.reconcile("nobody")

    assert (answer.status, answer.body["status"]) == (404, "fail")


async def test_concurrent_upserts_all_land_and_the_last_one_wins_whole(
        api: InternalApi, cluster: ApiCluster) -> None:
    writers = 8
    bodies = [upsert_body(revision=f"r{n}", attributes={"writer": str(n)})
              for n in range(writers)]
    name = binding_resource_name(KEY)

    async def controller_adds_its_finalizer() -> None:
        # Races the upserts like the binding controller does on a new binding.
        async def add() -> None:
            current = await cluster.admin.get(SPRITZ_BINDING, name, namespace=NAMESPACE)
            current["metadata"]["finalizers"] = ["spritz.sh/binding-finalizer"]
            await cluster.admin.update(SPRITZ_BINDING, current)

        while True:
            try:
                await retry_on_conflict(add, attempts=50)
                return
            except NotFound:
                await asyncio.sleep(0.01)

    racer = asyncio.create_task(controller_adds_its_finalizer())
    upserts = await asyncio.gather(*(api.put_binding(KEY, body) for body in bodies))
    await racer

    assert sorted(a.status for a in upserts) == [200] * (writers - 1) + [201]
    for body, answer in zip(bodies, upserts, strict=True):
        # Each writer's whole spec was stored, by its own write.
        assert answer.data["spec"]["desiredRevision"] == body["desiredRevision"]
        assert answer.data["spec"]["attributes"] == body["attributes"]
    versions = [int(a.data["metadata"]["resourceVersion"]) for a in upserts]
    assert len(set(versions)) == writers
    last = upserts[versions.index(max(versions))]
    stored = await stored_binding(cluster, KEY)
    assert stored["spec"] == last.data["spec"]
    assert stored["metadata"]["finalizers"] == ["spritz.sh/binding-finalizer"]

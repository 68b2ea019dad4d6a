"""`:replace` of the internal API, with the test playing the binding controller and the
runtime operator (writing statuses itself), so each answer is checked against an exact state:
delegation to an owning binding, direct replacement, replays, 409 on key reuse, 200 vs 202."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from controllerkit.errors import NotFound
from controllerkit.meta import CONFIG_MAP, JSONObject
from examples.binding.api.idempotency import (
    IDEMPOTENCY_RECORD_LABEL,
    IdempotencyStore,
    record_name,
)
from examples.binding.api.replace import (
    IDEMPOTENCY_KEY_ANNOTATION,
    REPLACES_ANNOTATION,
    ReplaceRequest,
    direct_replacement_name,
)
from examples.binding.kinds import SPRITZ
from examples.binding.naming import (
    RECONCILE_REQUEST_ANNOTATION,
    TARGET_REVISION_ANNOTATION,
    candidate_name,
)

from .support import (
    NAMESPACE,
    ApiCluster,
    InternalApi,
    create_runtime,
    serving,
    set_binding_status,
    set_phase,
    stored_binding,
    upsert_body,
)

KEY = "workspace-alice"
ACTIVE = candidate_name("devbox", KEY, 1)
NEXT = candidate_name("devbox", KEY, 2)


def replace_body(revision: str = "r2", key: str = "replace-1", **fields: Any) -> dict[str, Any]:
    return {"targetRevision": revision, "idempotencyKey": key, **fields}


def ref(name: str, revision: str, phase: str) -> dict[str, str]:
    return {"namespace": NAMESPACE, "name": name, "revision": revision, "phase": phase}


async def ready_binding(api: InternalApi, cluster: ApiCluster) -> JSONObject:
    """A binding ready on r1 with its active runtime (sequence 1) Ready, as the controller
    leaves it."""
    await api.put_binding(KEY, upsert_body(revision="r1"))
    binding = await stored_binding(cluster, KEY)
    await create_runtime(cluster, ACTIVE, owner=binding)
    return await set_binding_status(cluster, KEY, {
        "phase": "ready", "observedRevision": "r1", "nextRuntimeSequence": 1,
        "activeInstanceRef": ref(ACTIVE, "r1", "Ready")})


async def runtime_names(cluster: ApiCluster) -> set[str]:
    page = await cluster.admin.list(SPRITZ, namespace=NAMESPACE)
    return {item["metadata"]["name"] for item in page.items}


# --- delegation to the owning binding --------------------------------------------------------


async def test_replacing_a_binding_owned_runtime_only_sets_the_desired_revision(
        api: InternalApi, cluster: ApiCluster) -> None:
    before = await ready_binding(api, cluster)

    answer = await api.replace(ACTIVE, replace_body("r2"))

    assert answer.status == 202
    assert answer.body == {"status": "success", "data": {
        "source": {"namespace": NAMESPACE, "instanceId": ACTIVE},
        "replacement": {"namespace": NAMESPACE, "instanceId": NEXT, "targetRevision": "r2",
                        "phase": "Provisioning", "ready": False},
        "replayed": False}}
    after = await stored_binding(cluster, KEY)
    assert after["spec"] == {**before["spec"], "desiredRevision": "r2"}
    assert after["status"] == before["status"]
    assert (after["metadata"]["annotations"][RECONCILE_REQUEST_ANNOTATION]
            != before["metadata"]["annotations"][RECONCILE_REQUEST_ANNOTATION])
    # The binding's controller makes the runtime; the API made none.
    assert await runtime_names(cluster) == {ACTIVE}


async def test_a_repeated_request_replays_the_same_replacement_until_it_is_ready(
        api: InternalApi, cluster: ApiCluster) -> None:
    await ready_binding(api, cluster)
    first = await api.replace(ACTIVE, replace_body("r2"))

    replay = await api.replace(ACTIVE, replace_body("r2"))

    assert replay.status == 202
    assert replay.data["replayed"] is True
    assert replay.data["replacement"] == first.data["replacement"]

    # The controller creates the candidate it was asked for; the operator reports it Ready.
    binding = await stored_binding(cluster, KEY)
    await create_runtime(cluster, NEXT, phase="Provisioning", owner=binding)
    await set_binding_status(cluster, KEY, {
        "phase": "waiting_ready", "nextRuntimeSequence": 2,
        "candidateInstanceRef": ref(NEXT, "r2", "Provisioning")})
    assert (await api.replace(ACTIVE, replace_body("r2"))).status == 202
    await set_phase(cluster, NEXT, "Ready")

    ready = await api.replace(ACTIVE, replace_body("r2"))

    assert ready.status == 200
    assert ready.data["replacement"] == {"namespace": NAMESPACE, "instanceId": NEXT,
                                         "targetRevision": "r2", "phase": "Ready",
                                         "ready": True}
    assert ready.data["replayed"] is True


async def test_a_replay_never_sets_the_revision_back(api: InternalApi,
                                                     cluster: ApiCluster) -> None:
    await ready_binding(api, cluster)
    await api.replace(ACTIVE, replace_body("r2", key="to-r2"))
    await api.replace(ACTIVE, replace_body("r3", key="to-r3"))

    replay = await api.replace(ACTIVE, replace_body("r2", key="to-r2"))

    assert replay.data["replayed"] is True
    assert (await stored_binding(cluster, KEY))["spec"]["desiredRevision"] == "r3"


async def test_replacing_with_the_revision_already_served_answers_200_with_the_active(
        api: InternalApi, cluster: ApiCluster) -> None:
    before = await ready_binding(api, cluster)

    answer = await api.replace(ACTIVE, replace_body("r1"))

    assert answer.status == 200
    assert answer.data["replacement"]["instanceId"] == ACTIVE
    assert answer.data["replacement"]["ready"] is True
    # Nothing was asked of the binding: it already serves r1.
    assert answer.data["replayed"] is True
    after = await stored_binding(cluster, KEY)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


async def test_a_runtime_labelled_with_a_binding_is_delegated_too(
        api: InternalApi, cluster: ApiCluster) -> None:
    await ready_binding(api, cluster)
    binding = await stored_binding(cluster, KEY)
    labelled = "labelled-runtime"
    await create_runtime(cluster, labelled)
    await cluster.admin.patch(SPRITZ, labelled, {"metadata": {"labels": {
        "spritz.sh/binding-name": binding["metadata"]["name"]}}}, namespace=NAMESPACE)

    answer = await api.replace(labelled, replace_body("r2"))

    assert answer.status == 202
    assert (await stored_binding(cluster, KEY))["spec"]["desiredRevision"] == "r2"
    assert await runtime_names(cluster) == {ACTIVE, labelled}


async def test_a_runtime_labelled_with_a_missing_binding_is_a_404(
        api: InternalApi, cluster: ApiCluster) -> None:
    await create_runtime(cluster, "stray")
    await cluster.admin.patch(SPRITZ, "stray", {"metadata": {"labels": {
        "spritz.sh/binding-name": "gone-binding"}}}, namespace=NAMESPACE)

    answer = await api.replace("stray", replace_body("r2"))

    assert (answer.status, answer.body["status"]) == (404, "fail")
    assert "binding" in answer.data
    assert await runtime_names(cluster) == {"stray"}


# --- idempotency keys --------------------------------------------------------------------------


KEY_REUSES = [
    ("another target revision", replace_body("r3")),
    ("another replacement", replace_body("r2", replacement={"labels": {"tier": "gold"}})),
]


@pytest.mark.parametrize("reuse", [body for _, body in KEY_REUSES],
                         ids=[case for case, _ in KEY_REUSES])
async def test_a_key_reused_with_a_different_request_is_a_409(
        api: InternalApi, cluster: ApiCluster, reuse: dict[str, Any]) -> None:
    await ready_binding(api, cluster)
    await api.replace(ACTIVE, replace_body("r2"))

    answer = await api.replace(ACTIVE, reuse)

    assert answer.status == 409
    assert answer.body["status"] == "fail"
    assert "idempotencyKey" in answer.data
    assert (await stored_binding(cluster, KEY))["spec"]["desiredRevision"] == "r2"


async def test_a_key_reused_for_a_direct_replacement_is_a_409(
        api: InternalApi, cluster: ApiCluster) -> None:
    await create_runtime(cluster, "solo")
    await api.replace("solo", replace_body("r2"))

    answer = await api.replace("solo", replace_body("r3"))

    assert (answer.status, answer.body["status"]) == (409, "fail")
    assert await runtime_names(cluster) == {"solo",
                                            direct_replacement_name(NAMESPACE, "solo",
                                                                    "replace-1")}


async def test_records_are_labelled_configmaps_that_outlive_the_api_process(
        cluster: ApiCluster) -> None:
    async with serving(cluster) as api:
        await ready_binding(api, cluster)
        first = await api.replace(ACTIVE, replace_body("r2"))

    # A new API instance (as after a restart, or another replica) knows the key.
    async with serving(cluster) as restarted:
        replay = await restarted.replace(ACTIVE, replace_body("r2"))
        reused = await restarted.replace(ACTIVE, replace_body("r3"))

    assert replay.data == {**first.data, "replayed": True}
    assert reused.status == 409
    records = await cluster.admin.list(CONFIG_MAP, namespace=NAMESPACE,
                                       label_selector=f"{IDEMPOTENCY_RECORD_LABEL}=true")
    assert [r["metadata"]["name"] for r in records.items] == [
        record_name(f"replace:{NAMESPACE}/{ACTIVE}", "replace-1")]
    assert records.items[0]["data"]["state"] == "completed"


# --- direct replacement ---------------------------------------------------------------------


async def test_a_runtime_no_binding_owns_is_replaced_directly(api: InternalApi,
                                                              cluster: ApiCluster) -> None:
    await create_runtime(cluster, "solo", image="devbox:1", cpu="2")
    replacement = direct_replacement_name(NAMESPACE, "solo", "replace-1")

    answer = await api.replace("solo", replace_body(
        "r2", replacement={"labels": {"tier": "gold"}}))

    assert answer.status == 202
    assert answer.data == {
        "source": {"namespace": NAMESPACE, "instanceId": "solo"},
        "replacement": {"namespace": NAMESPACE, "instanceId": replacement,
                        "targetRevision": "r2", "phase": "Provisioning", "ready": False},
        "replayed": False}
    created = await cluster.admin.get(SPRITZ, replacement, namespace=NAMESPACE)
    assert created["spec"] == {"image": "devbox:1", "cpu": "2"}
    assert created["metadata"]["labels"] == {"tier": "gold"}
    assert created["metadata"]["annotations"] == {
        REPLACES_ANNOTATION: "solo", IDEMPOTENCY_KEY_ANNOTATION: "replace-1",
        TARGET_REVISION_ANNOTATION: "r2"}
    # The source keeps serving until its replacement is Ready.
    assert await runtime_names(cluster) == {"solo", replacement}


async def test_a_direct_replacement_uses_the_given_spec(api: InternalApi,
                                                        cluster: ApiCluster) -> None:
    await create_runtime(cluster, "solo", image="devbox:1")

    answer = await api.replace("solo", replace_body(
        "r2", replacement={"spec": {"image": "devbox:2"}}))

    created = await cluster.admin.get(SPRITZ, answer.data["replacement"]["instanceId"],
                                      namespace=NAMESPACE)
    assert created["spec"] == {"image": "devbox:2"}


async def test_the_source_goes_when_the_replacement_is_seen_ready(
        api: InternalApi, cluster: ApiCluster) -> None:
    await create_runtime(cluster, "solo")
    first = await api.replace("solo", replace_body("r2"))
    replacement = first.data["replacement"]["instanceId"]
    await set_phase(cluster, replacement, "Ready")

    ready = await api.replace("solo", replace_body("r2"))

    assert ready.status == 200
    assert ready.data["replacement"] == {"namespace": NAMESPACE, "instanceId": replacement,
                                         "targetRevision": "r2", "phase": "Ready",
                                         "ready": True}
    assert ready.data["replayed"] is True
    assert await runtime_names(cluster) == {replacement}
    # Replays keep answering after the source is gone.
    again = await api.replace("solo", replace_body("r2"))
    assert (again.status, again.data) == (200, ready.data)


async def test_concurrent_identical_requests_make_one_replacement(
        api: InternalApi, cluster: ApiCluster) -> None:
    await create_runtime(cluster, "solo")

    answers = await asyncio.gather(*(api.replace("solo", replace_body("r2"))
                                     for _ in range(5)))

    assert {a.status for a in answers} == {202}
    assert len({a.data["replacement"]["instanceId"] for a in answers}) == 1
    assert len(await runtime_names(cluster)) == 2


async def test_an_attempt_that_died_half_way_is_finished_without_a_second_runtime(
        api: InternalApi, cluster: ApiCluster) -> None:
    await create_runtime(cluster, "solo")
    request = ReplaceRequest.model_validate(replace_body("r2"))
    planned = direct_replacement_name(NAMESPACE, "solo", "replace-1")
    # The dead attempt reserved the key and created the replacement, then stopped.
    store = IdempotencyStore(cluster.admin)
    await store.reserve(NAMESPACE, f"replace:{NAMESPACE}/solo", "replace-1",
                        request.fingerprint(), outcome={"mode": "direct",
                                                        "replacement": planned})
    await create_runtime(cluster, planned, phase="Provisioning")
    await cluster.admin.patch(SPRITZ, planned, {"metadata": {"annotations": {
        REPLACES_ANNOTATION: "solo", IDEMPOTENCY_KEY_ANNOTATION: "replace-1"}}},
        namespace=NAMESPACE)

    answer = await api.replace("solo", replace_body("r2"))

    assert answer.status == 202
    assert answer.data["replacement"]["instanceId"] == planned
    assert answer.data["replayed"] is False
    assert await runtime_names(cluster) == {"solo", planned}
    record = await store.find(NAMESPACE, f"replace:{NAMESPACE}/solo", "replace-1")
    assert record is not None and record.completed


async def test_a_runtime_in_the_way_of_the_replacement_name_is_a_409(
        api: InternalApi, cluster: ApiCluster) -> None:
    await create_runtime(cluster, "solo")
    squatter = direct_replacement_name(NAMESPACE, "solo", "replace-1")
    await create_runtime(cluster, squatter)

    answer = await api.replace("solo", replace_body("r2"))

    assert (answer.status, answer.body["status"]) == (409, "fail")
    assert "replacement" in answer.data
    assert await runtime_names(cluster) == {"solo", squatter}


# --- bad requests ---------------------------------------------------------------------------


async def test_replacing_an_unknown_runtime_is_a_404_and_records_nothing(
        api: InternalApi, cluster: ApiCluster) -> None:
    answer = await api.replace("ghost", replace_body("r2"))

    assert (answer.status, answer.body["status"]) == (404, "fail")
    assert "source" in answer.data
    with pytest.raises(NotFound):
        await cluster.admin.get(CONFIG_MAP, record_name(f"replace:{NAMESPACE}/ghost",
                                                        "replace-1"), namespace=NAMESPACE)


BAD_REPLACE_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("no target revision", {"idempotencyKey": "k"}, "targetRevision"),
    ("blank target revision", {"targetRevision": "  ", "idempotencyKey": "k"},
     "targetRevision"),
    ("no idempotency key", {"targetRevision": "r2"}, "idempotencyKey"),
    ("misspelt field", replace_body(replacment={}), "replacment"),
    ("replacement spec not an object", replace_body(replacement={"spec": "x"}),
     "replacement.spec"),
]


@pytest.mark.parametrize(("body", "field"), [(b, f) for _, b, f in BAD_REPLACE_BODIES],
                         ids=[case for case, _, _ in BAD_REPLACE_BODIES])
async def test_a_bad_replace_body_fails_naming_the_field(
        api: InternalApi, cluster: ApiCluster, body: dict[str, Any], field: str) -> None:
    await create_runtime(cluster, "solo")

    answer = await api.replace("solo", body)

    assert (answer.status, answer.body["status"]) == (400, "fail")
    assert field in answer.data, answer.data
    assert await runtime_names(cluster) == {"solo"}

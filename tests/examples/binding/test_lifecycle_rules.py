"""The pure decision of one pass (`lifecycle.plan`), case by case: what the next status is
and what must be deleted before it is written, from the status and the runtimes as they are."""

from __future__ import annotations

from typing import Any

import pytest

from examples.binding.kinds import SpritzBinding
from examples.binding.lifecycle import Plan, Reason, Runtime, plan

from .support import NAMESPACE, binding

KEY = "team-a/workspace"


def planned(status: dict[str, Any], runtimes: dict[str, Runtime], *, desired: str | None = "r2",
            **spec: Any) -> Plan:
    obj = binding(KEY, revision=desired, **spec)
    obj["metadata"]["uid"] = "binding-uid"
    obj["status"] = status
    return plan(SpritzBinding.model_validate(obj), runtimes)


def ref(name: str, revision: str | None = None) -> dict[str, Any]:
    return {"namespace": NAMESPACE, "name": name, "revision": revision}


def names(result: Plan) -> dict[str, Any]:
    status = result.status
    return {"phase": status.phase,
            "active": status.active_instance_ref and status.active_instance_ref.name,
            "candidate": status.candidate_instance_ref and status.candidate_instance_ref.name,
            "cleanup": status.cleanup_instance_ref and status.cleanup_instance_ref.name,
            "deletions": [deletion.name for deletion in result.deletions],
            "create": result.create_candidate}


READY_RT = Runtime(phase="Ready")
PROVISIONING_RT = Runtime(phase="Provisioning")


def test_refs_to_runtimes_that_are_gone_are_dropped() -> None:
    result = planned({"activeInstanceRef": ref("a", "r1"), "observedRevision": "r1",
                      "cleanupInstanceRef": ref("old")}, {"a": READY_RT}, desired="r1")
    assert names(result) == {"phase": "ready", "active": "a", "candidate": None,
                             "cleanup": None, "deletions": [], "create": False}


def test_the_cleanup_runtime_is_deleted_and_its_ref_kept_until_it_is_gone() -> None:
    status = {"activeInstanceRef": ref("a", "r1"), "observedRevision": "r1",
              "cleanupInstanceRef": ref("old")}
    first = planned(status, {"a": READY_RT, "old": READY_RT}, desired="r1")
    assert names(first)["phase"] == "cleaning_up"
    assert names(first)["deletions"] == ["old"]
    again = planned(status, {"a": READY_RT, "old": Runtime("Terminating", deleting=True)},
                    desired="r1")
    assert (names(again)["cleanup"], names(again)["deletions"]) == ("old", [])


def test_a_failed_active_and_a_failed_candidate_both_leave_and_neither_is_forgotten() -> None:
    result = planned({"activeInstanceRef": ref("a", "r1"), "observedRevision": "r1",
                      "candidateInstanceRef": ref("c", "r2")},
                     {"a": Runtime("Error"), "c": Runtime("Expired")})
    # One cleanup slot: the runtime displaced from it is deleted before the status is written.
    assert names(result) == {"phase": "creating", "active": None, "candidate": None,
                             "cleanup": "c", "deletions": ["a"], "create": True}
    assert result.candidate_revision == "r2"


def test_a_candidate_for_a_revision_no_longer_desired_is_replaced() -> None:
    result = planned({"activeInstanceRef": ref("a", "r1"), "observedRevision": "r1",
                      "candidateInstanceRef": ref("c", "r2")},
                     {"a": READY_RT, "c": READY_RT}, desired="r3")
    assert names(result) == {"phase": "creating", "active": "a", "candidate": None,
                             "cleanup": "c", "deletions": [], "create": True}
    assert result.candidate_revision == "r3"


def test_going_back_to_the_active_revision_drops_the_candidate() -> None:
    result = planned({"activeInstanceRef": ref("a", "r1"), "observedRevision": "r1",
                      "candidateInstanceRef": ref("c", "r2")},
                     {"a": READY_RT, "c": PROVISIONING_RT}, desired="r1")
    assert names(result) == {"phase": "cleaning_up", "active": "a", "candidate": None,
                             "cleanup": "c", "deletions": [], "create": False}


def test_the_cutover_moves_all_refs_in_one_status() -> None:
    result = planned({"activeInstanceRef": ref("a", "r1"), "observedRevision": "r1",
                      "candidateInstanceRef": ref("c", "r2")}, {"a": READY_RT, "c": READY_RT})
    assert names(result) == {"phase": "cleaning_up", "active": "c", "candidate": None,
                             "cleanup": "a", "deletions": [], "create": False}
    assert result.status.observed_revision == "r2"


def test_a_candidate_that_is_not_ready_is_waited_for() -> None:
    result = planned({"candidateInstanceRef": ref("c", "r2")}, {"c": Runtime(None)})
    assert names(result)["phase"] == "waiting_ready"
    assert result.reason == Reason.CANDIDATE_NOT_READY


@pytest.mark.parametrize(("runtimes", "adopted"), [
    ({"handmade": READY_RT}, True),
    ({"handmade": PROVISIONING_RT}, True),
    ({"handmade": Runtime("Error")}, False),
    ({"handmade": Runtime("Ready", deleting=True)}, False),
    ({}, False),
])
def test_only_a_usable_runtime_is_adopted(runtimes: dict[str, Runtime], adopted: bool) -> None:
    result = planned({}, runtimes, desired=None,
                     adoptActive={"namespace": NAMESPACE, "name": "handmade"},
                     adoptedRevision="r5")
    if adopted:
        assert names(result)["active"] == "handmade"
        assert result.adopt is not None and result.adopt.name == "handmade"
        assert result.status.observed_revision == "r5"
    else:
        assert names(result)["create"] is True
        assert result.adopt is None


def test_the_adopted_revision_comes_from_the_ref_then_the_runtime_then_the_spec() -> None:
    adopt = {"namespace": NAMESPACE, "name": "handmade"}
    cases = [({**adopt, "revision": "from-ref"}, Runtime("Ready", revision="from-rt"),
              "from-ref"),
             (adopt, Runtime("Ready", revision="from-rt"), "from-rt"),
             (adopt, Runtime("Ready"), "from-spec")]
    for wanted, runtime, expected in cases:
        result = planned({}, {"handmade": runtime}, desired=None, adoptActive=wanted,
                         adoptedRevision="from-spec")
        assert result.status.observed_revision == expected

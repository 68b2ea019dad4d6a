"""`controllerkit run`'s high-availability flags, applied to a manager."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from controllerkit import cli
from controllerkit.cli import LaunchError, configure_high_availability
from controllerkit.client import KubeClient
from controllerkit.leaderelection import LeaderElectionConfig
from controllerkit.manager import Manager
from controllerkit.sharding import ShardingConfig


def flags(**given: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "namespace": None, "leader_elect": False, "leader_election_id": None,
        "leader_election_namespace": None, "shard_name": None, "lease_duration": None,
        "renew_deadline": None, "retry_period": None, "identity": None}
    return argparse.Namespace(**{**values, **given})


@pytest.fixture
def manager() -> Manager:
    return Manager(KubeClient.from_url("http://127.0.0.1:1"))


def test_leader_elect_campaigns_for_the_named_lease_with_the_given_timings(
    manager: Manager,
) -> None:
    configure_high_availability(manager, flags(
        leader_elect=True, leader_election_id="widgets", namespace="apps",
        lease_duration=2.0, renew_deadline=1.5, retry_period=0.3))
    config = manager.leader_election
    assert config is not None
    assert (config.lease_name, config.namespace) == ("widgets", "apps")
    assert (config.lease_duration, config.renew_deadline, config.retry_period) == (2, 1.5, 0.3)
    assert manager.sharding is None


def test_leader_election_namespace_wins_over_the_watch_namespace(manager: Manager) -> None:
    configure_high_availability(manager, flags(
        leader_elect=True, leader_election_id="widgets", namespace="apps",
        leader_election_namespace="locks"))
    assert manager.leader_election is not None
    assert manager.leader_election.namespace == "locks"


def test_without_a_namespace_flag_the_lease_lives_in_the_pods_namespace(
    manager: Manager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    service_account_namespace = tmp_path / "namespace"
    service_account_namespace.write_text("team-a\n")
    monkeypatch.setattr(cli, "SERVICE_ACCOUNT_NAMESPACE", service_account_namespace)
    configure_high_availability(manager, flags(leader_elect=True, leader_election_id="w"))
    assert manager.leader_election is not None
    assert manager.leader_election.namespace == "team-a"


def test_outside_a_pod_without_a_namespace_flag_the_lease_lives_in_default(
    manager: Manager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "SERVICE_ACCOUNT_NAMESPACE", tmp_path / "absent")
    configure_high_availability(manager, flags(leader_elect=True, leader_election_id="w"))
    assert manager.leader_election is not None
    assert manager.leader_election.namespace == "default"


def test_leader_elect_without_a_lease_name_is_refused(manager: Manager) -> None:
    with pytest.raises(LaunchError, match="--leader-election-id"):
        configure_high_availability(manager, flags(leader_elect=True))


def test_flags_override_the_timings_of_the_managers_own_config(manager: Manager) -> None:
    manager.leader_election = LeaderElectionConfig("own", "ns", identity="me")
    configure_high_availability(manager, flags(leader_elect=True, lease_duration=30.0))
    assert manager.leader_election == LeaderElectionConfig("own", "ns", identity="me",
                                                           lease_duration=30.0)


def test_shard_name_joins_the_ring_with_the_shared_timings(manager: Manager) -> None:
    configure_high_availability(manager, flags(
        shard_name="widgets", namespace="apps", lease_duration=2.0, renew_deadline=1.5,
        retry_period=0.3))
    sharding = manager.sharding
    assert isinstance(sharding, ShardingConfig)
    assert (sharding.name, sharding.namespace, sharding.lease_duration) == ("widgets", "apps", 2)
    assert manager.leader_election is None


def test_identity_names_this_replica_in_both_kinds_of_lease(manager: Manager) -> None:
    configure_high_availability(manager, flags(
        leader_elect=True, leader_election_id="w", shard_name="widgets", identity="pod-7"))
    assert manager.leader_election is not None and manager.sharding is not None
    assert manager.leader_election.identity == manager.sharding.identity == "pod-7"


@pytest.mark.parametrize("given", [{"lease_duration": 5.0},
                                   {"identity": "pod-7"},
                                   {"leader_election_id": "widgets"}])
def test_flags_that_apply_to_nothing_are_refused(manager: Manager,
                                                 given: dict[str, object]) -> None:
    with pytest.raises(LaunchError):
        configure_high_availability(manager, flags(**given))


def test_timings_that_break_the_lease_rules_are_refused(manager: Manager) -> None:
    with pytest.raises(ValueError, match="greater than renew_deadline"):
        configure_high_availability(manager, flags(
            leader_elect=True, leader_election_id="w", lease_duration=1.0))

"""How one manager shares work with its replicas: its leader elector, its shard coordinator,
and the lines `/readyz` shows about them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from ..client.protocol import Client
from ..clock import Clock
from ..leaderelection import LeaderElectionConfig, LeaderElectionMetrics, LeaderElector
from ..sharding import ShardCoordinator

__all__ = ["leader_elector", "readiness_details"]


def leader_elector(client: Client, config: LeaderElectionConfig, *, clock: Clock,
                   registry: CollectorRegistry) -> LeaderElector:
    """An elector for `config` that records `leader_election_master_status` in `registry`."""
    return LeaderElector(client, config, clock=clock, metrics=LeaderElectionMetrics(registry))


def readiness_details(config: LeaderElectionConfig | None, elector: LeaderElector | None,
                      coordinator: ShardCoordinator | None) -> list[str]:
    """`key: value` lines: the Lease, this replica's identity, the leader seen and whether
    this replica leads; this replica's shard Lease, whether it works on keys now and how
    many replicas share them. Empty without leader election and sharding."""
    lines: list[str] = []
    if config is not None:
        leader = elector.leader if elector is not None else None
        leading = elector is not None and elector.is_leader
        lines += [f"lease: {config.describe()}", f"identity: {config.identity}",
                  f"leader: {leader or 'none'}", f"leading: {'true' if leading else 'false'}"]
    if coordinator is not None:
        lines += [f"shard: {coordinator.config.describe()}",
                  f"shard active: {'true' if coordinator.active else 'false'}",
                  f"shard members: {len(coordinator.members)}"]
    return lines

"""`LeaderElectionMetrics`: client-go's `leader_election_master_status` gauge."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

__all__ = ["LeaderElectionMetrics"]


class LeaderElectionMetrics:
    """`leader_election_master_status{name}`: 1 while this process leads the Lease `name`,
    0 while it is a candidate or standby.

    One instance per registry; any number of electors (one per Lease name) may share it.
    A name appears from the moment its elector starts, at 0, so dashboards can tell a standby
    replica from one that does not campaign at all.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.master_status = Gauge(
            "leader_election_master_status",
            "Whether this process leads the Lease 'name': 1 leading, 0 standby.",
            ["name"], registry=registry)

    def set_leading(self, name: str, leading: bool) -> None:
        """Record whether this process leads the Lease `name` now."""
        self.master_status.labels(name=name).set(1 if leading else 0)

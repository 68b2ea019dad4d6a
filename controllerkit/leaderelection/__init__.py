"""Leader election on a coordination.k8s.io/v1 Lease, as client-go does it.

- `LeaderElectionConfig`: the Lease, this candidate's identity, the three timings.
- `LeaderElector`: campaigns, renews, gives leadership up at the renew deadline
  (`LeadershipLost`), releases the Lease on a clean stop.
- `LeaseLock` / `LeaseRecord`: one Lease read and written at a resourceVersion; the
  MicroTime format of its times (`format_micro_time`, `parse_micro_time`).
- `LeaderElectionMetrics`: the `leader_election_master_status{name}` gauge.
"""

from .config import JITTER_FACTOR, LeaderElectionConfig, default_identity
from .elector import LeaderElector, LeadershipLost
from .lease import LeaseLock, LeaseRecord, format_micro_time, parse_micro_time
from .metrics import LeaderElectionMetrics

__all__ = [
    "JITTER_FACTOR",
    "LeaderElectionConfig",
    "LeaderElectionMetrics",
    "LeaderElector",
    "LeadershipLost",
    "LeaseLock",
    "LeaseRecord",
    "default_identity",
    "format_micro_time",
    "parse_micro_time",
]

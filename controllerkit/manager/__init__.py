"""The manager: one process's informers, controllers, probes, metrics and quarantine
endpoints, with a graceful stop.

- `Manager`: `controller_builder()`, `add(controller)`, `add_runnable(fn)`, `run()`,
  `run_until_signalled()`, `stop()`; with `leader_election=` only the replica holding the
  Lease runs what needs leadership, with `sharding=` the replicas share the keys.
- `ControllerMetrics`: the `controller_runtime_*` families.
- `Endpoints`: the HTTP routes (`/healthz`, `/readyz`, `/metrics`, quarantine).
"""

from .bind_address import CLUSTER_SCOPE, BindAddress, parse_bind_address
from .manager import (
    DEFAULT_HEALTH_PROBE_BIND_ADDRESS,
    DEFAULT_METRICS_BIND_ADDRESS,
    Manager,
)
from .metrics import RECONCILE_RESULTS, ControllerMetrics
from .quarantine_events import QUARANTINE_EVENT_REASON, QuarantineEvents

__all__ = [
    "CLUSTER_SCOPE",
    "DEFAULT_HEALTH_PROBE_BIND_ADDRESS",
    "DEFAULT_METRICS_BIND_ADDRESS",
    "QUARANTINE_EVENT_REASON",
    "RECONCILE_RESULTS",
    "BindAddress",
    "ControllerMetrics",
    "Endpoints",
    "Manager",
    "QuarantineEvents",
    "parse_bind_address",
]


def __getattr__(name: str) -> object:
    # The HTTP endpoints load the server framework: only when asked for.
    if name == "Endpoints":
        from .endpoints import Endpoints

        return Endpoints
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

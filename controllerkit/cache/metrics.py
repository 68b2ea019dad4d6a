"""Counters of what reflectors did: lists, relists, watch restarts, warm starts.

Every reflector keeps plain counters in its `stats` (cheap, always on, what tests and health
checks read). The events an operator alerts on are also exported through prometheus-client,
labelled by kind (`ConfigMap`, `Widget.example.com`):

- `controllerkit_reflector_relists_total{kind}`: complete lists after the first one (410
  Expired, or an error nothing could resume from). A steady rate means the watch keeps falling
  out of the server's replay window (a slow consumer, or a history too short for the write
  rate).
- `controllerkit_reflector_replay_window_exceeded_total{kind}`: warm starts whose checkpoint was
  older than the server's replay window; the restart fell back to relist + diff.
- `controllerkit_reflector_warm_starts_total{kind}`: starts from a checkpoint (no list).
- `controllerkit_reflector_watch_restarts_total{kind}`: watch streams that ended and were
  resumed from the last resourceVersion (server timeouts, dropped connections, stalls).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter

from ..meta import ResourceKind


@dataclass
class ReflectorStats:
    """What one reflector did since it was created."""

    lists: int = 0
    streaming_lists: int = 0
    streaming_list_failures: int = 0
    relists: int = 0
    watches: int = 0
    watch_restarts: int = 0
    expired_watches: int = 0
    replay_window_exceeded: int = 0
    warm_starts: int = 0
    damaged_snapshots: int = 0
    errors: int = 0


_RELISTS = Counter("controllerkit_reflector_relists_total",
                   "Complete relists after the first list, by kind", ["kind"])
_REPLAY_WINDOW_EXCEEDED = Counter(
    "controllerkit_reflector_replay_window_exceeded_total",
    "Warm starts whose checkpoint was older than the server's watch history, by kind", ["kind"])
_WARM_STARTS = Counter("controllerkit_reflector_warm_starts_total",
                       "Reflector starts from a checkpoint (no list), by kind", ["kind"])
_WATCH_RESTARTS = Counter("controllerkit_reflector_watch_restarts_total",
                          "Watch streams resumed from the last resourceVersion, by kind",
                          ["kind"])


def record_relist(kind: ResourceKind, stats: ReflectorStats) -> None:
    stats.relists += 1
    _RELISTS.labels(kind=str(kind)).inc()


def record_replay_window_exceeded(kind: ResourceKind, stats: ReflectorStats) -> None:
    stats.replay_window_exceeded += 1
    _REPLAY_WINDOW_EXCEEDED.labels(kind=str(kind)).inc()


def record_warm_start(kind: ResourceKind, stats: ReflectorStats) -> None:
    stats.warm_starts += 1
    _WARM_STARTS.labels(kind=str(kind)).inc()


def record_watch_restart(kind: ResourceKind, stats: ReflectorStats) -> None:
    stats.watch_restarts += 1
    _WATCH_RESTARTS.labels(kind=str(kind)).inc()

"""Prometheus metrics of checkpoint saves, labelled by scope (one scope per informer).

- `controllerkit_checkpoint_saves_total{scope}`: successful saves.
- `controllerkit_checkpoint_save_failures_total{scope}`: failed saves (each is logged too).
- `controllerkit_checkpoint_last_save_timestamp_seconds{scope}`: wall-clock time of the last
  successful save. `time() - this` is how far behind a restart would start; alert when it
  grows past the server's replay window, because then the restart relists.
- `controllerkit_checkpoint_last_save_duration_seconds{scope}`: how long the last successful
  save took (serialising plus disk). Saves are spaced to at most a tenth of the time, so this
  times ten is the shortest gap between saves.
- `controllerkit_checkpoint_load_failures_total{scope}`: snapshots found damaged (or cut off)
  after a lazy warm restart had started from them; each one is logged and followed by a relist.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

_SAVES = Counter("controllerkit_checkpoint_saves_total",
                 "Successful checkpoint saves, by scope", ["scope"])
_FAILURES = Counter("controllerkit_checkpoint_save_failures_total",
                    "Failed checkpoint saves, by scope", ["scope"])
_LAST_SAVE = Gauge("controllerkit_checkpoint_last_save_timestamp_seconds",
                   "Unix time of the last successful checkpoint save, by scope", ["scope"])
_LAST_DURATION = Gauge("controllerkit_checkpoint_last_save_duration_seconds",
                       "Duration of the last successful checkpoint save, by scope", ["scope"])

_LOAD_FAILURES = Counter("controllerkit_checkpoint_load_failures_total",
                         "Checkpoint snapshots found damaged while loading lazily, by scope",
                         ["scope"])


def record_load_failure(scope: str) -> None:
    """Count one snapshot of `scope` found damaged after a lazy warm restart began."""
    _LOAD_FAILURES.labels(scope=scope).inc()


def record_save(scope: str, duration: float) -> None:
    """Count one successful save of `scope` that took `duration` seconds."""
    _SAVES.labels(scope=scope).inc()
    _LAST_SAVE.labels(scope=scope).set_to_current_time()
    _LAST_DURATION.labels(scope=scope).set(duration)


def record_save_failure(scope: str) -> None:
    """Count one failed save of `scope`."""
    _FAILURES.labels(scope=scope).inc()

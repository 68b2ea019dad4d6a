"""What the cache did, counted: reflector counters and Prometheus metrics of reflectors and
checkpoints.

Every reflector keeps plain counters in its `stats` (cheap, always on, what tests and health
checks read). The events an operator alerts on are also exported to a Prometheus registry when
one is given (`InformerFactory(registry=...)`, `SharedInformer(registry=...)`; a `Manager`
gives its own, served on its `/metrics`). Without one nothing is exported, and nothing is ever
registered in prometheus-client's global registry.

Reflector families, labelled by kind (`ConfigMap`, `Widget.example.com`), at zero from the
reflector's creation:

- `controllerkit_reflector_relists_total{kind}`: complete lists after the first one (410
  Expired, or an error nothing could resume from). A steady rate means the watch keeps falling
  out of the server's replay window (a slow consumer, or a history too short for the write
  rate).
- `controllerkit_reflector_replay_window_exceeded_total{kind}`: warm starts whose checkpoint was
  older than the server's replay window; the restart fell back to relist + diff.
- `controllerkit_reflector_warm_starts_total{kind}`: starts from a checkpoint (no list).
- `controllerkit_reflector_watch_restarts_total{kind}`: watch streams that ended and were
  resumed from the last resourceVersion (server timeouts, dropped connections, stalls).

Checkpoint families, labelled by scope (one per informer with a checkpoint store); the counters
are at zero from the informer's creation, the gauges appear with the first successful save:

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

import threading
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Counter, Gauge

from ..meta import ResourceKind

__all__ = ["CacheMetrics", "CheckpointMetrics", "ReflectorMetrics", "ReflectorStats"]


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


class CacheMetrics:
    """The `controllerkit_reflector_*` and `controllerkit_checkpoint_*` families of one registry.

    Get them with `CacheMetrics.of(registry)`: prometheus-client refuses a second registration
    of a family name in a registry, so each registry has exactly one instance, shared by every
    reflector and checkpoint writer that records into it, each under its own kind or scope.
    """

    _instances: WeakKeyDictionary[CollectorRegistry, CacheMetrics] = WeakKeyDictionary()
    # Informers may be built on several threads' event loops around one registry.
    _instances_lock = threading.Lock()

    @classmethod
    def of(cls, registry: CollectorRegistry) -> CacheMetrics:
        """The families registered in `registry`, registered there on the first call."""
        with cls._instances_lock:
            metrics = cls._instances.get(registry)
            if metrics is None:
                metrics = cls._instances[registry] = cls(registry)
            return metrics

    def __init__(self, registry: CollectorRegistry) -> None:
        """Register the families in `registry`; use `of` instead, which does it once."""
        kind = ["kind"]
        self.relists = Counter(
            "controllerkit_reflector_relists_total",
            "Complete relists after the first list, by kind", kind, registry=registry)
        self.replay_window_exceeded = Counter(
            "controllerkit_reflector_replay_window_exceeded_total",
            "Warm starts whose checkpoint was older than the server's watch history, by kind",
            kind, registry=registry)
        self.warm_starts = Counter(
            "controllerkit_reflector_warm_starts_total",
            "Reflector starts from a checkpoint (no list), by kind", kind, registry=registry)
        self.watch_restarts = Counter(
            "controllerkit_reflector_watch_restarts_total",
            "Watch streams resumed from the last resourceVersion, by kind", kind,
            registry=registry)
        scope = ["scope"]
        self.saves = Counter(
            "controllerkit_checkpoint_saves_total",
            "Successful checkpoint saves, by scope", scope, registry=registry)
        self.save_failures = Counter(
            "controllerkit_checkpoint_save_failures_total",
            "Failed checkpoint saves, by scope", scope, registry=registry)
        self.last_save = Gauge(
            "controllerkit_checkpoint_last_save_timestamp_seconds",
            "Unix time of the last successful checkpoint save, by scope", scope,
            registry=registry)
        self.last_save_duration = Gauge(
            "controllerkit_checkpoint_last_save_duration_seconds",
            "Duration of the last successful checkpoint save, by scope", scope,
            registry=registry)
        self.load_failures = Counter(
            "controllerkit_checkpoint_load_failures_total",
            "Checkpoint snapshots found damaged while loading lazily, by scope", scope,
            registry=registry)


@dataclass(frozen=True, slots=True)
class _KindSeries:
    """The reflector series of one kind."""

    relists: Counter
    replay_window_exceeded: Counter
    warm_starts: Counter
    watch_restarts: Counter


class ReflectorMetrics:
    """Counts one reflector's events in its `stats` and, given a registry, in the series of
    its kind there (created at zero now, so rates are defined from the first scrape)."""

    def __init__(self, kind: ResourceKind, stats: ReflectorStats,
                 registry: CollectorRegistry | None) -> None:
        self.stats = stats
        self._series: _KindSeries | None = None
        if registry is not None:
            families, label = CacheMetrics.of(registry), str(kind)
            self._series = _KindSeries(
                relists=families.relists.labels(kind=label),
                replay_window_exceeded=families.replay_window_exceeded.labels(kind=label),
                warm_starts=families.warm_starts.labels(kind=label),
                watch_restarts=families.watch_restarts.labels(kind=label))

    def relist(self) -> None:
        self.stats.relists += 1
        if self._series is not None:
            self._series.relists.inc()

    def replay_window_exceeded(self) -> None:
        self.stats.replay_window_exceeded += 1
        if self._series is not None:
            self._series.replay_window_exceeded.inc()

    def warm_start(self) -> None:
        self.stats.warm_starts += 1
        if self._series is not None:
            self._series.warm_starts.inc()

    def watch_restart(self) -> None:
        self.stats.watch_restarts += 1
        if self._series is not None:
            self._series.watch_restarts.inc()


class CheckpointMetrics:
    """Records one checkpoint scope's saves and load failures in a registry; records nothing
    when `registry` is None. The counters of the scope are created at zero now."""

    def __init__(self, scope: str, registry: CollectorRegistry | None) -> None:
        self._scope = scope
        self._families = None if registry is None else CacheMetrics.of(registry)
        if self._families is not None:
            for counter in (self._families.saves, self._families.save_failures,
                            self._families.load_failures):
                counter.labels(scope=scope)

    def save(self, duration: float) -> None:
        """Count one successful save that took `duration` seconds."""
        if self._families is not None:
            self._families.saves.labels(scope=self._scope).inc()
            self._families.last_save.labels(scope=self._scope).set_to_current_time()
            self._families.last_save_duration.labels(scope=self._scope).set(duration)

    def save_failure(self) -> None:
        """Count one failed save."""
        if self._families is not None:
            self._families.save_failures.labels(scope=self._scope).inc()

    def load_failure(self) -> None:
        """Count one snapshot found damaged after a lazy warm restart began."""
        if self._families is not None:
            self._families.load_failures.labels(scope=self._scope).inc()

"""Work-queue metrics with client-go's names and meaning, through prometheus-client.

Off unless a queue is given a `WorkqueueMetrics`: a queue without one records nothing and
reads no extra time. The gauges that client-go refreshes from a ticker every 500 ms
(depth, unfinished work, longest running processor) are computed here when scraped, so no
task runs for them and they are never stale.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ..clock import Clock

__all__ = ["WorkqueueMetrics"]

T = TypeVar("T", bound=Hashable)

# controller-runtime's buckets: 10 ns to 1000 s, a factor of 10 apart
DURATION_BUCKETS = tuple(10e-9 * 10**exponent for exponent in range(12))


class WorkqueueMetrics:
    """The `workqueue_*` metric families in one Prometheus registry, labelled by queue `name`.

    Create one per registry (prometheus-client refuses a second registration of the same
    names) and pass it to every queue; each queue labels its series with its own name, and a
    name may be used by only one queue at a time (until that queue is shut down).

    - `workqueue_depth`: items waiting to be processed (queued or added while processing).
    - `workqueue_adds_total`: adds that made an item dirty (duplicates are not counted).
    - `workqueue_queue_duration_seconds`: from such an add to the `get` that hands it out.
    - `workqueue_work_duration_seconds`: from `get` to `done`.
    - `workqueue_unfinished_work_seconds`: summed age of all items being processed; a steady
      rise means stuck processors.
    - `workqueue_longest_running_processor_seconds`: age of the oldest item being processed.
    - `workqueue_retries_total`: delayed adds (`add_after`, `add_rate_limited`).
    """

    def __init__(self, registry: CollectorRegistry | None) -> None:
        """Register the families in `registry` (a `Manager`'s is `manager.registry`); with
        None they are registered nowhere and nothing is exported."""
        labels = ["name"]
        self.depth = Gauge(
            "workqueue_depth", "Current depth of workqueue", labels, registry=registry)
        self.adds = Counter(
            "workqueue_adds_total", "Total number of adds handled by workqueue", labels,
            registry=registry)
        self.queue_duration = Histogram(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            labels, buckets=DURATION_BUCKETS, registry=registry)
        self.work_duration = Histogram(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes.",
            labels, buckets=DURATION_BUCKETS, registry=registry)
        self.unfinished_work = Gauge(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been "
            "observed by work_duration. Large values indicate stuck threads. One can deduce "
            "the number of stuck threads by observing the rate at which this increases.",
            labels, registry=registry)
        self.longest_running_processor = Gauge(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.",
            labels, registry=registry)
        self.retries = Counter(
            "workqueue_retries_total", "Total number of retries handled by workqueue", labels,
            registry=registry)
        self._live_names: set[str] = set()

    def for_queue(self, name: str, clock: Clock, depth: Callable[[], int]) -> QueueMetrics[T]:
        """The recorder for queue `name`; `depth` reports its current depth when scraped."""
        if name in self._live_names:
            raise ValueError(f"a work queue named {name!r} is already recording metrics; "
                             f"queue names must be unique among running queues")
        self._live_names.add(name)
        return QueueMetrics(self, name, clock, depth)

    def _release(self, name: str) -> None:
        self._live_names.discard(name)


class QueueMetrics(Generic[T]):
    """One queue's series, fed by the queue (internal: queues call it, users never do)."""

    def __init__(self, families: WorkqueueMetrics, name: str, clock: Clock,
                 depth: Callable[[], int]) -> None:
        self._families = families
        self._name = name
        self._now = clock.monotonic
        self._adds = families.adds.labels(name)
        self._queue_duration = families.queue_duration.labels(name)
        self._work_duration = families.work_duration.labels(name)
        self._retries = families.retries.labels(name)
        self._added_at: dict[T, float] = {}
        self._started_at: dict[T, float] = {}
        families.depth.labels(name).set_function(lambda: float(depth()))
        families.unfinished_work.labels(name).set_function(self._unfinished_seconds)
        families.longest_running_processor.labels(name).set_function(self._longest_seconds)

    def added(self, item: T) -> None:
        self._adds.inc()
        if item not in self._added_at:
            self._added_at[item] = self._now()

    def got(self, item: T) -> None:
        now = self._now()
        self._started_at[item] = now
        added_at = self._added_at.pop(item, None)
        if added_at is not None:
            self._queue_duration.observe(now - added_at)

    def done(self, item: T) -> None:
        started_at = self._started_at.pop(item, None)
        if started_at is not None:
            self._work_duration.observe(self._now() - started_at)

    def retried(self) -> None:
        self._retries.inc()

    def stop(self) -> None:
        """The queue shut down: nothing is queued any more; in-flight work is still reported."""
        self._added_at.clear()
        self._families.depth.labels(self._name).set_function(lambda: 0.0)
        self._families._release(self._name)

    # Scrapes may come from another thread: `list(...)` copies the values in one step (no
    # Python code runs inside it), so the event loop cannot resize the dict mid-iteration.

    def _unfinished_seconds(self) -> float:
        now = self._now()
        return sum(now - started for started in list(self._started_at.values()))

    def _longest_seconds(self) -> float:
        now = self._now()
        return max((now - started for started in list(self._started_at.values())), default=0.0)

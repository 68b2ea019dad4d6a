"""`ControllerMetrics`: controller-runtime's `controller_runtime_*` families for a manager's
controllers, in the manager's own Prometheus registry.

Counters and gauges are read from each controller's `stats` when scraped, so nothing runs
between scrapes and the numbers never disagree with the controller. The reconcile-time
histogram is fed by the controller's hooks.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from ..clock import Clock
from ..controller import Controller, Outcome, ReconcileHooks, ReconcileInfo

__all__ = ["RECONCILE_RESULTS", "ControllerMetrics"]

RECONCILE_RESULTS = tuple(outcome.value for outcome in Outcome)
"""The `result` label values of `controller_runtime_reconcile_total`, always all exported
(at zero until they happen) so rates can be computed from the first scrape."""

# controller-runtime's reconcile-time buckets (seconds)
RECONCILE_TIME_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4,
                          0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0,
                          3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0, 25.0,
                          30.0, 40.0, 50.0, 60.0)


class ControllerMetrics(ReconcileHooks):
    """The reconcile metrics of the controllers `track`ed, labelled by controller name.

    - `controller_runtime_reconcile_total{controller,result}`: finished reconciles by
      outcome (see `RECONCILE_RESULTS`; a timeout counts as `error`).
    - `controller_runtime_reconcile_errors_total{controller}`: reconciles that raised.
    - `controller_runtime_reconcile_time_seconds{controller}`: histogram of reconcile
      durations, failures included.
    - `controller_runtime_active_workers{controller}`: reconciles running now.
    - `controller_runtime_max_concurrent_reconciles{controller}`: the worker count.
    - `controllerkit_quarantined_keys{controller}`: keys parked in quarantine now.
    """

    def __init__(self, registry: CollectorRegistry, clock: Clock) -> None:
        self._clock = clock
        self._controllers: list[Controller] = []
        self.reconcile_time = Histogram(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller", ["controller"],
            buckets=RECONCILE_TIME_BUCKETS, registry=registry)
        registry.register(self)

    def track(self, controller: Controller) -> None:
        """Export `controller`'s metrics and time each of its reconciles."""
        self._controllers.append(controller)
        controller.add_hooks(self)

    def finished(self, info: ReconcileInfo, outcome: Outcome, seconds: float,
                 error: BaseException | None) -> None:
        self.reconcile_time.labels(info.controller).observe(seconds)

    def collect(self) -> Iterator[Metric]:
        """Build the families from the controllers' stats (called by the registry)."""
        total = CounterMetricFamily(
            "controller_runtime_reconcile", "Total number of reconciliations per controller",
            labels=["controller", "result"])
        errors = CounterMetricFamily(
            "controller_runtime_reconcile_errors",
            "Total number of reconciliation errors per controller", labels=["controller"])
        active = GaugeMetricFamily(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller", labels=["controller"])
        workers = GaugeMetricFamily(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller", labels=["controller"])
        quarantined = GaugeMetricFamily(
            "controllerkit_quarantined_keys",
            "Keys parked in quarantine after max_retries failed reconciles",
            labels=["controller"])
        for controller in list(self._controllers):
            name, stats = controller.name, controller.stats
            results = dict(stats.results)  # one copy: the event loop may be counting
            for result in RECONCILE_RESULTS:
                total.add_metric([name, result], results.get(result, 0))
            errors.add_metric([name], stats.errors)
            active.add_metric([name], stats.active_workers)
            workers.add_metric([name], controller.max_concurrent_reconciles)
            quarantined.add_metric([name], len(controller.quarantined()))
        yield from (total, errors, active, workers, quarantined)

"""`ControllerBuilder`: declare what a controller watches, then build it around a reconciler.

```python
controller = (
    ControllerBuilder(informers)          # an InformerFactory: shared watches and caches
    .for_(WIDGET)                         # reconcile widgets...
    .owns(CONFIG_MAP)                     # ...and a widget when a ConfigMap it controls changes
    .with_predicates(GENERATION_CHANGED)
    .with_options(max_concurrent_reconciles=4)
    .build(WidgetReconciler(...))
)
async with informers, controller:
    ...
```
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

from ..cache import InformerFactory, SharedInformer
from ..clock import SYSTEM_CLOCK, Clock
from ..meta import ResourceKind
from ..reconcile import Reconciler, Request
from ..workqueue import RateLimiter, WorkqueueMetrics
from .controller import Controller
from .handlers import (
    EnqueueHandler,
    OwnWrites,
    RequestMapper,
    request_for_object,
    request_for_owner,
)
from .hooks import ReconcileHooks
from .predicates import Predicate
from .quarantine import DEFAULT_MAX_RETRIES

__all__ = ["ControllerBuilder"]


@dataclass(frozen=True)
class _Watch:
    kind: ResourceKind
    mapper: RequestMapper | None  # None: the controller owner of the primary kind
    namespace: str | None
    label_selector: str
    predicates: tuple[Predicate, ...]
    own_object: bool


class ControllerBuilder:
    """Collects a controller's watches and options; `build(reconciler)` wires and returns it.

    Every watch goes through the factory's shared informer for that kind and scope, so
    controllers watching the same kind share one watch and one cache. `with_predicates`
    filters the events of every watch; `for_`, `owns` and `watches` take predicates of their
    own too. `build` needs exactly one `for_`. The controller's name defaults to the primary
    kind's plural and group (`widgets.example.com`), and labels its work-queue metrics.
    """

    def __init__(self, informers: InformerFactory) -> None:
        self.informers = informers
        self._name: str | None = None
        self._primary: _Watch | None = None
        self._watches: list[_Watch] = []
        self._predicates: tuple[Predicate, ...] = ()
        self._max_concurrent_reconciles = 1
        self._rate_limiter: RateLimiter[Request] | None = None
        self._max_retries = DEFAULT_MAX_RETRIES
        self._reconcile_timeout: float | None = None
        self._cache_sync_timeout: float | None = 120.0
        self._clock: Clock = SYSTEM_CLOCK
        self._queue_metrics: WorkqueueMetrics | None = None
        self._hooks: tuple[ReconcileHooks, ...] = ()
        self._own_writes: OwnWrites | None = None

    def named(self, name: str) -> Self:
        """The controller's name (logs, metrics); must be unique per process."""
        self._name = name
        return self

    def for_(
        self,
        kind: ResourceKind,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        predicates: Iterable[Predicate] = (),
    ) -> Self:
        """Reconcile objects of `kind` (in `namespace`, or all): each change enqueues its key."""
        if self._primary is not None:
            raise ValueError(f"for_ was already given ({self._primary.kind}); a controller "
                             "reconciles one kind")
        self._primary = _Watch(kind, request_for_object, namespace, label_selector,
                               tuple(predicates), own_object=True)
        return self

    def owns(
        self,
        kind: ResourceKind,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        predicates: Iterable[Predicate] = (),
    ) -> Self:
        """Also watch `kind`; a change enqueues the object's controller owner of the primary
        kind (the owner reference with `controller: true`, see `set_controller_reference`)."""
        self._watches.append(_Watch(kind, None, namespace, label_selector,
                                    tuple(predicates), own_object=False))
        return self

    def watches(
        self,
        kind: ResourceKind,
        map_fn: RequestMapper,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        predicates: Iterable[Predicate] = (),
    ) -> Self:
        """Also watch `kind`; a change enqueues the requests `map_fn(obj)` returns (for an
        update, those of the old and the new state). `map_fn` must be quick and not block."""
        self._watches.append(_Watch(kind, map_fn, namespace, label_selector,
                                    tuple(predicates), own_object=False))
        return self

    def with_predicates(self, *predicates: Predicate) -> Self:
        """Filter the events of every watch with these predicates (all must pass)."""
        self._predicates = (*self._predicates, *predicates)
        return self

    def with_options(
        self,
        *,
        max_concurrent_reconciles: int | None = None,
        rate_limiter: RateLimiter[Request] | None = None,
        max_retries: int | None = None,
        reconcile_timeout: float | None = None,
        cache_sync_timeout: float | None = None,
        clock: Clock | None = None,
        queue_metrics: WorkqueueMetrics | None = None,
        hooks: Iterable[ReconcileHooks] = (),
        own_writes: OwnWrites | None = None,
    ) -> Self:
        """Set the `Controller` options given (see `Controller`); the others stay as they are."""
        if max_concurrent_reconciles is not None:
            self._max_concurrent_reconciles = max_concurrent_reconciles
        if rate_limiter is not None:
            self._rate_limiter = rate_limiter
        if max_retries is not None:
            self._max_retries = max_retries
        if reconcile_timeout is not None:
            self._reconcile_timeout = reconcile_timeout
        if cache_sync_timeout is not None:
            self._cache_sync_timeout = cache_sync_timeout
        if clock is not None:
            self._clock = clock
        if queue_metrics is not None:
            self._queue_metrics = queue_metrics
        self._hooks = (*self._hooks, *hooks)
        if own_writes is not None:
            self._own_writes = own_writes
        return self

    @property
    def primary_kind(self) -> ResourceKind:
        if self._primary is None:
            raise ValueError("call for_(kind) first: a controller needs the kind it reconciles")
        return self._primary.kind

    def build(self, reconciler: Reconciler) -> Controller:
        """Create the controller and connect its handlers to the shared informers.

        The informers start with the factory (or at once if it runs); the controller's
        workers start when it is run and its informers have synced.
        """
        primary = self.primary_kind
        controller = Controller(
            self._name or primary.group_resource, reconciler,
            max_concurrent_reconciles=self._max_concurrent_reconciles,
            rate_limiter=self._rate_limiter, max_retries=self._max_retries,
            reconcile_timeout=self._reconcile_timeout,
            cache_sync_timeout=self._cache_sync_timeout, clock=self._clock,
            queue_metrics=self._queue_metrics, kind=primary, hooks=self._hooks,
        )
        assert self._primary is not None  # primary_kind checked it
        for watch in (self._primary, *self._watches):
            informer = self._informer(watch)
            mapper = watch.mapper or request_for_owner(primary)
            handler = EnqueueHandler(informer, controller, mapper,
                                     predicates=(*self._predicates, *watch.predicates),
                                     own_object=watch.own_object,
                                     own_writes=self._own_writes, writer=controller.name)
            controller.watch(informer, handler)
        return controller

    def _informer(self, watch: _Watch) -> SharedInformer:
        return self.informers.informer(watch.kind, namespace=watch.namespace,
                                       label_selector=watch.label_selector)

"""`Controller`: workers that take requests from a rate-limited work queue and reconcile them.

```python
controller = Controller("widgets", reconciler, max_concurrent_reconciles=4)
informer.add_handler(EnqueueHandler(informer, controller, own_object=True))
async with controller:          # waits for its informers' caches, then runs the workers
    ...                         # leaving stops it gracefully
```

Usually built by `ControllerBuilder`, which wires the informers and handlers.

Replicas that share the keys of one controller (`controllerkit.sharding`) restrict it with
`set_ownership`, and move keys with `reconciling`, `cancel_reconciles` and
`primary_requests`.

Beside it: the quarantine of keys that keep failing (`quarantine`), the bookkeeping of
running reconciles that lets them be cancelled (`running`), and the counters (`stats`).
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Iterable

import anyio
from anyio.abc import TaskStatus

from ..cache import HandlerRegistration, SharedInformer
from ..clock import SYSTEM_CLOCK, Clock
from ..errors import Conflict
from ..lifecycle import Lifecycle, task_group
from ..logs import reconcile_context
from ..meta import JSONObject, ResourceKind
from ..reconcile import Reconciler, Request, Result, TerminalError
from ..workqueue import (
    LOW_PRIORITY,
    NORMAL_PRIORITY,
    QueueShutDown,
    RateLimiter,
    RateLimitingQueue,
    WorkqueueMetrics,
)
from .handlers import EnqueueHandler
from .hooks import Outcome, ReconcileHooks, ReconcileInfo
from .quarantine import DEFAULT_MAX_RETRIES, Quarantine, QuarantinedItem
from .running import OwnershipFilter, RunningReconciles
from .stats import ControllerStats

# The types of Controller's signature are importable from here as well.
__all__ = ["DEFAULT_MAX_RETRIES", "Controller", "ControllerStats", "QuarantinedItem"]

logger = logging.getLogger(__name__)


class Controller(Lifecycle):
    """Reconciles requests from its work queue with `max_concurrent_reconciles` workers.

    Lifecycle (`controllerkit.lifecycle`): `run()` until `stop()`, or `async with
    controller:`. Started means its workers exist: its informers' caches have synced and
    every primary key is queued. `stop()` is the graceful stop below; cancelling `run()` the
    hard one. Runs once.

    Guarantees:

    - A request is never reconciled by two workers at once; requests enqueued while it is
      being reconciled are coalesced into one more reconcile after it.
    - A reconciler that raises (or exceeds `reconcile_timeout`) never stops a worker: the
      error is logged with the key and counted, and the key is retried with per-key backoff
      from the rate limiter. A success forgets the key's backoff.
    - `Conflict` (a write from a stale read) is an expected race, not an error: the key is
      requeued at once under the rate limiter, logged at INFO without a traceback, counted as
      `conflict`, and not counted toward quarantine.
    - Every reconcile runs in a log context naming the controller, kind, key and reconcile
      id (`controllerkit.logs`), and its hooks (`ReconcileHooks`) are told when it starts
      and how it ended.
    - Once its caches have synced, every object of the primary kind is enqueued (at low
      priority), also after a warm start from a checkpoint: each start reconciles every key.
    - `TerminalError`: logged and counted, not retried; the next enqueue reconciles it again.
    - `Result(requeue_after=d)`: reconciled again after `d` on the controller's clock (or
      sooner, if enqueued meanwhile).
    - After `max_retries` retries have failed as well, the key is quarantined: not retried,
      listed by `quarantined()`, and enqueues that are not changes of its own object are
      ignored. A change of the object (`enqueue(..., object_changed=True)`) or `requeue()`
      gives it a fresh start with a fresh backoff.
    - Graceful stop (`stop()`, leaving `async with`): no new reconcile starts, queued keys are
      dropped, in-flight reconciles finish, then `run()` returns. Cancelling `run()` instead
      cancels them.
    - With an ownership filter (`set_ownership`), a request is reconciled only if the filter
      accepts it when the worker takes it from the queue; `cancel_reconciles` ends running
      reconciles and returns once they have ended.

    Not guaranteed: an order between keys, or that every enqueue gets its own reconcile.
    """

    def __init__(
        self,
        name: str,
        reconciler: Reconciler,
        *,
        max_concurrent_reconciles: int = 1,
        rate_limiter: RateLimiter[Request] | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        reconcile_timeout: float | None = None,
        cache_sync_timeout: float | None = 120.0,
        clock: Clock = SYSTEM_CLOCK,
        queue_metrics: WorkqueueMetrics | None = None,
        kind: ResourceKind | None = None,
        hooks: Iterable[ReconcileHooks] = (),
    ) -> None:
        """`reconcile_timeout` bounds one reconcile (real seconds; `None`: unbounded).

        `cache_sync_timeout` bounds the wait for the informers' caches before the workers
        start (`CacheSyncTimeout` names the informer). `kind` is the primary kind, for logs
        and hooks. `hooks` are told about every reconcile (see `add_hooks`).
        """
        if max_concurrent_reconciles < 1:
            raise ValueError(f"max_concurrent_reconciles must be at least 1, "
                             f"not {max_concurrent_reconciles}")
        if max_retries < 0:
            raise ValueError(f"max_retries must not be negative, not {max_retries}")
        if reconcile_timeout is not None and reconcile_timeout <= 0:
            raise ValueError(f"reconcile_timeout must be positive, not {reconcile_timeout}")
        self.name = name
        self.reconciler = reconciler
        self.max_concurrent_reconciles = max_concurrent_reconciles
        self.max_retries = max_retries
        self.reconcile_timeout = reconcile_timeout
        self.cache_sync_timeout = cache_sync_timeout
        self.kind = kind
        self.stats = ControllerStats()
        self.queue: RateLimitingQueue[Request] = RateLimitingQueue(
            rate_limiter, name=name, clock=clock, metrics=queue_metrics)
        self._clock = clock
        self._quarantine = Quarantine(self.queue)
        self._informers: list[SharedInformer] = []
        self._registrations: list[HandlerRegistration] = []
        self._primary: tuple[SharedInformer, EnqueueHandler] | None = None
        self._owns: OwnershipFilter | None = None
        self._running = RunningReconciles()
        self._reconcile_ids = itertools.count(1)
        self._hooks: list[ReconcileHooks] = list(hooks)
        # Failures in a row per key, for quarantine: conflicts requeue without counting.
        self._failures: Counter[Request] = Counter()
        self._started = False
        self._stop_requested = False
        # Cancelled by stop() while run() waits for the caches.
        self._syncing: anyio.CancelScope | None = None

    def __repr__(self) -> str:
        return f"Controller({self.name!r})"

    def add_hooks(self, *hooks: ReconcileHooks) -> None:
        """Tell `hooks` about every reconcile from now on (added before `run()`)."""
        self._hooks.extend(hooks)

    # -- sources -----------------------------------------------------------------------------

    def watch(self, informer: SharedInformer, handler: EnqueueHandler) -> None:
        """Feed `handler`'s requests from `informer`; the workers wait for its cache to sync.

        Objects already cached (the informer has synced) are enqueued at once, at low
        priority, as unchanged state.
        """
        handler.replaying = True
        try:
            self._registrations.append(informer.add_handler(handler))
        finally:
            handler.replaying = False
        if informer not in self._informers:
            self._informers.append(informer)
        if handler.own_object and self._primary is None:
            self._primary = (informer, handler)

    # -- requests ----------------------------------------------------------------------------

    def enqueue(
        self, request: Request, *, priority: int = NORMAL_PRIORITY, object_changed: bool = False
    ) -> None:
        """Ask for a reconcile of `request`; ignored after stop.

        A quarantined request is released (fresh backoff) only if `object_changed`. A request
        the ownership filter rejects is dropped.
        """
        if self._owns is not None and not self._owns(request):
            return
        if request in self._quarantine:
            if not object_changed:
                return
            self._quarantine.release(request)
            logger.info("%s: %s changed; leaving quarantine", self.name, request)
        self.queue.add(request, priority)

    def quarantined(self) -> list[QuarantinedItem]:
        """The parked keys, oldest first."""
        return self._quarantine.items()

    def requeue(self, request: Request) -> bool:
        """Release a quarantined key for a fresh start now; False if it was not quarantined."""
        if not self._quarantine.release(request):
            return False
        self.queue.add(request)
        logger.info("%s: %s released from quarantine on request", self.name, request)
        return True

    # -- sharing keys with other replicas ----------------------------------------------------

    def set_ownership(self, owns: OwnershipFilter | None) -> None:
        """Reconcile only the requests `owns` accepts; None accepts every request again.

        The filter is consulted when a request is enqueued (a rejected one is dropped) and
        again when a worker takes it from the queue (dropped without a reconcile, and its
        backoff forgotten, if it is rejected by then), so a key is never *started* here after
        the filter turned it away. Reconciles already running are not affected: end them with
        `cancel_reconciles`. Set it before `run()`.
        """
        self._owns = owns

    @property
    def reconciling(self) -> frozenset[Request]:
        """The requests whose reconcile is running right now."""
        return self._running.requests

    async def cancel_reconciles(self, which: OwnershipFilter) -> int:
        """Cancel the running reconciles of the requests `which` accepts; wait until they end.

        Returns how many were cancelled. Each one ends with `CancelledError` raised inside
        the reconciler, counts as `cancelled`, and is neither retried nor requeued here (its
        backoff is forgotten); its worker carries on with the next request. Reconciles that
        start after this call are not affected (that is the ownership filter's job).
        """
        return await self._running.cancel(which)

    def primary_object(self, request: Request) -> JSONObject | None:
        """The cached object of `request` in the primary informer (the `for_` kind), if any."""
        if self._primary is None:
            return None
        return self._primary[0].store.get(request.key)

    def primary_requests(self) -> set[Request]:
        """The requests of every object in the primary informer's cache (the `for_` kind).

        Mapped and filtered by the primary watch's handler as an initial list would be; empty
        before a primary watch (`own_object=True`) is added. A replica that gains keys
        enqueues these (level-triggered: each reconcile reads the current state).
        """
        if self._primary is None:
            return set()
        informer, handler = self._primary
        requests: set[Request] = set()
        for obj in informer.store.list():
            try:
                if handler.predicate.add(obj):
                    requests.update(handler.mapper(obj))
            except Exception:
                logger.exception("%s: cannot map cached object %s to requests", self.name,
                                 Request.for_object(obj))
        return requests

    # -- reconciling -------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            try:
                request = await self.queue.get()
            except QueueShutDown:
                return
            try:
                if self._owns is None or self._owns(request):
                    await self._reconcile(request)
                else:
                    # Another replica owns the key now: its backoff is no longer ours.
                    self.stats.not_owned += 1
                    self._forget(request)
            finally:
                self.queue.done(request)

    async def _reconcile(self, request: Request) -> None:
        info = ReconcileInfo(self.name, self.kind, request, str(next(self._reconcile_ids)))
        kind = self.kind.kind if self.kind is not None else ""
        with reconcile_context(controller=self.name, kind=kind, namespace=request.namespace,
                               name=request.name, reconcile_id=info.reconcile_id):
            self._call_hooks("started", info)
            started = self._clock.monotonic()
            self.stats.active_workers += 1
            outcome: Outcome = Outcome.CANCELLED
            error: BaseException | None = None
            try:
                ended = await self._running.run(request, self._reconcile_once(request))
                if ended is not None:
                    outcome, error = ended
            finally:
                self.stats.active_workers -= 1
                seconds = self._clock.monotonic() - started
                self.stats.reconcile_seconds += seconds
                self.stats.results[outcome] += 1
                if outcome is Outcome.CANCELLED:
                    self._forget(request)
                    logger.info("%s: reconcile of %s cancelled: the key is no longer this "
                                "replica's", self.name, request)
                self._call_hooks("finished", info, outcome, seconds, error)
                if outcome is Outcome.QUARANTINED:
                    item = self._quarantine.last(request)
                    if item is not None:
                        self._call_hooks("quarantined", info, item)

    async def _reconcile_once(self, request: Request) -> tuple[Outcome, BaseException | None]:
        try:
            with anyio.fail_after(self.reconcile_timeout):
                result = await self.reconciler.reconcile(request)
            if not isinstance(result, Result):
                raise TypeError(f"reconcile returned {result!r}, not a Result")
        except TerminalError as error:
            self._forget(request)
            logger.error("%s: reconcile of %s failed terminally, not retrying: %s",
                         self.name, request, error)
            return Outcome.TERMINAL_ERROR, error
        except Conflict as error:
            # A write from a stale read: the next reconcile reads the newer state.
            self.queue.add_rate_limited(request)
            logger.info("%s: %s changed while it was reconciled; reconciling again: %s",
                        self.name, request, error)
            return Outcome.CONFLICT, error
        except Exception as error:
            return self._failed(request, error), error
        self._forget(request)
        delay = result.delay
        if delay is not None:
            self.queue.add_after(request, delay)
            return Outcome.REQUEUE_AFTER, None
        return Outcome.SUCCESS, None

    def _forget(self, request: Request) -> None:
        self.queue.forget(request)
        self._failures.pop(request, None)

    def _failed(self, request: Request, error: Exception) -> Outcome:
        if isinstance(error, TimeoutError) and self.reconcile_timeout is not None:
            description = f"timed out after {self.reconcile_timeout} s"
        else:
            description = f"{type(error).__name__}: {error}"
        retries = self._failures[request]
        if retries < self.max_retries:
            self._failures[request] += 1
            logger.error("%s: reconcile of %s failed (retry %d of %d): %s", self.name, request,
                         retries + 1, self.max_retries, description, exc_info=error)
            self.queue.add_rate_limited(request)
            return Outcome.ERROR
        item = QuarantinedItem(request, retries + 1, description, self._clock.monotonic())
        self._failures.pop(request, None)
        self._quarantine.park(item)
        logger.error("%s: %s quarantined after %d failed reconciles; it restarts when it "
                     "changes or is requeued: %s", self.name, request, item.failures,
                     description, exc_info=error)
        return Outcome.QUARANTINED

    def _call_hooks(self, method: str, *args: object) -> None:
        for hook in self._hooks:
            try:
                getattr(hook, method)(*args)
            except Exception:
                logger.exception("%s: hook %r failed in %s", self.name, hook, method)

    # -- running -----------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Wait for the informers' caches, then reconcile until `stop()` (or cancellation).

        Reports started once its workers exist (the caches have synced and every primary
        key is queued). Owns its worker tasks; they have ended when this returns. Runs once:
        a stopped controller cannot be started again; stopped before its caches synced, it
        returns without starting a worker. Raises `CacheSyncTimeout` if a cache does not sync
        within `cache_sync_timeout`.
        """
        if self._started:
            raise RuntimeError(f"{self!r} runs once")
        self._started = True
        try:
            if not await self._caches_synced():
                task_status.started()
                return
            # Level-triggered from the first moment: a warm start from a checkpoint delivers
            # no initial list, and keys whose last reconcile failed or asked for a requeue in
            # the previous process must be looked at again.
            for request in self.primary_requests():
                self.enqueue(request, priority=LOW_PRIORITY)
            async with task_group() as workers:
                for number in range(self.max_concurrent_reconciles):
                    workers.start_soon(self._work, name=f"{self.name} worker {number}")
                task_status.started()
        finally:
            self.queue.shutdown()
            for registration in self._registrations:
                registration.remove()

    async def _caches_synced(self) -> bool:
        """True once every informer synced; False if stop was asked first."""
        with anyio.CancelScope() as self._syncing:
            if self._stop_requested:
                self._syncing.cancel()
            for informer in self._informers:
                await informer.wait_for_sync(self.cache_sync_timeout)
        self._syncing = None
        return not self._stop_requested

    def stop(self) -> None:
        """Ask for a graceful stop: start nothing new, drop queued keys, let in-flight
        reconciles finish; `run()` then returns. Idempotent; returns at once.

        Before `run()`, the run ends as soon as it starts.
        """
        self._stop_requested = True
        if self._syncing is not None:
            self._syncing.cancel()
        # Workers waiting for a key get QueueShutDown; those reconciling finish first.
        self.queue.shutdown()

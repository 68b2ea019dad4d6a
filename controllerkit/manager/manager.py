"""`Manager`: runs a process's informers, controllers and HTTP endpoints as one unit.

```python
manager = Manager(client, namespace="default", metrics_bind_address="0")
(manager.controller_builder()
    .for_(CONFIG_MAP)
    .build(MyReconciler(...)))
await manager.run_until_signalled()      # SIGTERM or SIGINT: graceful stop, then return
```

High availability: with `leader_election=LeaderElectionConfig(...)` every replica keeps its
caches warm and only the one holding the Lease runs the controllers (and the runnables that
need leadership); with `sharding=ShardingConfig(...)` every replica runs the controllers on
its share of the keys. Losing the Lease ends `run()` with `LeadershipLost` or
`ShardLeaseLost`: the process should exit and be restarted, as controller-runtime does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Self, TypeVar

import anyio
from anyio.abc import TaskStatus
from prometheus_client import CollectorRegistry

from ..cache import CacheSyncTimeout, InformerFactory
from ..cache.cached_client import CachedClient, KindOrModel
from ..cache.recent_writes import RecentWrites
from ..client.kube import KubeClient
from ..client.mapper import RestMapper
from ..client.protocol import Client
from ..clock import SYSTEM_CLOCK, Clock
from ..controller import (
    DEFAULT_MAX_RETRIES,
    Controller,
    Predicate,
    ReconcileFunction,
    RequestMapper,
    Trigger,
)
from ..errors import Forbidden, NotFound
from ..events import EventRecorder
from ..leaderelection import LeaderElectionConfig, LeaderElector
from ..lifecycle import Lifecycle, run_stopping_on_cancel, task_group
from ..reconcile import Request
from ..sharding import ShardCoordinator, ShardingConfig
from ..workqueue import RateLimiter, WorkqueueMetrics
from .bind_address import parse_bind_address
from .builder import ManagedControllerBuilder
from .declaration import ControllerDeclaration
from .kinds import check_kinds
from .metrics import ControllerMetrics
from .quarantine_events import QuarantineEvents
from .replicas import leader_elector, readiness_details
from .workload import ManagedRunnable, RunnableFunction, Workload

__all__ = [
    "DEFAULT_HEALTH_PROBE_BIND_ADDRESS",
    "DEFAULT_METRICS_BIND_ADDRESS",
    "Manager",
]

if TYPE_CHECKING:
    from .endpoints import Servers

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_METRICS_BIND_ADDRESS = "127.0.0.1:8080"
DEFAULT_HEALTH_PROBE_BIND_ADDRESS = "127.0.0.1:8081"


class Manager(Lifecycle):
    """Owns the informers, the controllers and the HTTP servers of one controller process.

    Lifecycle (`controllerkit.lifecycle`): `run()` until `stop()`, or `async with manager:`
    (`run_until_signalled()` adds signal handlers). Started means ready: every cache has
    synced and the controllers and runnables have started. `stop()` is the graceful stop
    below; cancelling `run()` performs the same graceful stop, then re-raises the
    cancellation. Runs once.

    `run()`, in order: starts the HTTP servers and the informers; waits until every cache
    has synced (`CacheSyncTimeout` naming the kind, scope and last list error after
    `cache_sync_timeout` seconds: a kind that is not installed or not allowed to be listed
    fails here instead of hanging); marks itself ready; runs every controller and runnable
    until `stop()` is called or `run()` is cancelled; then stops gracefully: `/readyz` turns
    503, no new reconcile starts, queued keys are dropped, in-flight reconciles get
    `graceful_shutdown_timeout` seconds to finish (then they are cancelled), runnables are
    cancelled, and the informers, Event recorder and servers are closed before `run()`
    returns (or re-raises the cancellation). A controller or runnable that fails ends the
    run with its error, after the same graceful stop of the others.

    With `leader_election`, the replica campaigns for the Lease once its caches have
    synced (a replica that cannot sync never leads) and starts what needs leadership only
    while it leads; standby replicas are ready (`/readyz` 200) with warm caches and queues,
    so a new leader reconciles within moments of acquiring the Lease. A graceful stop ends
    the leader work first and then releases the Lease, so the next leader takes over at
    once. If leadership is lost (no renewal within `renew_deadline`, or another holder),
    everything that needs it is cancelled at once and `run()` raises `LeadershipLost`
    after stopping the rest: the process is expected to exit (it does not re-campaign).

    With `sharding`, a `ShardCoordinator` restricts every controller to this replica's
    keys; it starts once the caches have synced and is stopped after the controllers, so
    its keys are handed over when none of their reconciles runs here. `ShardLeaseLost`
    ends `run()` the same way. `/readyz` and `leader_election_master_status{name}` say who
    leads; both configurations may be changed until `run()`.

    Signal handlers are installed only by `run_until_signalled()`. `namespace` is the
    default scope of the watches of `controller_builder()` (cluster-scoped kinds ignore it).
    The bind addresses (`host:port`, `:port`, `0` for a free loopback port, `""` for off) may
    be changed until `run()`; `metrics_url` and `health_probe_url` say where the servers
    listen once they do. Metrics live in the manager's `registry` (its own unless one is
    given): the controllers', work queues', leader election's and sharding's, and the
    informers' reflector and checkpoint metrics, all served on `/metrics`. A factory given as
    `informers` exports into the registry it was built with: build it with the same one
    (`InformerFactory(client, registry=registry)`, and `Manager(..., registry=registry)`).

    Not guaranteed: that a reconcile cancelled after the grace period left its object
    consistent (reconcilers must be idempotent), or an order in which controllers start.
    """

    def __init__(
        self,
        client: Client,
        *,
        namespace: str | None = None,
        metrics_bind_address: str = DEFAULT_METRICS_BIND_ADDRESS,
        health_probe_bind_address: str = DEFAULT_HEALTH_PROBE_BIND_ADDRESS,
        cache_sync_timeout: float = 120.0,
        graceful_shutdown_timeout: float = 30.0,
        informers: InformerFactory | None = None,
        event_recorder: EventRecorder | None = None,
        clock: Clock = SYSTEM_CLOCK,
        leader_election: LeaderElectionConfig | None = None,
        sharding: ShardingConfig | None = None,
        registry: CollectorRegistry | None = None,
        kind_check_timeout: float = 5.0,
    ) -> None:
        """`informers` defaults to an `InformerFactory(client, registry=self.registry)`;
        `event_recorder` to an `EventRecorder(client, component="controllerkit-manager")`.
        The manager runs both for the length of `run()` (do not run them yourself).
        `registry` defaults to a new `CollectorRegistry`; one given
        serves this manager alone (a second manager's families would clash with its own).
        `clock` also times leader election and sharding. `kind_check_timeout` bounds how long
        `run()` waits for discovery to serve every kind the controllers watch (a CRD installed
        just before may take a moment) before it fails with `NoKindMatch` naming the kind."""
        parse_bind_address(metrics_bind_address)
        parse_bind_address(health_probe_bind_address)
        if cache_sync_timeout <= 0 or graceful_shutdown_timeout < 0:
            raise ValueError(f"timeouts must be positive, not cache_sync_timeout="
                             f"{cache_sync_timeout}, graceful_shutdown_timeout="
                             f"{graceful_shutdown_timeout}")
        self.client = client
        self.namespace = namespace or None
        self.metrics_bind_address = metrics_bind_address
        self.health_probe_bind_address = health_probe_bind_address
        self.cache_sync_timeout = cache_sync_timeout
        self.graceful_shutdown_timeout = graceful_shutdown_timeout
        self.registry = registry if registry is not None else CollectorRegistry()
        self.informers = (informers if informers is not None
                          else InformerFactory(client, registry=self.registry))
        self.event_recorder = (event_recorder if event_recorder is not None
                               else EventRecorder(client, component="controllerkit-manager"))
        self.mapper = RestMapper(client)
        self.cached_client = CachedClient(client, self.informers, mapper=self.mapper,
                                          writes=RecentWrites())
        """Reads from the manager's caches, writes to the API server (`Context.client` is a
        view of it per controller)."""
        self.kind_check_timeout = kind_check_timeout
        self.workqueue_metrics = WorkqueueMetrics(self.registry)
        self.controller_metrics = ControllerMetrics(self.registry, clock)
        self.metrics_url: str | None = None
        self.health_probe_url: str | None = None
        self.leader_election = leader_election
        self.sharding = sharding
        self.elector: LeaderElector | None = None
        """The elector of the running manager (set by `run()` with `leader_election`)."""
        self.shard_coordinator: ShardCoordinator | None = None
        """The coordinator of the running manager (set by `run()` with `sharding`)."""
        self._clock = clock
        self._controllers: dict[str, Controller] = {}
        self._runnables: list[ManagedRunnable] = []
        self._synced = False
        self._started = False
        self._stop_requested = False
        self._starting: anyio.CancelScope | None = None  # cancelled by stop()
        self._workload: Workload | None = None
        self._signals = 0
        self._closes_client = False

    @classmethod
    def from_kubeconfig(cls, path: str | os.PathLike[str] | None = None, *,
                        context: str | None = None, **options: Any) -> Self:
        """A manager over a client for a kubeconfig context (`KUBECONFIG`, else
        `~/.kube/config`), opened by `run()` and closed after it. `options` are `Manager`'s."""
        manager = cls(KubeClient.from_kubeconfig(path, context=context), **options)
        manager._closes_client = True
        return manager

    @classmethod
    def in_cluster(cls, **options: Any) -> Self:
        """A manager over the pod's service account, opened by `run()` and closed after it."""
        manager = cls(KubeClient.in_cluster(), **options)
        manager._closes_client = True
        return manager

    # -- controllers -------------------------------------------------------------------------

    def controller(
        self,
        kind: KindOrModel,
        *,
        owns: Sequence[KindOrModel] = (),
        watches: Sequence[tuple[KindOrModel, RequestMapper]] = (),
        triggers: Sequence[Trigger] = (),
        name: str | None = None,
        namespace: str | None = None,
        predicates: Iterable[Predicate] = (),
        max_concurrent_reconciles: int = 1,
        reconcile_timeout: float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        rate_limiter: RateLimiter[Request] | None = None,
        needs_leader_election: bool = True,
        clock: Clock | None = None,
    ) -> Callable[[ReconcileFunction[T]], ReconcileFunction[T]]:
        """Declare a controller: the decorated `async def reconcile(obj, ctx)` reconciles
        objects of `kind` (a model class such as `Website` or `Deployment`, or a
        `ResourceKind`), and runs with the manager.

        `obj` is the object as the cache holds it (a model when `kind` is one; a dict
        otherwise), or None once it is gone; `ctx` is a `Context`. Changes of objects of
        `owns` kinds reconcile their controller owner of `kind`; `watches` maps changes of
        other kinds to requests with a function; `triggers` deliver requests the program fires
        itself (see `Trigger`). `namespace` defaults to the manager's;
        `predicates` filter the events of every watch. The controller's name (logs, metrics)
        defaults to the kind's plural and group. `clock` times its requeues and backoff (the
        system clock by default; a `FakeClock` in tests). `reconcile_timeout`, `max_retries`
        and `rate_limiter` are the `Controller` options. Returns the function unchanged.
        """
        declaration = ControllerDeclaration(
            kind, owns, watches, triggers, name, namespace, tuple(predicates),
            max_concurrent_reconciles, reconcile_timeout, max_retries, rate_limiter,
            needs_leader_election, clock)

        def declare(function: ReconcileFunction[T]) -> ReconcileFunction[T]:
            declaration.build(self, function)
            return function

        return declare

    def controller_builder(self) -> ManagedControllerBuilder:
        """A builder over the manager's informers whose `build()` adds the controller here.

        Its controllers record work-queue metrics in the manager's registry, and its watches
        default to the manager's namespace.
        """
        return ManagedControllerBuilder(self).with_options(
            queue_metrics=self.workqueue_metrics, own_writes=self.cached_client.writes)

    def add(self, controller: Controller, *, needs_leader_election: bool = True) -> None:
        """Run `controller` with the manager, which records a Kubernetes Event on an object
        whose key it quarantines.

        Names must be unique; controllers are added before `run()`. Reconcile metrics are
        exported for every controller; work-queue metrics only if it was built with
        `queue_metrics=manager.workqueue_metrics` (as `controller_builder()` does).
        `needs_leader_election=False` runs it on every replica even with leader election.
        """
        if self._started:
            raise RuntimeError(f"add {controller!r} before the manager runs")
        if controller.name in self._controllers:
            raise ValueError(f"a controller named {controller.name!r} was already added")
        self._controllers[controller.name] = controller
        self._runnables.append(ManagedRunnable(
            f"controller {controller.name}", controller, needs_leader_election))
        self.controller_metrics.track(controller)
        controller.add_hooks(QuarantineEvents(self.event_recorder, controller))

    def add_runnable(
        self,
        run: Callable[[], Coroutine[Any, Any, None]],
        *,
        name: str | None = None,
        needs_leader_election: bool = True,
    ) -> None:
        """Run `run()` (an async function) once the caches have synced, next to the
        controllers; with leader election and `needs_leader_election`, only while leading.

        It is cancelled when the manager stops (before the Lease is released) and at once
        when leadership is lost; returning early is fine; raising ends the manager's run
        with that error. Added before `run()`; `name` (default: the function's) is for logs.
        (The manager runs it as a `RunnableFunction`: a component whose stop cancels it.)
        """
        if self._started:
            raise RuntimeError(f"add {run!r} before the manager runs")
        label = name or getattr(run, "__qualname__", None) or repr(run)
        self._runnables.append(ManagedRunnable(f"runnable {label}", RunnableFunction(run),
                                               needs_leader_election))

    @property
    def is_leader(self) -> bool:
        """Whether this replica may run leader work now: True without leader election."""
        if self.leader_election is None:
            return True
        return self.elector is not None and self.elector.is_leader

    @property
    def controllers(self) -> dict[str, Controller]:
        """The controllers added, by name (a copy)."""
        return dict(self._controllers)

    @property
    def ready(self) -> bool:
        """True from the moment every cache synced until the graceful stop begins."""
        return self._synced

    # -- running -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask `run()` to stop gracefully (see the class); returns at once. Idempotent.

        Before `run()`, the run ends as soon as it starts."""
        self._stop_requested = True
        if self._starting is not None:
            self._starting.cancel()
        if self._workload is not None:
            self._workload.stop()

    async def run_until_signalled(self) -> None:
        """`run()` with SIGTERM and SIGINT handlers: the first signal stops gracefully, a
        second one cancels the reconciles still running. The handlers are removed after."""
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT)
        for signum in signals:
            loop.add_signal_handler(signum, self._signalled, signum)
        try:
            await self.run()
        finally:
            for signum in signals:
                loop.remove_signal_handler(signum)

    def _signalled(self, signum: int) -> None:
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals == 1:
            logger.info("%s: stopping gracefully (grace period %s s)", name,
                        self.graceful_shutdown_timeout)
            self.stop()
        else:
            logger.warning("%s again: cancelling the reconciles still running", name)
            if self._workload is not None:
                self._workload.cancel_runnables()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run until `stop()` or cancellation, then stop gracefully (see the class).

        Reports started once ready (stopped before, it returns without starting the
        controllers). Runs once. Raises `NoKindMatch` when the server does not serve a
        watched kind, `CacheSyncTimeout` when a cache does not sync in time, `OSError` when a
        server cannot bind, `LeadershipLost` or `ShardLeaseLost` (see the class), or the
        error of a controller or runnable that failed.
        """
        if self._started:
            raise RuntimeError("a manager runs once")
        self._started = True
        # A cancellation asks for the graceful stop, which then completes before it is
        # re-raised: leader work must end before the Lease is released.
        await run_stopping_on_cancel(self._run, self.stop, task_status=task_status)

    async def _run(self, *, task_status: TaskStatus[None]) -> None:
        async with contextlib.AsyncExitStack() as resources:
            if self._closes_client and isinstance(self.client, KubeClient):
                await resources.enter_async_context(self.client)
            await self._run_servers_and_caches(task_status)

    async def _run_servers_and_caches(self, task_status: TaskStatus[None]) -> None:
        self._prepare_high_availability()
        servers = await self._start_servers()
        try:
            kinds = [informer.kind for informer in self.informers.informers()]
            if not await self._unless_stopped(
                    check_kinds(self.mapper, kinds, self.kind_check_timeout)):
                task_status.started()  # stopped before it was ready
                return
            async with task_group() as group:
                await group.start(self.informers.run, name="informers")
                await group.start(self.event_recorder.run, name=repr(self.event_recorder))
                try:
                    await self._run_workload(task_status)
                finally:
                    self._synced = False
                    # After the controllers: their last Events are written, then the
                    # informers save their checkpoints.
                    self.event_recorder.stop()
                    self.informers.stop()
        finally:
            self._synced = False
            if servers is not None:
                await servers.close()

    def _prepare_high_availability(self) -> None:
        if self.leader_election is not None:
            self.elector = leader_elector(self.client, self.leader_election,
                                          clock=self._clock, registry=self.registry)
        if self.sharding is not None:
            self.shard_coordinator = ShardCoordinator(self.client, self.sharding,
                                                      clock=self._clock,
                                                      registry=self.registry)
            for controller in self._controllers.values():
                self.shard_coordinator.attach(controller)

    async def _run_workload(self, task_status: TaskStatus[None]) -> None:
        if not await self._unless_stopped(self._caches_synced()):
            task_status.started()  # stopped before it was ready
            return
        self._synced = True
        logger.info("caches synced; controllers: %s", ", ".join(self._controllers) or "none")
        self._workload = Workload(
            self._runnables, graceful_shutdown_timeout=self.graceful_shutdown_timeout,
            elector=self.elector, coordinator=self.shard_coordinator,
            on_stopping=self._not_ready)
        if self._stop_requested:
            self._workload.stop()
        try:
            await self._workload.run(task_status=task_status)
        finally:
            self._synced = False
            logger.info("controllers stopped")

    def _not_ready(self) -> None:
        self._synced = False

    async def _unless_stopped(self, step: Coroutine[Any, Any, None]) -> bool:
        """Await a step of the start unless `stop()` comes first (it cancels the step);
        whether the start may go on."""
        try:
            with anyio.CancelScope() as self._starting:
                if self._stop_requested:
                    self._starting.cancel()
                await step
        finally:
            self._starting = None
        return not self._stop_requested

    async def _caches_synced(self) -> None:
        try:
            await self.informers.wait_for_sync(self.cache_sync_timeout)
        except CacheSyncTimeout as error:
            # Re-raised with the configured timeout: the shared deadline leaves a remainder.
            logger.error("%s: cache not synced after %s s; %s", error.what,
                         self.cache_sync_timeout, _sync_hint(error.last_error))
            raise CacheSyncTimeout(error.what, self.cache_sync_timeout,
                                   error.last_error) from None

    # -- HTTP --------------------------------------------------------------------------------

    def readiness_details(self) -> list[str]:
        """The lines `/readyz` adds after its verdict (see `replicas.readiness_details`)."""
        return readiness_details(self.leader_election, self.elector, self.shard_coordinator)

    async def _start_servers(self) -> Servers | None:
        if (parse_bind_address(self.metrics_bind_address) is None
                and parse_bind_address(self.health_probe_bind_address) is None):
            return None  # both off: the HTTP server framework is not even loaded
        from .endpoints import Endpoints, serve

        endpoints = Endpoints(registry=self.registry, controllers=self._controllers,
                              ready=lambda: self._synced, clock=self._clock,
                              details=self.readiness_details)
        servers = await serve(endpoints, metrics_bind_address=self.metrics_bind_address,
                              health_probe_bind_address=self.health_probe_bind_address)
        self.metrics_url = servers.metrics_url
        self.health_probe_url = servers.health_probe_url
        return servers


def _sync_hint(error: BaseException | None) -> str:
    if isinstance(error, NotFound):
        return "the server does not serve this kind: is its CRD installed and established?"
    if isinstance(error, Forbidden):
        return "the credentials may not list or watch this kind: check the RBAC rules"
    return "the server could not be listed in time"

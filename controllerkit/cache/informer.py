"""`SharedInformer`: one list+watch of a kind and scope, a cache, and any number of handlers.

```python
informer = SharedInformer(client, CONFIG_MAP, namespace="default")
informer.add_handler(EventHandlerFuncs(add=lambda obj: queue.add(object_key(obj))))
async with informer:                       # runs until the block ends
    await informer.wait_for_sync(timeout=60)
    cached = informer.store.get(("default", "settings"))
```

Handlers are called on the event loop, in order, as the cache changes (see `handlers`). A
handler added to a synced informer first receives an `on_add` for every cached object, so
whenever it is added it sees the whole state and then every change.

After a warm start from a checkpoint the cached snapshot is not delivered to handlers added
before the start: they receive exactly what changed while the process was down. A controller
that must look at every object again after a restart uses a resync period, or enqueues
`informer.store.list()` once synced.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping

import anyio
from anyio.abc import TaskStatus
from prometheus_client import CollectorRegistry

from ..client.protocol import Client
from ..lifecycle import Lifecycle, task_group
from ..meta import JSONObject, ResourceKind
from .checkpoint import CheckpointStore
from .clock import SYSTEM_CLOCK, Clock
from .delta import DeletedFinalStateUnknown, Delta, DeltaType
from .handlers import EventHandler
from .options import ReflectorOptions
from .reflector import Reflector
from .store import IndexFunc, Store
from .transforms import Transform

logger = logging.getLogger(__name__)


class CacheSyncTimeout(TimeoutError):
    """An informer did not sync in time; `last_error` is the reflector's latest failure.

    A missing permission (403) is the classic cause: the reflector keeps retrying and the
    error says which kind and scope it could not list.
    """

    def __init__(self, what: str, timeout: float | None, last_error: BaseException | None):
        cause = f"; last error: {last_error}" if last_error is not None else ""
        super().__init__(f"{what}: cache not synced after {timeout}s{cause}")
        self.what = what
        self.timeout = timeout
        self.last_error = last_error


class HandlerRegistration:
    """One handler added to an informer; `remove()` stops its deliveries."""

    def __init__(self, informer: SharedInformer, handler: EventHandler) -> None:
        self.informer = informer
        self.handler = handler

    @property
    def active(self) -> bool:
        return self in self.informer._registrations

    def remove(self) -> None:
        self.informer.remove_handler(self)


class SharedInformer(Lifecycle):
    """A cache of one kind and scope, kept current by a reflector, shared by many handlers.

    Lifecycle (`controllerkit.lifecycle`): `run()` until `stop()`, or `async with informer:`.
    Started means its tasks exist (the reflector's loop and the resync), not that it synced:
    `wait_for_sync` for that. `stop()` ends the reflector's loop and the resync and saves the
    checkpoint (if any); cancelling `run()` does the same at once. An informer may run again
    after it stopped: it resumes from where it stopped, with the same cache.

    Guarantees: each handler sees the changes in the order the cache applied them; a handler
    that raises is logged and counted (`handler_errors`) and never stops the informer or the
    other handlers; `store` always holds a complete state once `has_synced` is true, and stays
    readable (no longer updated) after the informer stops. Every task the informer starts is
    owned by `run()` and ended before it returns.

    `compact=True` keeps the cache as JSON bytes (see `Store`): less than half the memory and a
    warm restart that decodes nothing, for a decode on every read. Handlers then receive dicts
    that the cache does not share.

    `registry`, if given, receives the reflector's and the checkpoint writer's metrics (the
    `controllerkit_reflector_*` and `controllerkit_checkpoint_*` families, see
    `controllerkit.cache.metrics`); any number of informers may share one registry. Without
    it they are only counted in `reflector.stats`.
    """

    def __init__(
        self,
        client: Client,
        kind: ResourceKind,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        transform: Transform | None = None,
        indexes: Mapping[str, IndexFunc] | None = None,
        resync_period: float | None = None,
        checkpoint_store: CheckpointStore | None = None,
        options: ReflectorOptions | None = None,
        clock: Clock = SYSTEM_CLOCK,
        random: Callable[[], float] = random.random,
        compact: bool = False,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if resync_period is not None and resync_period <= 0:
            raise ValueError(f"resync_period must be positive, not {resync_period}")
        self.store = Store(transform=transform, indexes=indexes, compact=compact)
        self.reflector = Reflector(
            client, kind, store=self.store, namespace=namespace,
            label_selector=label_selector, field_selector=field_selector,
            on_change=self._dispatch, changes_wanted=lambda: bool(self._registrations),
            checkpoint=checkpoint_store, options=options, clock=clock, random=random,
            registry=registry,
        )
        self.resync_period = resync_period
        self.handler_errors = 0
        self._clock = clock
        self._registrations: tuple[HandlerRegistration, ...] = ()
        self._running = False
        # A stop asked while not running ends the next run at once; each run consumes it.
        self._stop_requested = False
        self._resyncing: anyio.CancelScope | None = None

    def __repr__(self) -> str:
        return f"SharedInformer({self.reflector.describe()})"

    @property
    def kind(self) -> ResourceKind:
        return self.reflector.kind

    @property
    def namespace(self) -> str | None:
        return self.reflector.namespace

    @property
    def label_selector(self) -> str:
        return self.reflector.label_selector

    @property
    def field_selector(self) -> str:
        return self.reflector.field_selector

    @property
    def is_running(self) -> bool:
        return self._running

    # -- sync ------------------------------------------------------------------------------

    @property
    def has_synced(self) -> bool:
        """Whether the cache has held a complete state (a list, or a checkpoint)."""
        return self.reflector.has_synced

    # A bounded wait whose error names the informer and its last failure: hence `timeout`.
    async def wait_for_sync(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait until `has_synced`; `CacheSyncTimeout` (with the last error) after `timeout`."""
        try:
            with anyio.fail_after(timeout):
                await self.reflector.wait_for_sync()
        except TimeoutError:
            raise CacheSyncTimeout(
                self.reflector.describe(), timeout, self.reflector.last_error
            ) from None

    # -- indexes and handlers --------------------------------------------------------------

    def add_index(self, name: str, func: IndexFunc) -> None:
        """Add a store index; it covers the cached objects at once and every later change."""
        self.store.add_index(name, func)

    def add_handler(self, handler: EventHandler) -> HandlerRegistration:
        """Deliver this informer's changes to `handler` from now on.

        If the informer has synced, the handler first gets `on_add` for every cached object
        (synchronously, before this returns), so it starts from the whole state.
        """
        registration = HandlerRegistration(self, handler)
        self._registrations = (*self._registrations, registration)
        if self.has_synced:
            for obj in self.store.list():
                self._call(registration, "on_add", obj)
        return registration

    def remove_handler(self, registration: HandlerRegistration) -> None:
        """Stop deliveries to a handler; removing one twice is harmless."""
        self._registrations = tuple(r for r in self._registrations if r is not registration)

    def resync(self) -> None:
        """Deliver every cached object to every handler as `on_update(obj, obj)`."""
        for obj in self.store.list():
            for registration in self._registrations:
                self._call(registration, "on_update", obj, obj)

    def _dispatch(self, delta: Delta) -> None:
        registrations = self._registrations
        if not registrations:
            return
        if delta.type is DeltaType.ADDED:
            for registration in registrations:
                self._call(registration, "on_add", delta.object)
        elif delta.type is DeltaType.UPDATED:
            assert delta.old is not None
            for registration in registrations:
                self._call(registration, "on_update", delta.old, delta.object)
        else:
            gone: JSONObject | DeletedFinalStateUnknown = (
                DeletedFinalStateUnknown(delta.key, delta.object)
                if delta.final_state_unknown else delta.object
            )
            for registration in registrations:
                self._call(registration, "on_delete", gone)

    def _call(self, registration: HandlerRegistration, method: str, *args: object) -> None:
        try:
            result = getattr(registration.handler, method)(*args)
            if asyncio.iscoroutine(result):
                # An `async def` handler would never run: say so instead of dropping it.
                result.close()
                raise TypeError(f"{method} returned a coroutine; handlers must be synchronous "
                                "(enqueue the work, do not await it)")
        except Exception:
            self.handler_errors += 1
            logger.exception("%s: handler %r failed in %s", self.reflector.describe(),
                             registration.handler, method)

    # -- running ---------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """List, watch and deliver until `stop()` is called or the calling task is cancelled.

        Reports started once the reflector's and the resync's tasks exist. Owns them; both
        have ended when this returns. The checkpoint (if any) is saved on the way out.
        """
        if self._running:
            raise RuntimeError(f"{self!r} is already running")
        self._running = True
        try:
            async with task_group() as tasks:
                await tasks.start(self.reflector.run, name=f"reflector {self!r}")
                if self.resync_period is not None:
                    tasks.start_soon(self._resync_every, self.resync_period,
                                     name=f"resync {self!r}")
                task_status.started()
        finally:
            self._stop_requested = False
            self._running = False

    def stop(self) -> None:
        """Ask a running informer to stop (see the class); `run()` returns once its tasks
        ended. Idempotent; returns at once. Asked while not running, it ends the next run as
        soon as it starts."""
        self._stop_requested = True
        self.reflector.stop()
        if self._resyncing is not None:
            self._resyncing.cancel()

    async def _resync_every(self, period: float) -> None:
        try:
            with anyio.CancelScope() as self._resyncing:
                if self._stop_requested:
                    self._resyncing.cancel()
                while True:
                    await self._clock.sleep(period)
                    if self.has_synced:
                        self.resync()
        finally:
            self._resyncing = None

"""The reflector: keeps a `Store` equal to the server's objects of one kind and scope.

List (or stream the initial state), then watch from the list's resourceVersion; every event and
bookmark advances the store's resourceVersion, and every reconnect resumes from it. The
reflector relists only when the server no longer remembers that resourceVersion (410 Expired),
or after an error it cannot resume from.

Facts it follows from client-go's reflector:
- The initial state comes from a streaming list (a watch with `sendInitialEvents=true`,
  `resourceVersionMatch=NotOlderThan`, ended by a bookmark annotated
  `k8s.io/initial-events-end`) when the server supports it, else from a paginated list.
- Watches ask for bookmarks and a random timeout in [min_watch_timeout, 2*min_watch_timeout)
  (5 to 10 minutes), so a fleet of clients does not reconnect in lockstep.
- After 410, the relist first asks for the last resourceVersion (data at least that fresh, cheap
  for the server), and only if that is expired too for the current state.
- Failures back off exponentially with jitter (0.8 s doubling to 30 s, reset after 2 quiet
  minutes); 429 waits at least the server's Retry-After.

With a `CheckpointStore` the reflector starts warm: it loads the snapshot of this kind and scope
into the store (no handler events for it), watches from the snapshot's resourceVersion (no list
request) and reports synced at once; the server's replay then delivers exactly what changed
while the process was down. If the server answers 410 (its replay window was exceeded), the
reflector relists and the store's diff against the snapshot yields the same adds, updates and
deletes; `stats.replay_window_exceeded` counts it and a warning is logged. A compact store
restores a file checkpoint lazily (see `snapshot_loading`); a snapshot found damaged later is
followed by the same relist and diff.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable

import anyio
from anyio.abc import TaskStatus
from prometheus_client import CollectorRegistry

from ..client.protocol import Client, WatchEvent, WatchOptions
from ..errors import (
    ApiError,
    Expired,
    InternalError,
    ServerTimeout,
    TooManyRequests,
    WatchStalled,
)
from ..lifecycle import Lifecycle, task_group
from ..meta import ResourceKind
from .backoff import Backoff
from .checkpoint import Checkpoint, CheckpointStore, CheckpointWriter
from .checkpoint_scope import checkpoint_scope
from .clock import SYSTEM_CLOCK, Clock
from .delta import Delta
from .gc_pause import paused_gc
from .lazy_snapshot import LazyLoading
from .listing import StreamEndedEarly, StreamingListUnsupported, list_pages, stream_initial
from .metrics import CheckpointMetrics, ReflectorMetrics, ReflectorStats
from .options import ReflectorOptions
from .snapshot_loading import SnapshotDamaged, SnapshotLoader
from .snapshots import restore, snapshot
from .store import ListStart, Prepared, Store
from .transforms import transform_identity

__all__ = ["Reflector", "ReflectorOptions"]

logger = logging.getLogger(__name__)

# A watch that ends this fast without a single event is a failure in disguise (a proxy that
# closes at once): back off before the next one instead of spinning.
_SHORT_WATCH_SECONDS = 1.0


class Reflector(Lifecycle):
    """Feeds one `Store` from a list+watch of `kind` in `namespace` with the given selectors.

    Lifecycle (`controllerkit.lifecycle`): `run()` until `stop()` or cancellation, or `async
    with reflector:`. Started means its loop runs (before the first list or the checkpoint
    load). Either stop ends the list/watch loop and saves the checkpoint (if any) on the way
    out. It may run again after it stopped: it resumes from the store's resourceVersion.

    `run()` never raises for server or network trouble: it logs,
    backs off and retries, keeping the store (and its last resourceVersion) meanwhile.
    `on_change` receives every delta the store reports, in order, on the event loop;
    `changes_wanted`, if given, says whether it currently has anyone to deliver them to (when
    not, a relist into a compact store skips decoding its deltas' objects).
    Guarantees: the store only moves forward through complete states (a relist replaces it in
    one step); `has_synced` turns true after the first complete state and stays true.
    Not guaranteed: that a handler sees every intermediate state (a relist collapses the changes
    it missed into one delta per key).
    `stats` counts what the reflector did; with a `registry`, relists, watch restarts and warm
    starts (and its checkpoint saves) are exported there too (see `controllerkit.cache.metrics`).
    """

    def __init__(
        self,
        client: Client,
        kind: ResourceKind,
        *,
        store: Store,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        on_change: Callable[[Delta], None] | None = None,
        changes_wanted: Callable[[], bool] | None = None,
        checkpoint: CheckpointStore | None = None,
        options: ReflectorOptions | None = None,
        clock: Clock = SYSTEM_CLOCK,
        random: Callable[[], float] = random.random,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.client = client
        self.kind = kind
        self.store = store
        self.namespace = namespace if kind.namespaced else None
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.options = options or ReflectorOptions()
        self.stats = ReflectorStats()
        self.last_error: BaseException | None = None
        self.scope = checkpoint_scope(kind, self.namespace, label_selector, field_selector)
        self._on_change = on_change
        self._changes_wanted = changes_wanted
        self._transform_identity = transform_identity(store.transform)
        self._checkpoint_store = checkpoint
        self._writer: CheckpointWriter | None = None
        self._registry = registry
        self._metrics = ReflectorMetrics(kind, self.stats, registry)
        # Checkpoint series only for a reflector that has checkpoints.
        self._loader = SnapshotLoader(
            store, self.scope, self.describe(), self.stats,
            CheckpointMetrics(self.scope, registry if checkpoint is not None else None))
        self._clock = clock
        self._random = random
        self._backoff = Backoff(self.options.backoff, clock=clock, random=random)
        self._streaming = self.options.streaming_list
        self._synced = asyncio.Event()
        self._running = False
        # A stop asked while not running ends the next run at once; each run consumes it.
        self._stop_requested = False
        self._watching: anyio.CancelScope | None = None  # cancelled by stop()
        self._warm = False
        # 410 answers since the last event that arrived: more than one means relists fail.
        self._expired_in_a_row = 0

    def __repr__(self) -> str:
        return f"Reflector({self.describe()})"

    def describe(self) -> str:
        """The kind and scope, as logs name them."""
        parts = [str(self.kind)]
        parts.append(f"namespace={self.namespace}" if self.namespace else "all namespaces")
        if self.label_selector:
            parts.append(f"labels={self.label_selector}")
        if self.field_selector:
            parts.append(f"fields={self.field_selector}")
        return " ".join(parts)

    @property
    def has_synced(self) -> bool:
        """Whether the store has held a complete state (a list, or a checkpoint) at least once."""
        return self._synced.is_set()

    async def wait_for_sync(self) -> None:
        await self._synced.wait()

    # -- the loop --------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """List (or load the checkpoint), then watch and re-watch, until stopped or cancelled.

        Reports started at once. Owns the task that loads a lazy snapshot; it has ended when
        this returns. The checkpoint (if any) is saved on the way out, also when cancelled.
        """
        if self._running:
            raise RuntimeError(f"{self!r} is already running")
        self._running = True
        try:
            async with task_group() as loading:
                with anyio.CancelScope() as self._watching:
                    if self._stop_requested:
                        self._watching.cancel()
                    task_status.started()
                    # Run again after a stop: the store still holds a complete state; resume.
                    need_list = not (self.has_synced or await self._start_warm())
                    if self._loader.loading:
                        loading.start_soon(self._loader.load_rest,
                                           name=f"snapshot loader {self.describe()}")
                    if self._checkpoint_store is not None:
                        self._writer = CheckpointWriter(
                            self._checkpoint_store, self.scope, self._snapshot,
                            interval=self.options.checkpoint_interval,
                            max_pending_events=self.options.checkpoint_max_pending_events,
                            clock=self._clock, can_save=lambda: self._loader.complete,
                            registry=self._registry,
                        )
                    await self._list_and_watch(need_list)
                loading.cancel_scope.cancel()  # finish() below reads the rest at once
        finally:
            self._watching = None
            self._stop_requested = False
            self._running = False
            self._loader.finish()
            if self._writer is not None:
                # Saves the state at shutdown, so a restart replays only what came after;
                # shielded, so that a cancelled run still saves it.
                with anyio.CancelScope(shield=True):
                    await self._writer.aclose()
                self._writer = None

    def stop(self) -> None:
        """Ask the loop to end; `run()` then saves the checkpoint and returns. Idempotent.

        Asked while not running, it ends the next run as soon as it starts.
        """
        self._stop_requested = True
        if self._watching is not None:
            self._watching.cancel()

    async def _list_and_watch(self, need_list: bool) -> None:
        stream: AsyncIterator[WatchEvent] | None = None
        while True:
            delay = 0.0
            try:
                if need_list:
                    stream = await self._sync()
                    need_list = False
                if stream is None:
                    stream = self._open_watch()
                started = self._clock.monotonic()
                events = await self._loader.watch(self._consume, stream)
                self._metrics.watch_restart()
                if events == 0 and self._clock.monotonic() - started < _SHORT_WATCH_SECONDS:
                    delay = self._backoff.next_delay()
            except Expired as error:
                need_list = True
                self._on_expired(error)
                # A relist that is answered 410 again before any event arrived: the server is
                # in trouble (or compacting fast); back off as client-go does between relists.
                if self._expired_in_a_row > 1:
                    delay = self._backoff.next_delay()
            except SnapshotDamaged:
                need_list = True
            except TooManyRequests as error:
                delay = max(error.retry_after or 0.0, self._backoff.next_delay())
                self._failed(error, f"throttled (429); retrying in {delay:.1f}s")
            except (InternalError, ServerTimeout) as error:
                delay = self._backoff.next_delay()
                self._failed(error, f"server error; re-watching in {delay:.1f}s")
            except ApiError as error:
                # Forbidden, NotFound (a CRD removed), ...: nothing to resume; list again later.
                need_list = True
                delay = self._backoff.next_delay()
                self._failed(error, f"request refused; relisting in {delay:.1f}s",
                             level=logging.WARNING)
            except (ConnectionError, OSError, TimeoutError, WatchStalled) as error:
                # Connection refused or reset, stalled streams: resume from the last
                # resourceVersion, which the store still holds.
                delay = self._backoff.next_delay()
                self._failed(error, f"connection trouble; re-watching in {delay:.1f}s")
                if not need_list:
                    self._metrics.watch_restart()
            except Exception as error:
                # Not a known failure (an undecodable line, a bug): say so loudly, then resume
                # like after a dropped connection; the store is consistent either way.
                delay = self._backoff.next_delay()
                self._failed(error, f"unexpected error; re-watching in {delay:.1f}s",
                             level=logging.ERROR, traceback=True)
            finally:
                if stream is not None:
                    # Shielded: a stop or cancellation must still release the connection.
                    with anyio.CancelScope(shield=True):
                        await _close(stream)
                    stream = None
            if delay > 0:
                await self._clock.sleep(delay)

    def _failed(
        self, error: BaseException, what: str, *, level: int = logging.INFO,
        traceback: bool = False,
    ) -> None:
        self.last_error = error
        self.stats.errors += 1
        logger.log(level, "%s: %s: %s", self.describe(), what, error, exc_info=traceback)

    def _on_expired(self, error: Expired) -> None:
        self.stats.expired_watches += 1
        self._expired_in_a_row += 1
        if self._warm:
            self._metrics.replay_window_exceeded()
            logger.warning(
                "%s: replay window exceeded: the server no longer has the changes since the "
                "checkpoint (resourceVersion %s); relisting and diffing against the snapshot",
                self.describe(), self.store.resource_version)
        else:
            logger.info("%s: watch expired (410) at resourceVersion %s; relisting",
                        self.describe(), self.store.resource_version)

    # -- warm start ------------------------------------------------------------------------

    async def _start_warm(self) -> bool:
        """Load this scope's checkpoint into the store; whether that gave a complete state."""
        if self._checkpoint_store is None:
            return False
        store = self._checkpoint_store
        try:
            # Only a compact store can leave a snapshot's bytes in the file.
            checkpoint = await (store.load_lazy(self.scope)
                                if self.store.compact and isinstance(store, LazyLoading)
                                else store.load(self.scope))
        except Exception:
            logger.exception("%s: loading the checkpoint failed; starting cold", self.describe())
            return False
        if checkpoint is None or not checkpoint.has_objects or not checkpoint.resource_version:
            logger.info("%s: no usable checkpoint snapshot; starting with a list",
                        self.describe())
            return False
        if not await restore(self.store, checkpoint, self._transform_identity, self.describe(),
                             self._loader.on_damage):
            return False
        self._warm = True
        self._metrics.warm_start()
        self._synced.set()
        logger.info("%s: warm start from checkpoint at resourceVersion %s (%d objects)",
                    self.describe(), checkpoint.resource_version, len(self.store))
        return True

    def _snapshot(self) -> Checkpoint:
        return snapshot(self.store, self._transform_identity,
                        objects=self.options.checkpoint_objects)

    # -- listing ---------------------------------------------------------------------------

    async def _sync(self) -> AsyncIterator[WatchEvent] | None:
        """Replace the store with the current state; an open watch stream if one came with it.

        The first attempt asks for data at least as fresh as the store's resourceVersion (cheap
        for the server); if that is expired too, for the current state.
        """
        since = self.store.resource_version
        relist = self._synced.is_set()
        if relist:
            self._metrics.relist()
            logger.info("%s: relisting from resourceVersion %s", self.describe(), since)
        try:
            return await self._sync_from(since)
        except Expired:
            if not since:
                raise
            logger.info("%s: resourceVersion %s expired for listing too; listing the current "
                        "state", self.describe(), since)
            return await self._sync_from("")

    async def _sync_from(self, since: str) -> AsyncIterator[WatchEvent] | None:
        # Only a list of the current state (a consistent read) surely shows every write that
        # completed before it was requested; one from a resourceVersion may be served older.
        current = not since
        if self._streaming:
            started = self.store.begin_list() if current else None
            try:
                initial, stream = await stream_initial(
                    self.client, self.kind, self._watch_options(since, streaming=True),
                    namespace=self.namespace, prepare=self.store.prepare,
                )
            except StreamingListUnsupported as error:
                self._streaming = False
                logger.info("%s: the server does not support streaming lists (%s); using "
                            "paginated lists", self.describe(), error)
            except StreamEndedEarly as error:
                # Making progress beats retrying a stream that keeps breaking: list this time.
                self.stats.streaming_list_failures += 1
                logger.info("%s: %s; listing instead", self.describe(), error)
            else:
                self.stats.streaming_lists += 1
                self._replace(initial.objects, initial.resource_version, started)
                return stream
        self.stats.lists += 1
        # Paging with a resourceVersion asks for exactly that version (410 when it is old):
        # like client-go, list from a resourceVersion in one request instead.
        page_size = self.options.page_size if not since else None
        started = self.store.begin_list() if current else None
        objects, resource_version = await list_pages(
            self.client, self.kind, namespace=self.namespace,
            label_selector=self.label_selector, field_selector=self.field_selector,
            page_size=page_size, resource_version=since, prepare=self.store.prepare,
        )
        self._replace(objects, resource_version, started)
        return None

    def _replace(self, objects: list[Prepared], resource_version: str,
                 started: ListStart | None) -> None:
        # Prepared page by page by the listers (bounded peak memory); no collections while
        # the store fills, as for a warm start.
        with paused_gc():
            deltas = self.store.replace_prepared(objects, resource_version)
        if started is not None:
            self.store.finish_list(started)
        # A compact store decodes a delta's objects only when it is iterated: skip that when
        # nobody would receive them.
        if self._on_change is not None and (
                self._changes_wanted is None or self._changes_wanted()):
            for delta in deltas:
                self._emit(delta)
        self._warm = False
        self._loader.relisted()
        self._synced.set()
        self._changed()

    # -- watching --------------------------------------------------------------------------

    def _watch_options(self, since: str, *, streaming: bool = False) -> WatchOptions:
        low = self.options.min_watch_timeout
        return WatchOptions(
            resource_version=since,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            allow_bookmarks=True,
            timeout_seconds=int(low * (1.0 + self._random())),
            send_initial_events=streaming,
            stall_timeout=self.options.stall_timeout,
            # A streaming list needs it; WatchOptions has no field for it, so say it for any
            # Client implementation (KubeClient adds the same value itself).
            extra={"resourceVersionMatch": "NotOlderThan"} if streaming else {},
        )

    def _open_watch(self) -> AsyncIterator[WatchEvent]:
        self.stats.watches += 1
        options = self._watch_options(self.store.resource_version)
        return self.client.watch(self.kind, options, namespace=self.namespace)

    async def _consume(self, stream: AsyncIterator[WatchEvent]) -> int:
        """Apply a stream's events to the store until it ends; how many arrived."""
        count = 0
        store = self.store
        async for event in stream:
            count += 1
            # The server accepted the resourceVersion: a later 410 is an ordinary one.
            self._warm = False
            self._expired_in_a_row = 0
            if event.type == "BOOKMARK":
                store.set_resource_version(event.resource_version)
            else:
                delta = store.apply(event.type, event.object)
                if delta is not None:
                    self._emit(delta)
            self._changed()
        return count

    def _emit(self, delta: Delta) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(delta)
        except Exception:
            logger.exception("%s: change consumer failed on %s %s", self.describe(),
                             delta.type, delta.key)

    def _changed(self) -> None:
        if self._writer is not None:
            self._writer.notify()


async def _close(stream: AsyncIterator[WatchEvent]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:
            logger.debug("closing a watch stream failed", exc_info=True)

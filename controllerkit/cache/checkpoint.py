"""Checkpoints: where an informer's cache was, so a restart resumes instead of relisting.

A `Checkpoint` pairs a resourceVersion with, optionally, the cache contents at exactly that
resourceVersion. On start an informer loads it, fills its cache from the snapshot and watches from
the resourceVersion: the server replays only what changed while the process was down. When the
server no longer remembers that far back (410 Expired) the informer relists and diffs the list
against the snapshot, so handlers still see exactly the adds, updates and deletes they missed.

A `CheckpointStore` keeps one checkpoint per scope (`checkpoint_scope`: one watched kind,
namespace and selector pair); `FileCheckpointStore` and `SQLiteCheckpointStore` implement it.
A `CheckpointWriter` batches an informer's saves so event delivery never waits on a disk.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry

from ..meta import JSONObject
from .checkpoint_scope import checkpoint_scope as checkpoint_scope
from .clock import SYSTEM_CLOCK, Clock
from .encoding import EncodedObjects
from .metrics import CheckpointMetrics

if TYPE_CHECKING:
    from .lazy_snapshot import LazySnapshot

log = logging.getLogger("controllerkit.cache.checkpoint")


class Checkpoint:
    """A resourceVersion and, optionally, the cache contents at exactly that resourceVersion.

    The pair must be consistent: the objects are what a list at `resource_version` would return
    (watching from `resource_version` then replays every later change). They come in two forms,
    each made from the other on first use and then kept:
    - `objects`: the decoded JSON dicts, treated as immutable;
    - `encoded`: their compact JSON bytes with keys and resourceVersions (`EncodedObjects`),
      what a compact store holds and what a stored checkpoint contains.
    Converting is one decode or encode per object: off the event loop for a large snapshot.
    Both are None when only the resourceVersion is kept; a restart then lists once instead of
    loading a snapshot.

    `transform` is the `transform_identity` of the transform the objects went through (None:
    unknown). A compact store restores the bytes as they are only when it equals its own;
    otherwise every object is decoded and transformed again. Checkpoints compare equal when
    their resourceVersions, transforms and decoded objects are equal.
    """

    __slots__ = ("_encoded", "_lazy", "_objects", "_resource_version", "_transform")

    def __init__(
        self,
        resource_version: str,
        objects: list[JSONObject] | None = None,
        *,
        encoded: EncodedObjects | None = None,
        transform: str | None = None,
        lazy: LazySnapshot | None = None,
    ) -> None:
        if sum(given is not None for given in (objects, encoded, lazy)) > 1:
            raise ValueError("a checkpoint takes its objects decoded, encoded or lazy, not two")
        self._resource_version = resource_version
        self._objects = objects
        self._encoded = encoded
        self._lazy = lazy
        self._transform = transform

    @property
    def resource_version(self) -> str:
        return self._resource_version

    @property
    def transform(self) -> str | None:
        return self._transform

    @property
    def lazy(self) -> LazySnapshot | None:
        """The snapshot still in its file (`FileCheckpointStore.load_lazy`), until read whole."""
        return self._lazy if self._encoded is None else None

    @property
    def has_objects(self) -> bool:
        """Whether the checkpoint holds a snapshot (possibly an empty one)."""
        return self._objects is not None or self._encoded is not None or self._lazy is not None

    @property
    def object_count(self) -> int | None:
        """How many objects the snapshot holds; None without a snapshot."""
        if self._objects is not None:
            return len(self._objects)
        if self._lazy is not None:
            return len(self._lazy)
        return None if self._encoded is None else len(self._encoded)

    @property
    def objects(self) -> list[JSONObject] | None:
        """The snapshot's objects, decoded (on first use, if it was given encoded)."""
        if self._objects is None:
            encoded = self.encoded
            if encoded is not None:
                self._objects = encoded.decoded()
        return self._objects

    @property
    def encoded(self) -> EncodedObjects | None:
        """The snapshot's objects, encoded (on first use, if it was given decoded).

        A lazy snapshot is read whole (and its file closed) on first use: blocking, and
        `CorruptCheckpoint` if its file turns out damaged.
        """
        if self._encoded is None and self._lazy is not None:
            self._encoded = self._lazy.read_all()
        if self._encoded is None and self._objects is not None:
            self._encoded = EncodedObjects.of(self._objects)
        return self._encoded

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Checkpoint):
            return NotImplemented
        return (self._resource_version == other._resource_version
                and self._transform == other._transform and self.objects == other.objects)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Checkpoint(resource_version={self._resource_version!r}, "
                f"objects={self.object_count}, transform={self._transform!r})")


class CheckpointStore(Protocol):
    """Durable storage of one checkpoint per scope.

    Guarantees: `save` replaces the scope's checkpoint atomically (a crash during `save` leaves the
    previous checkpoint or the new one, never a mix) and does no blocking I/O on the event loop.
    `load` never raises for unreadable or corrupt data: it logs a warning and returns None, the
    same as for a scope never saved, so the caller falls back to a cold start.
    Not guaranteed: ordering between concurrent saves of the same scope (one writer per scope).
    """

    async def load(self, scope: str) -> Checkpoint | None:
        """The scope's last saved checkpoint, or None when there is none usable."""
        ...

    async def save(self, scope: str, checkpoint: Checkpoint) -> None:
        """Replace the scope's checkpoint; durable once this returns. Raises on I/O errors."""
        ...

    async def aclose(self) -> None:
        """Release files and threads; safe to call more than once."""
        ...


# A store that keeps failing is retried no faster than this, whatever the save interval.
_MIN_RETRY_DELAY = 1.0
# How often a writer looks again whether an incomplete cache (see `can_save`) is whole.
_INCOMPLETE_RETRY_DELAY = 0.05


@dataclass(frozen=True, slots=True)
class CheckpointWriterStats:
    """What a `CheckpointWriter` did so far, for metrics and tests."""

    save_attempts: int = 0
    saves: int = 0
    failures: int = 0
    last_saved_resource_version: str = ""
    last_save_seconds: float = 0.0
    last_error: str = ""


class CheckpointWriter:
    """Saves one scope's checkpoint in batches, off the event-delivery path.

    `notify()` says the cache changed; it is synchronous, O(1) and never waits. A background task
    (started by the first `notify()`, owned by the writer, ended by `aclose()`) then saves:
    - at most one save is in flight at a time;
    - saves start at least `interval` seconds apart, except that a save starts as soon as the
      previous one finished once `max_pending_events` notifications accumulated (so a busy
      cache stays within the server's replay window);
    - the first notification after a quiet period is saved right away (no earlier save in the
      last `interval`), later ones are coalesced into the next save;
    - saving takes at most `max_duty_cycle` of the time: after a save that took d seconds the
      next starts no sooner than d / max_duty_cycle seconds after it, even with
      `max_pending_events` reached (a 100k-object cache saved under constant change would
      otherwise spend most of a core re-serialising itself);
    - `snapshot()` is called when a save starts, on the event loop, so it must be cheap (a list
      of references to the cached dicts or bytes, which the save serialises off the loop) and
      must return a consistent pair (the objects at exactly that resourceVersion);
    - a failed save is logged and retried `interval` seconds (at least one second) later with
      the then-current snapshot; nothing raises into `notify()`.
    Only notified changes are saved: a writer that was never notified writes nothing, so an
    informer stopped before its first sync never checkpoints a half-filled cache.
    `can_save`, if given, says whether the cache holds a complete state: while it says no (a
    snapshot still loading, or a damaged one awaiting its relist), saves wait, and `flush()`
    and `aclose()` skip theirs (logged), so an incomplete cache is never saved.
    `flush()` saves now (waiting for an in-flight save first) and raises if that save fails;
    `aclose()` stops the task and flushes, logging instead of raising. The writer never closes
    the store, which may be shared by many scopes. `notify()` must be called on the event loop
    that runs the writer; notifications after `aclose()` are ignored.
    With a `registry`, saves and failures are exported there under the `scope` label (the
    `controllerkit_checkpoint_*` families of `controllerkit.cache.metrics`); without one
    they are only counted in `stats`.
    """

    def __init__(
        self,
        store: CheckpointStore,
        scope: str,
        snapshot: Callable[[], Checkpoint],
        *,
        interval: float = 1.0,
        max_pending_events: int = 1000,
        max_duty_cycle: float = 0.1,
        clock: Clock = SYSTEM_CLOCK,
        can_save: Callable[[], bool] | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if interval < 0:
            raise ValueError(f"interval must be >= 0, not {interval}")
        if max_pending_events < 1:
            raise ValueError(f"max_pending_events must be >= 1, not {max_pending_events}")
        if not 0 < max_duty_cycle <= 1:
            raise ValueError(f"max_duty_cycle must be in (0, 1], not {max_duty_cycle}")
        self._store = store
        self._scope = scope
        self._snapshot = snapshot
        self._interval = interval
        self._max_pending_events = max_pending_events
        self._max_duty_cycle = max_duty_cycle
        self._clock = clock
        self._can_save = can_save
        self._metrics = CheckpointMetrics(scope, registry)
        # Notifications not yet covered by a started save.
        self._pending = 0
        self._last_save_failed = False
        # When the next save may start: regularly, and early (max_pending_events reached).
        self._next_save_at = float("-inf")
        self._next_early_save_at = float("-inf")
        self._wake = asyncio.Event()
        self._save_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._stats = CheckpointWriterStats()

    @property
    def scope(self) -> str:
        return self._scope

    @property
    def stats(self) -> CheckpointWriterStats:
        return self._stats

    @property
    def pending_events(self) -> int:
        """Notifications that no started save covers yet."""
        return self._pending

    def notify(self) -> None:
        """Record that the cache changed; a save follows (batched).

        Never blocks and never raises when called on the event loop (the first call starts the
        background task there).
        """
        if self._closing:
            return
        self._pending += 1
        # Wake the task only on the transitions it acts on, so a burst costs one set() or two.
        if self._pending == 1 or self._pending == self._max_pending_events:
            self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"checkpoint-writer:{self._scope}"
            )

    async def flush(self) -> None:
        """Save now if a notification is unsaved (after any in-flight save); raise on failure."""
        await self._save(raise_errors=True)

    async def aclose(self) -> None:
        """Stop the background task and save the latest state; safe to call more than once."""
        if self._closing:
            return
        self._closing = True
        self._wake.set()
        if self._task is not None:
            try:
                # The task finishes its current save (never cut in half by cancellation) and exits.
                await self._task
            except BaseException:
                self._task.cancel()
                raise
        # A failure is logged, not raised: a shutdown path has nobody to hand it to.
        await self._save(raise_errors=False)

    async def __aenter__(self) -> CheckpointWriter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self) -> None:
        while not self._closing:
            if self._pending == 0:
                self._wake.clear()
                await self._wake.wait()
                continue
            due = self._next_save_at
            if self._pending >= self._max_pending_events and not self._last_save_failed:
                due = min(due, self._next_early_save_at)
            delay = due - self._clock.monotonic()
            if delay > 0:
                self._wake.clear()
                await self._sleep_or_wake(delay)
                continue
            if self._can_save is not None and not self._can_save():
                await self._sleep_or_wake(max(delay, _INCOMPLETE_RETRY_DELAY))
                continue
            await self._save(raise_errors=False)

    async def _sleep_or_wake(self, delay: float) -> None:
        sleeper = asyncio.ensure_future(self._clock.sleep(delay))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    async def _save(self, *, raise_errors: bool) -> None:
        async with self._save_lock:
            if self._pending == 0:
                return
            if self._can_save is not None and not self._can_save():
                log.info("checkpoint of scope %s not saved: the cache is incomplete", self._scope)
                return
            covered = self._pending
            self._pending = 0
            started = self._clock.monotonic()
            # Refined once the save's duration is known; set now for a save that flush() runs
            # while the background task waits.
            self._next_save_at = started + self._interval
            self._record(save_attempts=self._stats.save_attempts + 1)
            try:
                checkpoint = self._snapshot()
                await self._store.save(self._scope, checkpoint)
            except BaseException as error:
                # Whatever the snapshot covered is still unsaved: count it again for the retry.
                self._pending += covered
                if not isinstance(error, Exception):
                    raise
                retry_delay = max(self._interval, _MIN_RETRY_DELAY)
                self._next_save_at = started + retry_delay
                self._last_save_failed = True
                self._record(failures=self._stats.failures + 1, last_error=repr(error))
                self._metrics.save_failure()
                log.warning("checkpoint save for scope %s failed, retrying in %.1fs: %r",
                            self._scope, retry_delay, error)
                if raise_errors:
                    raise
                return
            self._last_save_failed = False
            duration = self._clock.monotonic() - started
            # A save of a big cache takes long: space saves so that they take at most
            # max_duty_cycle of the time, whatever interval and max_pending_events ask for.
            self._next_early_save_at = started + duration / self._max_duty_cycle
            self._next_save_at = max(started + self._interval, self._next_early_save_at)
            self._metrics.save(duration)
            self._record(
                saves=self._stats.saves + 1,
                last_saved_resource_version=checkpoint.resource_version,
                last_save_seconds=duration,
                last_error="",
            )

    def _record(self, **changes: Any) -> None:
        self._stats = dataclasses.replace(self._stats, **changes)

"""`SnapshotLoader`: the background half of a lazy warm restart, and its failure path.

After a lazy restore (`Store.restore_lazy`) the reflector reports synced at once; the loader
then reads the objects still in the checkpoint file a span at a time, yielding to the event
loop after each span, and closes the file when done. Reads of objects it has not reached yet
are served from the file meanwhile, each checked against its own checksum.

If the file turns out damaged or cut off, on whichever read finds it, the store drops the
objects not read yet; the loader logs a warning, counts it (`stats.damaged_snapshots`, and
`controllerkit_checkpoint_load_failures_total` when the informer has a registry) and
interrupts the watch, and the reflector relists and diffs, as after 410 Expired: handlers
receive ADDED for the dropped objects that still exist (the snapshot's version of them was
never delivered), and the cache is whole again.
Until that relist has completed, `complete` is false and the checkpoint writer saves nothing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import anyio.lowlevel

from ..client.protocol import WatchEvent
from .checkpoint_codec import CorruptCheckpoint
from .metrics import CheckpointMetrics, ReflectorStats
from .store import Store

logger = logging.getLogger("controllerkit.cache.reflector")


class SnapshotDamaged(Exception):
    """The lazily loaded snapshot is damaged: the store needs a relist to be whole."""


class SnapshotLoader:
    """Loads the rest of `store`'s lazy snapshot in the background; one per reflector.

    Guarantees: `complete` is false from a lazy restore until every object was read, or, after
    damage, until `relisted()`; `load_rest()` (a task of the reflector's task group) reads the
    file a span per event-loop turn; `finish()` reads what is left at once (the store still
    reads on demand after `load_rest()` was cancelled).
    """

    def __init__(self, store: Store, scope: str, what: str, stats: ReflectorStats,
                 metrics: CheckpointMetrics) -> None:
        self._store = store
        self._scope = scope
        self._what = what
        self._stats = stats
        self._metrics = metrics
        self._damaged = False
        # The watch that damage interrupts, while one runs over a partly loaded store.
        self._watching: anyio.CancelScope | None = None

    @property
    def complete(self) -> bool:
        """Whether the store holds every object of a complete state (nothing in a file, no
        damage awaiting a relist)."""
        return not self._damaged and not self._store.unloaded

    @property
    def loading(self) -> bool:
        """Whether the store has a snapshot still in a file (`load_rest()` has work)."""
        return self._store.unloaded > 0

    def on_damage(self, error: CorruptCheckpoint, dropped: int) -> None:
        """`Store.restore_lazy`'s damage callback."""
        self._stats.damaged_snapshots += 1
        self._metrics.load_failure()
        logger.warning("%s: the checkpoint snapshot is damaged (%s); %d objects not read yet "
                       "were dropped; relisting and diffing against the rest", self._what,
                       error, dropped)
        self._damaged = True
        if self._watching is not None:
            self._watching.cancel()

    async def load_rest(self) -> None:
        """Read the snapshot still in the file, one span per event-loop turn, until done."""
        store = self._store
        more = store.load_step()
        while more:
            # One span per turn: events and reads go on between them.
            await anyio.lowlevel.checkpoint()
            more = store.load_step()

    async def watch(self, consume: Callable[[AsyncIterator[WatchEvent]], Awaitable[int]],
                    stream: AsyncIterator[WatchEvent]) -> int:
        """`consume(stream)`, interrupted by `SnapshotDamaged` if damage is found meanwhile."""
        if self._damaged:
            raise SnapshotDamaged
        if not self._store.unloaded:
            return await consume(stream)
        count = 0
        try:
            with anyio.CancelScope() as self._watching:
                count = await consume(stream)
        except Exception:
            if self._damaged:
                raise SnapshotDamaged from None  # the relist supersedes whatever it was
            raise
        finally:
            self._watching = None
        if self._damaged:
            raise SnapshotDamaged
        return count

    def relisted(self) -> None:
        """The store was replaced by a complete list: whole again."""
        self._damaged = False

    def finish(self) -> None:
        """Read whatever is left in the file now (on shutdown, before the last save)."""
        self._store.load_all()

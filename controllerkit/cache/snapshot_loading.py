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

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

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
    damage, until `relisted()`; `finish()` reads what is left at once; `aclose()` stops the
    background task (the store still reads on demand afterwards).
    """

    def __init__(self, store: Store, scope: str, what: str, stats: ReflectorStats,
                 metrics: CheckpointMetrics) -> None:
        self._store = store
        self._scope = scope
        self._what = what
        self._stats = stats
        self._metrics = metrics
        self._damaged = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def complete(self) -> bool:
        """Whether the store holds every object of a complete state (nothing in a file, no
        damage awaiting a relist)."""
        return not self._damaged.is_set() and not self._store.unloaded

    def on_damage(self, error: CorruptCheckpoint, dropped: int) -> None:
        """`Store.restore_lazy`'s damage callback."""
        self._stats.damaged_snapshots += 1
        self._metrics.load_failure()
        logger.warning("%s: the checkpoint snapshot is damaged (%s); %d objects not read yet "
                       "were dropped; relisting and diffing against the rest", self._what,
                       error, dropped)
        self._damaged.set()

    def start(self) -> None:
        """Start loading in the background if the store has a snapshot still in a file."""
        if self._store.unloaded and self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"snapshot-loader:{self._scope}")

    async def _run(self) -> None:
        store = self._store
        more = store.load_step()
        while more:
            # One span per turn: events and reads go on between them.
            await asyncio.sleep(0)
            more = store.load_step()

    async def watch(self, consume: Callable[[AsyncIterator[WatchEvent]], Awaitable[int]],
                    stream: AsyncIterator[WatchEvent]) -> int:
        """`consume(stream)`, interrupted by `SnapshotDamaged` if damage is found meanwhile."""
        if self._damaged.is_set():
            raise SnapshotDamaged
        if not self._store.unloaded:
            return await consume(stream)
        consuming = asyncio.ensure_future(consume(stream))
        damage = asyncio.ensure_future(self._damaged.wait())
        try:
            await asyncio.wait({consuming, damage}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            damage.cancel()
            if not consuming.done():
                consuming.cancel()
                await asyncio.gather(consuming, return_exceptions=True)
        if consuming.cancelled() or self._damaged.is_set():
            if not consuming.cancelled():
                consuming.exception()  # Retrieved: the relist supersedes whatever it was.
            raise SnapshotDamaged
        return consuming.result()

    def relisted(self) -> None:
        """The store was replaced by a complete list: whole again."""
        self._damaged.clear()

    def finish(self) -> None:
        """Read whatever is left in the file now (on shutdown, before the last save)."""
        self._store.load_all()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

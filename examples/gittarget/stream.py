"""A target's event stream: changes of its mirrored objects, committed as they happen.

The stream registers its handlers with the shared informers *before* the snapshot reads the
caches, and buffers what arrives (the latest change per file) until the snapshot is done: a
change that lands while the snapshot runs is never lost, and one the snapshot already wrote is
not committed twice (the file already holds that content). `go_live` replays the buffer and
then commits each change as it comes, in order, one at a time.

Handlers run synchronously on the informers' dispatch; they only queue. The consumer task is
owned by the `MirrorHub`. A failed commit (git unreachable, say) puts the stream in `FAILED`
with the error kept: the target reports `EventStreamLive=False/Disconnected` and takes a new
snapshot, which converges whatever the stream missed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from controllerkit.cache import (
    DeletedFinalStateUnknown,
    EventHandlerFuncs,
    HandlerRegistration,
    SharedInformer,
)
from controllerkit.meta import JSONObject, object_key

from .folder import MirroredObject, TargetFolder
from .mirror import MirrorHub
from .rules import MirrorSource

logger = logging.getLogger(__name__)

Now = Callable[[], datetime]


class StreamState(StrEnum):
    """Where a stream is in its life (`status.stream.status`)."""

    BUFFERING = "Buffering"
    LIVE = "Live"
    FAILED = "Failed"


@dataclass(frozen=True)
class _Change:
    """The latest state of one mirrored object (`deleted`: it is gone)."""

    source: MirrorSource
    obj: JSONObject
    deleted: bool


class TargetStream:
    """The changes of one target's mirrored objects; see the module doc.

    `on_commit` is called (on the event loop) after each commit and when the stream fails, so
    the target's status can be refreshed.
    """

    def __init__(self, hub: MirrorHub, sources: Iterable[MirrorSource], folder: TargetFolder, *,
                 name: str, on_commit: Callable[[], None],
                 now: Now = lambda: datetime.now(UTC),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.hub = hub
        self.sources = tuple(sources)
        self.folder = folder
        self.name = name
        self.state = StreamState.BUFFERING
        self.error: str | None = None
        self.failed_at: float | None = None
        """`monotonic()` when the stream failed."""
        self.registered_time: datetime | None = None
        self.last_event_time: datetime | None = None
        self.commits = 0
        self._on_commit = on_commit
        self._now = now
        self._monotonic = monotonic
        self._informers: dict[MirrorSource, SharedInformer] = {}
        self._registrations: list[HandlerRegistration] = []
        self._buffer: dict[str, _Change] = {}
        self._queue: asyncio.Queue[_Change] = asyncio.Queue()
        self._consumer: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def informers(self) -> dict[MirrorSource, SharedInformer]:
        """The informer of each source (after `register`)."""
        return dict(self._informers)

    def register(self) -> None:
        """Take the sources' informers from the hub and start buffering their changes."""
        for source in self.sources:
            informer = self.hub.acquire(source)
            self._informers[source] = informer
            self._registrations.append(informer.add_handler(self._handler(source)))
        self.registered_time = self._now()

    async def wait_for_sync(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until every source's cache is complete (`CacheSyncTimeout` names the first one
        that is not, with its last error, after `timeout` seconds in all)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for informer in self._informers.values():
            await informer.wait_for_sync(max(0.0, deadline - loop.time()))

    def objects(self) -> list[MirroredObject]:
        """Every object the sources' caches hold now."""
        return [MirroredObject(obj, source.kind.plural)
                for source, informer in self._informers.items()
                for obj in informer.store.list()]

    async def go_live(self) -> None:
        """Replay the buffered changes, then commit every change as it arrives."""
        if self._closed:
            return
        for change in self._buffer.values():
            self._queue.put_nowait(change)
        self._buffer.clear()
        self.state = StreamState.LIVE
        self._consumer = await self.hub.spawn(self._consume(), name=f"stream {self.name}")

    async def close(self) -> None:
        """Stop: handlers removed, the consumer cancelled, the informers released."""
        self._closed = True
        for registration in self._registrations:
            registration.remove()
        self._registrations.clear()
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            consumer.cancel()
            await asyncio.wait({consumer})
        informers, self._informers = self._informers, {}
        for source in informers:
            await self.hub.release(source)

    # -- handlers: called synchronously by the informers --------------------------------------

    def _handler(self, source: MirrorSource) -> EventHandlerFuncs:
        def deleted(obj: JSONObject | DeletedFinalStateUnknown) -> None:
            last = obj.object if isinstance(obj, DeletedFinalStateUnknown) else obj
            self._offer(_Change(source, last, deleted=True))

        return EventHandlerFuncs(
            add=lambda obj: self._offer(_Change(source, obj, deleted=False)),
            update=lambda old, new: self._offer(_Change(source, new, deleted=False)),
            delete=deleted,
        )

    def _offer(self, change: _Change) -> None:
        if self._closed or self.state is StreamState.FAILED:
            return
        if self.state is StreamState.BUFFERING:
            path = self._path(change)
            self._buffer.pop(path, None)  # keep the buffer in arrival order of latest changes
            self._buffer[path] = change
        else:
            self._queue.put_nowait(change)

    def _path(self, change: _Change) -> str:
        try:
            return self.folder.path_of(MirroredObject(change.obj, change.source.kind.plural))
        except ValueError:
            # Not representable as a file; the consumer reports it. Keyed apart from files.
            namespace, name = object_key(change.obj)
            return f"\0{change.source.kind}/{namespace}/{name}"

    # -- the consumer ------------------------------------------------------------------------

    async def _consume(self) -> None:
        while True:
            change = await self._queue.get()
            try:
                commit = await self._apply(change)
            except Exception as error:
                # Contained here: the hub's task group must not end for one target's failure.
                self.state = StreamState.FAILED
                self.error = f"{type(error).__name__}: {error}"
                self.failed_at = self._monotonic()
                logger.warning("stream %s failed: %s", self.name, self.error)
                self._on_commit()
                return
            if commit is not None:
                self.commits += 1
                self.last_event_time = self._now()
                self._on_commit()

    async def _apply(self, change: _Change) -> str | None:
        item = MirroredObject(change.obj, change.source.kind.plural)
        if not change.deleted:
            return await self.folder.write(item)
        if self._still_selected(change):
            return None
        return await self.folder.remove(item)

    def _still_selected(self, change: _Change) -> bool:
        """Whether another source of this target still holds the deleted object (rules can
        overlap: the file stays while any of them selects the object)."""
        key = object_key(change.obj)
        return any(informer.store.get(key) is not None
                   for source, informer in self._informers.items()
                   if source != change.source and source.kind == change.source.kind)

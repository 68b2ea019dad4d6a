"""`EventRecorder`: core/v1 Events about objects, aggregated and rate-limited like client-go's.

```python
async with EventRecorder(client, component="widget-controller") as recorder:
    recorder.event(widget, "Warning", "BackendUnavailable", "backend 10.0.0.7 refused")
    ...
```

`event()` never blocks and never raises for a failed write: it queues the Event, and the
recorder's writer (its `run()`) writes it. What happens to one call, in order:

1. Spam limit: each involved object (with the event source) has a token bucket, by default a
   burst of 25 refilled at one token per 5 minutes. A call finding the bucket empty is dropped
   (logged at debug level).
2. Aggregation: a repeat of the same (involvedObject, type, reason, message, source) within
   `aggregation_window` of its previous occurrence does not create a new Event: it raises
   the existing Event's `count` and `lastTimestamp` with a merge patch. Repeats still waiting
   to be written are coalesced into one write.
3. Write: Events are named `<object-name>.<hex>` and live in the object's namespace
   (`default` for cluster-scoped objects). A patch that finds its Event gone creates it again.
   Any other failure is logged at warning level and the Event is lost; writes are not retried.

Not guaranteed: delivery (Events are best-effort, as in Kubernetes), the order of writes for
different objects, or that Events with different messages are combined (client-go's
"similar events" aggregation is not done).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import anyio
from anyio.abc import TaskStatus

from .client.protocol import Client
from .clock import SYSTEM_CLOCK, Clock
from .errors import NotFound
from .lifecycle import Lifecycle
from .meta import EVENT, JSONObject
from .objects import to_json_object

__all__ = ["EventRecorder", "EventType"]

logger = logging.getLogger(__name__)

EventType = Literal["Normal", "Warning"]

DEFAULT_SPAM_BURST = 25
DEFAULT_SPAM_REFILL_INTERVAL = 300.0
DEFAULT_AGGREGATION_WINDOW = 600.0
DEFAULT_MAX_QUEUED = 1000
# Bounds the memory of the aggregation and spam caches, as client-go's LRU caches do.
_CACHE_SIZE = 4096

_ObjectKey = tuple[str, ...]


@dataclass
class _Occurrence:
    """The Event a repeat updates: its name, namespace, count and when it was last seen."""

    name: str
    namespace: str
    count: int
    first_timestamp: str
    last_seen: float


@dataclass
class _Write:
    """A queued write: the whole Event body, and whether it is new (create) or a repeat."""

    body: JSONObject
    create: bool


class _TokenBucket:
    """A token bucket kept as one instant: the time at which it was (virtually) empty.

    The tokens are `(now - empty_at) / refill_interval`, capped at the burst. Keeping the
    instant rather than a running float count makes a refill due at an exact time happen at
    exactly that time, not one rounding error later.
    """

    __slots__ = ("empty_at",)

    def __init__(self, burst: int, refill_interval: float, now: float) -> None:
        self.empty_at = now - burst * refill_interval

    def take(self, now: float, burst: int, refill_interval: float) -> bool:
        self.empty_at = max(self.empty_at, now - burst * refill_interval)
        if now - self.empty_at < refill_interval:
            return False
        self.empty_at += refill_interval
        return True


def _wall_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder(Lifecycle):
    """Records core/v1 Events about objects from one component, without blocking the caller.

    Lifecycle (`controllerkit.lifecycle`): the writer is `run()`, until `stop()`, or `async
    with recorder:`; a `Manager` runs its own. Started at once. `stop()` writes what is
    queued, then ends `run()`; cancelling `run()` drops what is still queued. Runs once.

    Guarantees: `event()` returns at once and never raises for API failures; the writes happen
    one at a time in `run()`, in the task that runs it. Events recorded before `run()` wait in
    the queue. `flush()` returns once every Event queued before it has been written (or
    failed) by the running writer. Repeats are aggregated and each object is rate-limited (see
    the module docstring). When more than `max_queued` writes wait, new Events are dropped
    (logged at debug level). Events recorded after `stop()` are dropped.

    `clock` times the spam limit and the aggregation window; Event timestamps are wall-clock
    UTC from `wall_time`.
    """

    def __init__(
        self,
        client: Client,
        *,
        component: str,
        host: str = "",
        clock: Clock = SYSTEM_CLOCK,
        spam_burst: int = DEFAULT_SPAM_BURST,
        spam_refill_interval: float = DEFAULT_SPAM_REFILL_INTERVAL,
        aggregation_window: float = DEFAULT_AGGREGATION_WINDOW,
        max_queued: int = DEFAULT_MAX_QUEUED,
        wall_time: Callable[[], str] = _wall_time,
    ) -> None:
        """`component` and `host` become the Event's `source` (and reporting component and
        instance). `spam_refill_interval` is the seconds per refilled token."""
        if not component:
            raise ValueError("an event source needs a component name")
        if spam_burst < 1 or spam_refill_interval <= 0:
            raise ValueError(f"the spam limit needs a burst >= 1 and a positive refill "
                             f"interval, not {spam_burst} and {spam_refill_interval}")
        self._client = client
        self.component = component
        self.host = host
        self._clock = clock
        self._burst = spam_burst
        self._refill_interval = spam_refill_interval
        self._window = aggregation_window
        self._wall_time = wall_time
        self._queue: asyncio.Queue[_Write] = asyncio.Queue(max_queued)
        # Repeats not yet written, by Event name: a further repeat updates these in place.
        self._pending: dict[str, _Write] = {}
        self._occurrences: OrderedDict[_ObjectKey, _Occurrence] = OrderedDict()
        self._buckets: OrderedDict[_ObjectKey, _TokenBucket] = OrderedDict()
        self._last_name_stamp = 0
        self._started = False
        self._closed = False
        # The writer's wait for the next write, cancelled by stop() to end an idle writer.
        self._idle: anyio.CancelScope | None = None

    # -- recording ---------------------------------------------------------------------------

    def normal(self, obj: object, reason: str, message: str) -> None:
        """Queue a Normal Event about `obj` (see `event`)."""
        self.event(obj, "Normal", reason, message)

    def warning(self, obj: object, reason: str, message: str) -> None:
        """Queue a Warning Event about `obj` (see `event`)."""
        self.event(obj, "Warning", reason, message)

    def event(self, obj: object, type: EventType, reason: str, message: str) -> None:
        """Queue an Event about `obj`: a dict, a model or a kubernetes-asyncio model with
        apiVersion, kind and metadata.

        Raises ValueError for a `type` other than Normal or Warning (a programming error);
        nothing else. Must be called on the event loop the recorder writes from.
        """
        if type not in ("Normal", "Warning"):
            raise ValueError(f"an Event type is Normal or Warning, not {type!r}")
        if self._closed:
            logger.debug("event %s on a stopped recorder dropped", reason)
            return
        involved = _involved_object(to_json_object(obj))
        source = (self.component, self.host)
        object_key = (*source, *(str(involved.get(field, "")) for field in
                                 ("apiVersion", "kind", "namespace", "name", "uid")))
        now = self._clock.monotonic()
        if not self._allowed(object_key, now):
            logger.debug("event %s %s for %s/%s dropped by the spam limit", type, reason,
                         involved.get("namespace", ""), involved.get("name", ""))
            return
        occurrence_key = (*object_key, type, reason, message)
        occurrence = self._occurrences.get(occurrence_key)
        stamp = self._wall_time()
        if occurrence is not None and now - occurrence.last_seen <= self._window:
            occurrence.count += 1
            occurrence.last_seen = now
            self._occurrences.move_to_end(occurrence_key)
            pending = self._pending.get(occurrence.name)
            if pending is not None:
                pending.body["count"] = occurrence.count
                pending.body["lastTimestamp"] = stamp
                return
            create = False
        else:
            occurrence = _Occurrence(self._event_name(involved), _event_namespace(involved),
                                     1, stamp, now)
            self._occurrences[occurrence_key] = occurrence
            _trim(self._occurrences)
            create = True
        body = self._event_body(involved, occurrence, type, reason, message, stamp)
        write = _Write(body, create)
        try:
            self._queue.put_nowait(write)
        except asyncio.QueueFull:
            logger.debug("event %s %s for %s dropped: %d writes already queued", type,
                         reason, occurrence.name, self._queue.maxsize)
            return
        self._pending[occurrence.name] = write

    def _allowed(self, object_key: _ObjectKey, now: float) -> bool:
        bucket = self._buckets.get(object_key)
        if bucket is None:
            bucket = self._buckets[object_key] = _TokenBucket(
                self._burst, self._refill_interval, now)
            _trim(self._buckets)
        else:
            self._buckets.move_to_end(object_key)
        return bucket.take(now, self._burst, self._refill_interval)

    def _event_name(self, involved: Mapping[str, Any]) -> str:
        # client-go names Events `<object>.<unix nanoseconds in hex>`; the stamp is kept
        # increasing so two Events in the same nanosecond still get distinct names.
        stamp = max(time.time_ns(), self._last_name_stamp + 1)
        self._last_name_stamp = stamp
        return f"{involved.get('name', '')}.{stamp:x}"

    def _event_body(self, involved: JSONObject, occurrence: _Occurrence, type: str,
                    reason: str, message: str, stamp: str) -> JSONObject:
        return {
            "apiVersion": EVENT.api_version,
            "kind": EVENT.kind,
            "metadata": {"name": occurrence.name, "namespace": occurrence.namespace},
            "involvedObject": involved,
            "type": type,
            "reason": reason,
            "message": message,
            "source": {"component": self.component, **({"host": self.host} if self.host
                                                        else {})},
            "reportingComponent": self.component,
            "reportingInstance": self.host,
            "firstTimestamp": occurrence.first_timestamp,
            "lastTimestamp": stamp,
            "count": occurrence.count,
        }

    # -- writing -----------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"EventRecorder({self.component!r})"

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Write queued Events until `stop()`, then write what is queued and return.

        Reports started at once. Runs once.
        """
        if self._started:
            raise RuntimeError(f"{self!r} runs once")
        self._started = True
        task_status.started()
        while (write := await self._next_write()) is not None:
            try:
                name = write.body["metadata"]["name"]
                if self._pending.get(name) is write:
                    del self._pending[name]
                await self._write(write)
            finally:
                self._queue.task_done()

    async def _next_write(self) -> _Write | None:
        """The next queued write; None once stopped with nothing left to write."""
        while not (self._closed and self._queue.empty()):
            try:
                with anyio.CancelScope() as self._idle:
                    if self._closed:
                        return self._queue.get_nowait()  # draining: never wait
                    return await self._queue.get()
            finally:
                self._idle = None
            # stop() ended the wait: look at the queue again.
        return None

    def stop(self) -> None:
        """Ask the writer to write what is queued and end; Events recorded from now on are
        dropped. Idempotent; returns at once."""
        self._closed = True
        if self._idle is not None:
            self._idle.cancel()

    async def _write(self, write: _Write) -> None:
        body = write.body
        meta = body["metadata"]
        try:
            if not write.create:
                try:
                    await self._client.patch(
                        EVENT, meta["name"], {"count": body["count"],
                                              "lastTimestamp": body["lastTimestamp"]},
                        namespace=meta["namespace"])
                    return
                except NotFound:
                    pass  # the Event expired or was deleted: record it anew, with its count
            await self._client.create(EVENT, body, namespace=meta["namespace"])
        except asyncio.CancelledError:
            raise
        except Exception as error:
            logger.warning("could not write Event %s/%s (%s %s about %s %s): %s",
                           meta["namespace"], meta["name"], body["type"], body["reason"],
                           body["involvedObject"].get("kind", ""),
                           body["involvedObject"].get("name", ""), error)

    async def flush(self) -> None:
        """Wait until every Event queued so far has been written or has failed (by a running
        writer)."""
        await self._queue.join()


def _involved_object(obj: Mapping[str, Any]) -> JSONObject:
    meta = obj.get("metadata") or {}
    fields = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "resourceVersion": meta.get("resourceVersion"),
    }
    return {key: str(value) for key, value in fields.items() if value}


def _event_namespace(involved: Mapping[str, Any]) -> str:
    # Events about cluster-scoped objects live in `default`, as client-go records them.
    return str(involved.get("namespace") or "default")


def _trim(cache: OrderedDict[_ObjectKey, Any]) -> None:
    while len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)

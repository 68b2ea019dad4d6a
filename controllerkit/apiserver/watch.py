"""Watch streams: a registration in the store and the chunked JSON-lines response it feeds.

A `Watcher` is offered every committed event of its group-resource synchronously, filters it
(namespace, label and field selectors, with the real server's ADDED/DELETED synthesis when an
object moves into or out of the selection) and queues it. The HTTP side drains the queue in
batches. A watcher that falls more than `capacity` events behind is closed, not waited for: the
client sees the stream end and re-watches from the last resourceVersion it received, which is
what the real server does with unresponsive watchers. Writers never wait for watchers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from .codec import encode
from .resources import GroupResource, JSONObject
from .selectors import FieldSelector, LabelSelector
from .store import StoredEvent

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
BOOKMARK = "BOOKMARK"

# A queued item: (event type, object, the stored event when the line can be shared).
QueuedEvent = tuple[str, JSONObject, StoredEvent | None]


class Watcher:
    """One watch request's view of the store."""

    def __init__(
        self,
        gr: GroupResource,
        *,
        api_version: str,
        kind: str,
        namespace: str | None,
        label_selector: LabelSelector,
        field_selector: FieldSelector,
        capacity: int,
    ) -> None:
        self.gr = gr
        self.api_version = api_version
        self.kind = kind
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.capacity = capacity
        self.closed = False
        # Renders each object differently (Table rows for kubectl); disables line sharing.
        self.transform: Callable[[JSONObject], JSONObject] | None = None
        self._pending: deque[QueuedEvent] = deque()
        self._wakeup = asyncio.Event()

    def matches(self, obj: JSONObject) -> bool:
        meta = obj["metadata"]
        if self.namespace is not None and meta.get("namespace", "") != self.namespace:
            return False
        if not self.label_selector.is_empty and not self.label_selector.matches(
            meta.get("labels") or {}
        ):
            return False
        return self.field_selector.is_empty or self.field_selector.matches(obj)

    def offer(self, event: StoredEvent) -> None:
        """Queue a live event; a watcher too far behind is closed instead."""
        if self.closed:
            return
        item = self._as_seen(event)
        if item is None:
            return
        if len(self._pending) >= self.capacity:
            self.close()
            return
        self._pending.append(item)
        self._wakeup.set()

    def replay(self, event: StoredEvent) -> None:
        """Queue a historical event at watch start (not subject to the capacity)."""
        item = self._as_seen(event)
        if item is not None:
            self._pending.append(item)

    def queue_initial(self, event_type: str, obj: JSONObject) -> None:
        self._pending.append((event_type, obj, None))

    def queue_bookmark(self, resource_version: int, *, initial_events_end: bool) -> None:
        marker = {"resourceVersion": resource_version, "initialEventsEnd": initial_events_end}
        self._pending.append((BOOKMARK, marker, None))

    def _as_seen(self, event: StoredEvent) -> QueuedEvent | None:
        """The event as this watcher's selection sees it, or None if it does not see it."""
        if event.type == "MODIFIED":
            now = self.matches(event.object)
            before = event.previous is not None and self.matches(event.previous)
            if now and before:
                return ("MODIFIED", event.object, event)
            if now:
                return ("ADDED", event.object, None)
            if before and event.previous is not None:
                # As the real server: the state that matched, at the event's resourceVersion.
                left = {**event.previous, "metadata": {
                    **event.previous["metadata"],
                    "resourceVersion": event.object["metadata"]["resourceVersion"]}}
                return ("DELETED", left, None)
            return None
        if self.matches(event.object):
            return (event.type, event.object, event)
        return None

    def close(self) -> None:
        self.closed = True
        self._wakeup.set()

    def take(self) -> list[QueuedEvent]:
        items = list(self._pending)
        self._pending.clear()
        self._wakeup.clear()
        return items

    async def wait(self, seconds: float) -> None:
        if self._pending or self.closed:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)

    def line(self, item: QueuedEvent) -> bytes:
        event_type, obj, stored = item
        if event_type == BOOKMARK:
            return self.bookmark_line(
                int(obj["resourceVersion"]), initial_events_end=bool(obj["initialEventsEnd"])
            )
        if self.transform is not None:
            obj = self.transform(as_version(obj, self.api_version))
            return encode({"type": event_type, "object": obj}) + b"\n"
        key = (event_type, self.api_version)
        if stored is not None:
            cached = stored.encoded.get(key)
            if cached is not None:
                return cached
        data = encode({"type": event_type, "object": as_version(obj, self.api_version)}) + b"\n"
        if stored is not None:
            stored.encoded[key] = data
        return data

    def bookmark_line(self, resource_version: int, *, initial_events_end: bool = False) -> bytes:
        metadata: dict[str, Any] = {"resourceVersion": str(resource_version)}
        if initial_events_end:
            metadata["annotations"] = {INITIAL_EVENTS_END: "true"}
        obj = {"kind": self.kind, "apiVersion": self.api_version, "metadata": metadata}
        return encode({"type": "BOOKMARK", "object": obj}) + b"\n"


def as_version(obj: JSONObject, api_version: str) -> JSONObject:
    """An object as read through a served version (CRD conversion strategy None)."""
    if obj.get("apiVersion") == api_version:
        return obj
    return {**obj, "apiVersion": api_version}


def error_line(status: JSONObject) -> bytes:
    return encode({"type": "ERROR", "object": status}) + b"\n"


async def pump(
    watcher: Watcher,
    write: Callable[[bytes], Awaitable[None]],
    *,
    current_resource_version: Callable[[], int],
    duration: float,
    bookmark_interval: float | None,
    max_events: int | None = None,
) -> None:
    """Send queued events until the timeout, the watcher closing, or the client leaving.

    Bookmarks go out when the stream has been quiet for `bookmark_interval`: at that moment the
    queue is empty, so every matching event up to the store's resourceVersion has been sent and
    the bookmark's resourceVersion is safe to resume from. `max_events` (fault injection) ends
    the stream after that many events.
    """
    deadline = time.monotonic() + duration
    last_sent = time.monotonic()
    sent = 0
    while True:
        now = time.monotonic()
        if now >= deadline:
            return
        wait = deadline - now
        if bookmark_interval is not None:
            wait = min(wait, max(0.0, last_sent + bookmark_interval - now))
        await watcher.wait(wait)
        items = watcher.take()
        if max_events is not None and sent + len(items) >= max_events:
            # An injected fault: the stream ends as a dropped connection would.
            items = items[: max_events - sent]
            await write(b"".join(watcher.line(item) for item in items))
            return
        sent += len(items)
        if items:
            await write(b"".join(watcher.line(item) for item in items))
            last_sent = time.monotonic()
        if watcher.closed and not items:
            return
        if watcher.closed:
            continue
        if (
            not items
            and bookmark_interval is not None
            and time.monotonic() - last_sent >= bookmark_interval
        ):
            await write(watcher.bookmark_line(current_resource_version()))
            last_sent = time.monotonic()

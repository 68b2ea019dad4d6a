"""Getting a complete state of one kind and scope: a paginated list, or a streaming list.

A streaming list (KEP-3157 "watch-list") is a watch with `sendInitialEvents=true` and
`resourceVersionMatch=NotOlderThan`: the server sends the current objects as ADDED events, then
a BOOKMARK annotated `k8s.io/initial-events-end: "true"` whose resourceVersion is the state's,
then keeps the same stream open for changes. The server never builds a list-sized response and
the client needs no second request to start watching.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..client.protocol import Client, WatchEvent, WatchOptions
from ..errors import BadRequest, Invalid
from ..meta import JSONObject, ObjectKey, ResourceKind, object_key

T = TypeVar("T")


class StreamingListUnsupported(Exception):
    """The server refused `sendInitialEvents` (it predates streaming lists or disabled them)."""


class StreamEndedEarly(Exception):
    """A streaming list's stream ended before the initial-events-end bookmark."""


@dataclass(frozen=True, slots=True)
class InitialState(Generic[T]):
    """The objects of a complete state (each as `prepare` made it) and its resourceVersion."""

    objects: list[T]
    resource_version: str


async def list_pages(
    client: Client,
    kind: ResourceKind,
    *,
    namespace: str | None,
    label_selector: str,
    field_selector: str,
    page_size: int | None,
    resource_version: str,
    prepare: Callable[[JSONObject], T],
) -> tuple[list[T], str]:
    """Every object of a (possibly paginated) list, prepared, and the list's resourceVersion.

    Pages after the first carry only the continue token: it pins the first page's snapshot.
    An expired continue token raises `Expired`; the caller lists again. `prepare` (the store's:
    transform, and encode for a compact store) is applied to each page as it arrives, so only
    one page of objects as received is ever held.
    """
    objects: list[T] = []
    list_resource_version = ""
    token = ""
    while True:
        page = await client.list(
            kind,
            namespace=namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            limit=page_size,
            continue_token=token,
            resource_version="" if token else resource_version,
        )
        objects.extend(map(prepare, page.items))
        if not token:
            list_resource_version = page.resource_version
        token = page.continue_token
        if not token:
            return objects, list_resource_version


async def stream_initial(
    client: Client,
    kind: ResourceKind,
    options: WatchOptions,
    *,
    namespace: str | None,
    prepare: Callable[[JSONObject], T],
) -> tuple[InitialState[T], AsyncIterator[WatchEvent]]:
    """The initial state of a streaming list, and its stream left open for what follows.

    `prepare` is applied to each object as it arrives (the state holds prepared objects).

    Raises `StreamingListUnsupported` when the server rejects the request as invalid,
    `StreamEndedEarly` when the stream ends before the initial-events-end bookmark, and any
    other error of the watch (`Expired`, `TooManyRequests`, connection errors) unchanged. The
    stream is closed whenever this raises.
    """
    stream = client.watch(kind, options, namespace=namespace)
    objects: dict[ObjectKey, T] = {}
    try:
        async for event in stream:
            if event.is_initial_events_end:
                return InitialState(list(objects.values()), event.resource_version), stream
            if event.type == "BOOKMARK":
                continue
            if event.type == "DELETED":
                objects.pop(object_key(event.object), None)
            else:
                objects[object_key(event.object)] = prepare(event.object)
    except (BadRequest, Invalid) as error:
        await _close(stream)
        raise StreamingListUnsupported(str(error)) from error
    except BaseException:
        await _close(stream)
        raise
    await _close(stream)
    raise StreamEndedEarly(
        f"the streaming list ended after {len(objects)} objects, before its end bookmark"
    )


async def _close(stream: AsyncIterator[WatchEvent]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()

"""Decoding a watch stream: newline-delimited JSON events, read incrementally.

The body is read in whatever chunks arrive and split on newlines here, so an event of any size
is decoded (line readers with a fixed buffer fail on objects over their limit), every event is
decoded exactly once by orjson into plain dicts, and a silent peer is noticed: each read waits
at most the stall timeout (aiohttp's per-read socket timeout) and then raises `WatchStalled`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator

import aiohttp
import orjson

from ..errors import WatchStalled, api_error
from .protocol import WatchEvent
from .transport import Subject

log = logging.getLogger(__name__)


async def decode_events(
    response: aiohttp.ClientResponse, *, subject: Subject, stall_timeout: float
) -> AsyncGenerator[WatchEvent, None]:
    """The events of a watch response body, until the server ends the stream.

    ERROR events raise the mapped `ApiError` (`Expired` for 410) carrying `subject`. A
    connection that breaks mid-stream ends the iteration like a clean end would (the caller
    re-watches from the last resourceVersion either way) and is logged.
    """
    content = response.content
    pending = bytearray()
    # Bytes of `pending` already searched for a newline: a large event arriving in many chunks
    # is scanned once, not once per chunk.
    scanned = 0
    while True:
        try:
            chunk = await content.readany()
        except aiohttp.ServerTimeoutError as exc:
            raise WatchStalled(
                f"watch of {_describe(subject)}: no event or bookmark for {stall_timeout}s"
            ) from exc
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
            log.info("watch of %s broke off: %s", _describe(subject), exc)
            return
        if not chunk:
            break
        pending += chunk
        start = 0
        while (end := pending.find(b"\n", max(start, scanned))) >= 0:
            line = pending[start:end]
            start = end + 1
            if line.strip():
                yield _event(line, subject)
        del pending[:start]
        scanned = len(pending)
    if pending.strip():
        yield _event(pending, subject)


def _event(line: bytearray, subject: Subject) -> WatchEvent:
    try:
        decoded = orjson.loads(line)
        event_type = decoded["type"]
        obj = decoded["object"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(
            f"watch of {_describe(subject)} sent a line that is not an event: "
            f"{bytes(line[:200])!r}"
        ) from exc
    if event_type == "ERROR":
        code = obj.get("code") if isinstance(obj, dict) else None
        raise api_error(
            int(code) if isinstance(code, int) else 500,
            obj if isinstance(obj, dict) else {"message": str(obj)},
            kind=subject.kind,
            namespace=subject.namespace,
            name=subject.name,
            resource_version=subject.resource_version,
        )
    return WatchEvent(event_type, obj)


def _describe(subject: Subject) -> str:
    where = f" in {subject.namespace}" if subject.namespace else ""
    since = f" from {subject.resource_version}" if subject.resource_version else ""
    return f"{subject.kind or 'objects'}{where}{since}"

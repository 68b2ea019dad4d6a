"""`limit`/`continue` list pagination over consistent snapshots.

The first page of a paginated list freezes the selected objects (references only: stored
objects are immutable) under an id; continue tokens point into that snapshot, so every page of one
list shows the state at the first page's resourceVersion no matter what is written meanwhile, as
etcd does. Snapshots are bounded in number and age; a token whose snapshot is gone gets the real
server's 410 `Expired`, after which the client starts a new list.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from .errors import bad_request, expired
from .resources import JSONObject

EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter."
)


@dataclass(frozen=True)
class Page:
    items: list[JSONObject]
    resource_version: int
    continue_token: str
    remaining: int


@dataclass
class _Snapshot:
    items: list[JSONObject]
    resource_version: int
    created: float
    # What was listed (resource and namespace): a token only continues the same list.
    scope: str = ""


class ListPager:
    """Cuts lists into pages and remembers the snapshots continue tokens refer to."""

    def __init__(
        self,
        *,
        max_snapshots: int = 256,
        ttl_seconds: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._snapshots: OrderedDict[str, _Snapshot] = OrderedDict()
        self._max = max_snapshots
        self._ttl = ttl_seconds
        self._clock = clock

    def first_page(
        self, items: list[JSONObject], resource_version: int, limit: int, *, scope: str = ""
    ) -> Page:
        if limit <= 0 or len(items) <= limit:
            return Page(items, resource_version, "", 0)
        snapshot_id = secrets.token_hex(8)
        self._remember(snapshot_id, _Snapshot(items, resource_version, self._clock(), scope))
        return self._cut(snapshot_id, self._snapshots[snapshot_id], 0, limit)

    def next_page(self, token: str, limit: int, *, scope: str = "") -> Page:
        snapshot_id, offset, resource_version = _decode(token)
        snapshot = self._snapshots.get(snapshot_id)
        if snapshot is None or self._clock() - snapshot.created > self._ttl:
            self._snapshots.pop(snapshot_id, None)
            raise expired(EXPIRED_CONTINUE)
        if (
            snapshot.resource_version != resource_version
            or offset > len(snapshot.items)
            or snapshot.scope != scope
        ):
            raise bad_request("continue key is not valid: it does not belong to this list")
        self._snapshots.move_to_end(snapshot_id)
        return self._cut(snapshot_id, snapshot, offset, limit)

    def _cut(self, snapshot_id: str, snapshot: _Snapshot, offset: int, limit: int) -> Page:
        end = len(snapshot.items) if limit <= 0 else offset + limit
        items = snapshot.items[offset:end]
        remaining = max(0, len(snapshot.items) - end)
        if remaining == 0:
            self._snapshots.pop(snapshot_id, None)
            return Page(items, snapshot.resource_version, "", 0)
        token = _encode(snapshot_id, end, snapshot.resource_version)
        return Page(items, snapshot.resource_version, token, remaining)

    def _remember(self, snapshot_id: str, snapshot: _Snapshot) -> None:
        now = self._clock()
        for key in [k for k, s in self._snapshots.items() if now - s.created > self._ttl]:
            del self._snapshots[key]
        self._snapshots[snapshot_id] = snapshot
        while len(self._snapshots) > self._max:
            self._snapshots.popitem(last=False)


def _encode(snapshot_id: str, offset: int, resource_version: int) -> str:
    raw = json.dumps({"v": "controllerkit/v1", "id": snapshot_id, "start": offset,
                      "rv": resource_version}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(token: str) -> tuple[str, int, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        return str(data["id"]), int(data["start"]), int(data["rv"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise bad_request(f"continue key is not valid: {token!r}") from None

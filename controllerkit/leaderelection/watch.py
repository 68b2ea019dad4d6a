"""`LeaseWatch`: follow one Lease through a watch, reporting each version as it is written.

A standby candidate that only polled would notice a renewal (or a release) up to a jittered
`retry_period` late, and since expiry counts from when it noticed, it would take over that
much later after a crash. Watching makes it notice within a round trip. Polling stays as the
fallback: the watch is an accelerator, never the only source.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from ..client.protocol import Client, WatchOptions
from ..clock import Clock
from ..errors import Expired
from ..meta import LEASE
from .lease import LeaseRecord

__all__ = ["LeaseWatch"]

logger = logging.getLogger(__name__)

# Servers end watches after a while; a fresh one from the last resourceVersion loses nothing.
_WATCH_SECONDS = 300


class LeaseWatch:
    """Calls `on_change(record, resource_version)` for every version of Lease
    `namespace/name` (the current one first), and `on_change(None, ...)` when it is deleted.

    `run()` runs until cancelled: a stream that ends is resumed from the last
    resourceVersion, an expired one restarts from the current state, and other errors are
    logged and retried after `retry_period` on `clock`. Versions may repeat after a restart.
    """

    def __init__(
        self,
        client: Client,
        namespace: str,
        name: str,
        *,
        on_change: Callable[[LeaseRecord | None, str], None],
        clock: Clock,
        retry_period: float,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.on_change = on_change
        self._clock = clock
        self._retry_period = retry_period

    async def run(self) -> None:
        version = ""
        options = WatchOptions(field_selector=f"metadata.name={self.name}",
                               timeout_seconds=_WATCH_SECONDS)
        while True:
            try:
                async for event in self.client.watch(
                        LEASE, dataclasses.replace(options, resource_version=version),
                        namespace=self.namespace):
                    version = event.resource_version or version
                    if event.type in ("ADDED", "MODIFIED"):
                        self.on_change(LeaseRecord.from_lease(event.object), version)
                    elif event.type == "DELETED":
                        self.on_change(None, version)
            except Expired:
                version = ""
            except Exception as error:
                logger.debug("watch of Lease %s/%s failed, retrying in %s s: %s",
                             self.namespace, self.name, self._retry_period, error)
                await self._clock.sleep(self._retry_period)

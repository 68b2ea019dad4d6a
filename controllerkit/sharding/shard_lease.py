"""`ShardLease`: this replica's own shard Lease: create, renew with a view, release.

The Lease proves to the other replicas that this one is alive, and carries the view it
works under. Every write is made at the resourceVersion of the previous one and serialised
with the others, so the Lease always holds exactly what the last successful write said.

The renew deadline is a timer on the injected clock, armed at each successful write for
`renew_deadline` after that write was *sent*: the moment the others may have seen it is
later, so the others' `lease_duration` (counted from when they saw it) always ends after it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import anyio

from ..client.protocol import Client
from ..clock import Clock, Timer
from ..errors import AlreadyExists, Conflict, NotFound
from ..leaderelection.lease import LeaseLock, LeaseRecord
from .config import SHARD_OF_LABEL, SHARD_VIEW_ANNOTATION, ShardingConfig
from .peers import View, encode_view

__all__ = ["LeaseGone", "ShardLease"]

logger = logging.getLogger(__name__)


class LeaseGone(Exception):
    """The Lease was deleted or is held by someone else: this replica is out of the ring."""


class ShardLease:
    """The own Lease of one replica; `on_deadline(reason)` is called (once per arming) when
    no write succeeded for `renew_deadline` seconds after the last successful one was sent.

    `write` raises `LeaseGone` when the Lease vanished or changed holder; any other failure
    is logged and reported as False, to be retried.
    """

    def __init__(self, client: Client, config: ShardingConfig, clock: Clock,
                 on_deadline: Callable[[str], None]) -> None:
        self.config = config
        self.lock = LeaseLock(client, config.namespace, config.lease_name)
        self.resource_version = ""
        self.renewed_at: float | None = None  # when the last successful write was sent
        self.view: View | None = None  # what the last successful write published
        self._clock = clock
        self._on_deadline = on_deadline
        self._acquired_at: datetime | None = None
        self._deadline: Timer | None = None
        self._writing = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ShardLease({self.config.describe()})"

    def fresh(self) -> bool:
        """Whether the deadline of the last successful write has not passed yet."""
        renewed = self.renewed_at
        return (renewed is not None
                and self._clock.monotonic() < renewed + self.config.renew_deadline)

    def record(self, view: View | None) -> LeaseRecord:
        """The record a write of `view` sends (None: no view yet)."""
        now = datetime.now(UTC)
        return LeaseRecord(
            holder_identity=self.config.identity,
            lease_duration_seconds=self.config.lease_duration_seconds,
            acquire_time=self._acquired_at or now, renew_time=now, lease_transitions=0,
            annotations={} if view is None else {SHARD_VIEW_ANNOTATION: encode_view(view)},
            labels={SHARD_OF_LABEL: self.config.name})

    async def acquire(self) -> None:
        """Create the Lease, without a view.

        A Lease of this name left by an earlier process of the same identity may still be
        backing that process's work: it is deleted (at the resourceVersion seen) only once it
        has been unchanged for its duration on this clock. Errors are logged and retried
        every `retry_period`; only cancellation ends the wait.
        """
        stale: tuple[str, float] | None = None  # a left-over Lease's version, first seen at
        while True:
            try:
                found = await self.lock.get()
                if found is None:
                    sent = self._clock.monotonic()
                    self._acquired_at = datetime.now(UTC)
                    try:
                        version = await self.lock.create(self.record(None))
                    except AlreadyExists:
                        continue
                    self._succeeded(version, sent, None)
                    return
                record, version = found
                now = self._clock.monotonic()
                if stale is None or stale[0] != version:
                    stale = (version, now)
                    logger.warning("%s exists, left by an earlier process of identity %s; "
                                   "taking it over once it is unchanged for %s s", self,
                                   record.holder_identity, record.lease_duration_seconds)
                duration = record.lease_duration_seconds or self.config.lease_duration_seconds
                if now >= stale[1] + duration:
                    await self.lock.delete(version)
                    continue
            except Conflict:
                continue  # the left-over Lease changed after all: watch it again
            except Exception as error:
                logger.warning("%s: cannot create the Lease yet, retrying in %s s: %s", self,
                               self.config.retry_period, error)
            await self._clock.sleep(self.config.retry_period)

    async def write(self, view_of: Callable[[], View | None]) -> tuple[View | None, bool]:
        """Renew the Lease holding `view_of()` (read once the previous write has finished).

        Returns the view sent and whether the write succeeded. After a failure (worth
        retrying) the Lease may or may not hold that view. Raises `LeaseGone`.
        """
        async with self._writing:
            view = view_of()
            sent = self._clock.monotonic()
            try:
                version = await self.lock.update(self.record(view), self.resource_version)
            except NotFound:
                raise LeaseGone("the Lease was deleted") from None
            except Conflict:
                # Someone else wrote it: carry on at its version only if it is still ours.
                try:
                    await self._reread()
                except LeaseGone:
                    raise
                except Exception as error:
                    logger.warning("%s: cannot re-read it after a conflict: %s", self, error)
                return view, False
            except Exception as error:
                logger.warning("%s: renewing failed, retrying in %s s: %s", self,
                               self.config.retry_period, error)
                return view, False
            self._succeeded(version, sent, view)
            return view, True

    async def _reread(self) -> None:
        found = await self.lock.get()
        if found is None:
            raise LeaseGone("the Lease was deleted")
        holder = found[0].holder_identity
        if holder != self.config.identity:
            raise LeaseGone(f"the Lease is held by {holder!r} now")
        self.resource_version = found[1]

    def _succeeded(self, version: str, sent: float, view: View | None) -> None:
        self.resource_version = version
        self.renewed_at = sent
        self.view = view
        self.disarm()
        self._deadline = self._clock.call_at(
            sent + self.config.renew_deadline,
            lambda: self._on_deadline(
                f"not renewed within renew_deadline ({self.config.renew_deadline} s)"))

    def disarm(self) -> None:
        """Cancel the pending deadline (on stop)."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    async def release(self) -> None:
        """Delete the Lease (bounded by `renew_deadline`); failures are logged, not raised."""
        if not self.resource_version:
            return
        try:
            with anyio.fail_after(self.config.renew_deadline):
                try:
                    await self.lock.delete(self.resource_version)
                except Conflict:
                    found = await self.lock.get()
                    if found is not None and found[0].holder_identity == self.config.identity:
                        await self.lock.delete(found[1])
        except Exception as error:
            logger.warning("%s: releasing failed (the others take its keys once it "
                           "expires): %s", self, error)
        else:
            logger.info("%s: released", self)

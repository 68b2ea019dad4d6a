"""`LeaderElector`: campaign for a Lease, renew it while leading, give it up on time.

```python
elector = LeaderElector(client, LeaderElectionConfig("my-controller", "default"),
                        on_started_leading=start_work, on_stopped_leading=stop_work)
await elector.run()      # until stop() (or cancellation), or raises LeadershipLost
```

The protocol is client-go's (tools/leaderelection), on a `LeaseLock`:

- Acquire: read the Lease; take it (create, or update at the resourceVersion read) when it
  is free, already ours, or unchanged for `lease_duration` *as measured on our own clock
  since we first saw that exact record*. Remote timestamps are never compared with ours, so
  clock skew between hosts does not matter. Attempts are `retry_period` apart, stretched by
  up to `JITTER_FACTOR` x `retry_period` at random. Unlike client-go, a candidate also
  watches the Lease while it stands by: it sees each renewal within a round trip (so a dead
  holder's Lease expires for it `lease_duration` after the last renewal, not up to a
  jittered period later), tries at once when the Lease is released, and wakes exactly when
  the Lease would expire.
- Race: two candidates that both see an expired Lease both write with the same
  resourceVersion; the API server accepts one and answers the other `Conflict`.
- Renew: every `retry_period` while leading (an update at the resourceVersion of our last
  write, re-reading only on `Conflict`). If no renewal *started and finished* within
  `renew_deadline` of the start of the last successful one, leadership is given up at that
  deadline: `on_stopped_leading` runs and `run()` raises `LeadershipLost`. Others can take
  the Lease no sooner than `lease_duration` after they saw our last renewal, which is later
  than that start, so `lease_duration - renew_deadline` is the time the leader's work has to
  stop. Seeing another holder in the Lease while leading also ends leadership at once.
- Release: stopping (`stop()`) or cancelling `run()` while leading clears the holder (when
  `release_on_cancel`), so another candidate acquires on its next attempt instead of waiting
  for expiry. Only stop once the work the Lease guards has stopped: the release lets others
  start at once.

Not guaranteed (no lease-based election can): fencing. A leader stalled for longer than
`lease_duration - renew_deadline` past its deadline (a paused VM, a blocked event loop) may
still act after another took over; an API write a leader sent before its deadline may land
after it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import anyio
from anyio.abc import TaskStatus

from ..client.protocol import Client
from ..clock import SYSTEM_CLOCK, Clock
from ..errors import AlreadyExists, Conflict
from ..lifecycle import Lifecycle, task_group
from .config import JITTER_FACTOR, LeaderElectionConfig
from .deadline import before_deadline
from .lease import LeaseLock, LeaseRecord
from .metrics import LeaderElectionMetrics
from .watch import LeaseWatch

__all__ = ["LeaderElector", "LeadershipLost"]

logger = logging.getLogger(__name__)


class LeadershipLost(Exception):
    """This process led the Lease and no longer does: it stopped at its renew deadline, or
    another candidate holds the Lease now.

    `lease` is `namespace/name`, `identity` this candidate, `reason` what happened,
    `new_leader` the holder seen in the Lease (None if it could not be read). Whoever gets it
    must stop everything the Lease guarded; the usual answer is to exit and let the process
    be restarted, which then campaigns afresh.
    """

    def __init__(self, lease: str, identity: str, reason: str,
                 new_leader: str | None = None) -> None:
        super().__init__(f"lost leadership of Lease {lease} as {identity}: {reason}")
        self.lease = lease
        self.identity = identity
        self.reason = reason
        self.new_leader = new_leader


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LeaderElector(Lifecycle):
    """One candidate for one Lease; `run()` campaigns, leads, and gives up (see the module).

    Lifecycle (`controllerkit.lifecycle`): `run()` until `stop()`, or `async with elector:`.
    Started at once: it campaigns. `stop()` ends the campaign or, while leading, ends
    leadership and releases the Lease (when `release_on_cancel`), then `run()` returns;
    cancelling `run()` does the same and re-raises. Runs once.

    Callbacks run on the event loop and must not block; an exception they raise is logged
    and otherwise ignored. `on_started_leading()` runs once leadership is acquired;
    `on_stopped_leading()` once it ends (lost, or released on cancellation), only after
    `on_started_leading`; `on_new_leader(identity)` whenever the observed holder changes to
    a new non-empty identity, ours included.

    `clock` times everything (expiry, retries, the renew deadline); `wall_clock` only
    stamps `acquireTime`/`renewTime`, which nobody compares; `rng` draws the jitter.
    """

    def __init__(
        self,
        client: Client,
        config: LeaderElectionConfig,
        *,
        clock: Clock = SYSTEM_CLOCK,
        wall_clock: Callable[[], datetime] = _utc_now,
        rng: random.Random | None = None,
        metrics: LeaderElectionMetrics | None = None,
        on_started_leading: Callable[[], None] | None = None,
        on_stopped_leading: Callable[[], None] | None = None,
        on_new_leader: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.lock = LeaseLock(client, config.namespace, config.lease_name)
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.on_new_leader = on_new_leader
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng if rng is not None else random.Random()
        self._metrics = metrics
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0
        self._resource_version: str | None = None
        self._reported_leader: str | None = None
        self._renewed_at = 0.0
        self._leading = asyncio.Event()
        self._lease_free = False
        self._started = False
        self._stop_requested = False
        self._campaign: anyio.CancelScope | None = None  # cancelled by stop()
        self._napping: anyio.CancelScope | None = None  # cancelled when the Lease is freed

    def __repr__(self) -> str:
        return f"LeaderElector({self.config.describe()!r}, {self.identity!r})"

    @property
    def identity(self) -> str:
        return self.config.identity

    @property
    def is_leader(self) -> bool:
        """Whether this candidate leads now (until its renew deadline passes at the latest)."""
        return self._leading.is_set()

    @property
    def leader(self) -> str | None:
        """The holder in the last Lease record seen or written; None if nobody holds it or it
        was not read yet. It may have expired since: only `is_leader` is authoritative."""
        record = self._observed
        return record.holder_identity if record is not None and record.is_held else None

    @property
    def observed(self) -> LeaseRecord | None:
        """The last Lease record seen (read, watched or written); None before the first."""
        return self._observed

    async def wait_until_leading(self) -> None:
        """Return once this candidate leads (at once if it does)."""
        await self._leading.wait()

    # -- the loop ----------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Campaign until leading, then renew until leadership is lost, `stop()`, or
        cancellation. Runs once; reports started at once.

        Raises `LeadershipLost` (after `on_stopped_leading`) when leadership ends on its own.
        Stopped or cancelled while leading, it ends leadership (`on_stopped_leading`) and
        releases the Lease if `release_on_cancel`, then returns (or re-raises the
        cancellation). API errors while campaigning or renewing are logged and retried, never
        raised.
        """
        if self._started:
            raise RuntimeError(f"{self!r} runs once")
        self._started = True
        self._set_metric(False)
        name = self.config.describe()
        logger.info("%s: campaigning for Lease %s", self.identity, name)
        task_status.started()
        try:
            with anyio.CancelScope() as self._campaign:
                if self._stop_requested:
                    self._campaign.cancel()
                await self._acquire()
                self._start_leading()
                await self._keep_renewing()
        except LeadershipLost as lost:
            logger.error("%s", lost)
            self._stop_leading()
            raise
        finally:
            self._campaign = None
            if self.is_leader:  # stopped or cancelled while leading
                self._stop_leading()
                if self.config.release_on_cancel:
                    # Shielded: a cancelled run releases all the same (bounded by a deadline).
                    with anyio.CancelScope(shield=True):
                        await self._release()

    def stop(self) -> None:
        """Stop campaigning, or stop leading and release the Lease; `run()` then returns.
        Idempotent; returns at once."""
        self._stop_requested = True
        if self._campaign is not None:
            self._campaign.cancel()

    async def _acquire(self) -> None:
        watch = LeaseWatch(self.lock.client, self.config.namespace, self.config.lease_name,
                           on_change=self._watched, clock=self._clock,
                           retry_period=self.config.retry_period)
        async with task_group() as watching:
            watching.start_soon(watch.run, name=f"watch of Lease {self.config.describe()}")
            while True:
                self._lease_free = False
                started = self._clock.monotonic()
                if await self._try_acquire_or_renew() and (
                        self._clock.monotonic() - started < self.config.renew_deadline):
                    self._renewed_at = started
                    watching.cancel_scope.cancel()
                    return
                await self._nap(self._pause_before_next_attempt())

    def _watched(self, record: LeaseRecord | None, version: str) -> None:
        if record is not None:
            self._observe(record, version)
        if record is None or not record.is_held:
            self._lease_free = True
            if self._napping is not None:
                self._napping.cancel()

    async def _nap(self, seconds: float) -> None:
        """Sleep `seconds` on the clock, or less if the watch sees the Lease become free."""
        try:
            with anyio.CancelScope() as self._napping:
                if not self._lease_free:
                    await self._clock.sleep(seconds)
        finally:
            self._napping = None

    def _pause_before_next_attempt(self) -> float:
        period = self.config.retry_period
        pause = period * (1 + JITTER_FACTOR * self._rng.random())
        if self.leader is not None:
            # Wake when the holder's Lease would expire (it may have died), not up to a
            # jittered period later; a little jitter still keeps candidates apart.
            expires_in = self._observed_at + self.config.lease_duration - self._clock.monotonic()
            if expires_in >= 0:
                pause = min(pause, expires_in + 0.1 * period * self._rng.random())
        return pause

    async def _keep_renewing(self) -> None:
        config = self.config
        while True:
            deadline = self._renewed_at + config.renew_deadline
            try:
                self._renewed_at = await before_deadline(self._clock, deadline, self._renew())
            except TimeoutError:
                raise LeadershipLost(
                    config.describe(), self.identity,
                    f"no renewal succeeded within the renew deadline of "
                    f"{config.renew_deadline} s", self.leader) from None

    async def _renew(self) -> float:
        """Renew once, retrying every `retry_period`; the start time of the renewal."""
        while True:
            await self._clock.sleep(self.config.retry_period)
            started = self._clock.monotonic()
            if await self._try_acquire_or_renew():
                return started
            holder = self.leader
            if holder is not None and holder != self.identity:
                raise LeadershipLost(self.config.describe(), self.identity,
                                     f"the Lease is held by {holder} now", holder)

    # -- one attempt -------------------------------------------------------------------------

    async def _try_acquire_or_renew(self) -> bool:
        try:
            if self.is_leader and self._resource_version is not None:
                try:
                    return await self._write(self._resource_version)
                except Conflict:
                    logger.info("%s: Lease %s changed since our last renewal; re-reading",
                                self.identity, self.config.describe())
            return await self._read_and_write()
        except (Conflict, AlreadyExists):
            logger.debug("%s: another candidate wrote Lease %s first", self.identity,
                         self.config.describe())
            return False
        except Exception as error:
            logger.warning("%s: could not acquire or renew Lease %s: %s", self.identity,
                           self.config.describe(), error)
            return False

    async def _read_and_write(self) -> bool:
        found = await self.lock.get()
        if found is None:
            record = self._record_to_write(None)
            version = await self.lock.create(record)
            self._observe(record, version)
            return True
        record, version = found
        self._observe(record, version)
        holder = record.holder_identity
        if record.is_held and holder != self.identity and not self._observed_expired():
            return False
        return await self._write(version)

    async def _write(self, version: str) -> bool:
        record = self._record_to_write(self._observed)
        written = await self.lock.update(record, version)
        self._observe(record, written)
        return True

    def _record_to_write(self, current: LeaseRecord | None) -> LeaseRecord:
        now = self._wall_clock()
        ours = current is not None and current.holder_identity == self.identity
        transitions = 0 if current is None else current.lease_transitions + (0 if ours else 1)
        return LeaseRecord(
            holder_identity=self.identity,
            lease_duration_seconds=self.config.lease_duration_seconds,
            acquire_time=current.acquire_time if ours and current is not None else now,
            renew_time=now,
            lease_transitions=transitions,
            annotations=current.annotations if current is not None else {},
            labels=current.labels if current is not None else {},
        )

    def _observe(self, record: LeaseRecord, version: str) -> None:
        self._resource_version = version
        if record != self._observed:
            # Expiry counts from when *we* saw this record, never from its renewTime.
            self._observed = record
            self._observed_at = self._clock.monotonic()
        holder = record.holder_identity
        if holder and holder != self._reported_leader:
            self._reported_leader = holder
            logger.info("%s: Lease %s is held by %s", self.identity, self.config.describe(),
                        holder)
            self._call(self.on_new_leader, holder)

    def _observed_expired(self) -> bool:
        return self._clock.monotonic() >= self._observed_at + self.config.lease_duration

    # -- transitions -------------------------------------------------------------------------

    def _start_leading(self) -> None:
        logger.info("%s: acquired Lease %s", self.identity, self.config.describe())
        self._leading.set()
        self._set_metric(True)
        self._call(self.on_started_leading)

    def _stop_leading(self) -> None:
        self._leading.clear()
        self._set_metric(False)
        self._call(self.on_stopped_leading)

    async def _release(self) -> None:
        """Clear the holder, if the Lease is still ours; bounded by the renew deadline."""
        name = self.config.describe()
        deadline = self._clock.monotonic() + self.config.renew_deadline
        try:
            await before_deadline(self._clock, deadline, self._clear_holder())
        except Exception as error:
            logger.warning("%s: could not release Lease %s (it expires in %s s instead): %s",
                           self.identity, name, self.config.lease_duration, error)
            return
        logger.info("%s: released Lease %s", self.identity, name)

    async def _clear_holder(self) -> None:
        version = self._resource_version
        for _ in range(2):
            current = self._observed
            if version is None or current is None or current.holder_identity != self.identity:
                raise RuntimeError("the Lease is no longer ours")
            now = self._wall_clock()
            released = LeaseRecord(
                holder_identity=None, lease_duration_seconds=1, acquire_time=now,
                renew_time=now, lease_transitions=current.lease_transitions,
                annotations=current.annotations, labels=current.labels)
            try:
                self._observe(released, await self.lock.update(released, version))
                return
            except Conflict:
                # Our last renewal may have landed without us seeing its answer: re-read.
                found = await self.lock.get()
                if found is None:
                    return
                self._observe(*found)
                version = found[1]
        raise RuntimeError("the Lease kept changing")

    def _set_metric(self, leading: bool) -> None:
        if self._metrics is not None:
            self._metrics.set_leading(self.config.lease_name, leading)

    def _call(self, callback: Callable[..., None] | None, *args: Any) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:
            logger.exception("%s: leader election callback %r failed", self.identity,
                             callback)

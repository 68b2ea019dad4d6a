"""`ShardCoordinator`: this replica's membership of a ring, and the keys it may reconcile.

```python
coordinator = ShardCoordinator(client, ShardingConfig("widgets", "default"))
coordinator.attach(controller)          # before either runs
async with informers, controller:
    await coordinator.run()             # until stop() or cancelled, or ShardLeaseLost
```

The protocol (`controllerkit.sharding` explains why no key ever has two owners):

1. *Lease*: the replica creates `<name>-shard-<identity>` without a view and renews it
   every `retry_period` (`ShardLease`).
2. *Peers*: a watch on the ring's Leases tells it who is there. A peer whose Lease has not
   changed for the duration it records, on this replica's clock, is deleted *at the
   resourceVersion seen*: if the peer renewed meanwhile the delete fails with Conflict and
   the peer stays. So a Lease disappears only when its holder released it, or when such a
   delete proved that its holder stopped renewing (and so stopped working) long enough ago.
3. *View*: the replica's target view is itself plus every peer that published a view. On a
   new target it first stops starting keys it does not own under it, cancels its running
   reconciles of them and waits for their end, and only then publishes the target.
4. *Keys*: it starts a key only if it owns it under every view its Lease may hold and under
   every peer's published view, and only once its cache shows its first published view.
   Keys it gains are enqueued from the controllers' caches at once.
5. *Deadline*: when no renewal succeeded within `renew_deadline` of the last successful one
   being sent, or its Lease vanished or changed holder, it stops starting keys at once,
   cancels the running reconciles, waits for their end and raises `ShardLeaseLost`.
6. *Leaving*: `stop()` (or cancelling `run()`) stops all work the same way, then deletes
   the Lease, so the others take the keys at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import anyio
from anyio.abc import TaskStatus
from prometheus_client import CollectorRegistry

from ..cache import DeletedFinalStateUnknown, EventHandlerFuncs, SharedInformer
from ..client.protocol import Client
from ..clock import SYSTEM_CLOCK, Clock
from ..controller import Controller
from ..errors import Conflict
from ..leaderelection.lease import LeaseLock
from ..lifecycle import Lifecycle, task_group
from ..meta import LEASE, JSONObject
from ..reconcile import Request
from .assignment import Assignment, Weights
from .config import SHARD_OF_LABEL, ShardingConfig
from .metrics import ShardMetrics, ShardSnapshot
from .peers import PeerLeases, View
from .shard_lease import LeaseGone, ShardLease

__all__ = ["ShardCoordinator", "ShardLeaseLost"]

logger = logging.getLogger(__name__)


class ShardLeaseLost(Exception):
    """This replica lost its shard Lease; all its work had stopped when this was raised.

    `lease` is `namespace/name`; `reason` says what happened (the renew deadline passed, the
    Lease was deleted or is held by another identity). Exit the process (a restart joins
    as a new replica) or build a new coordinator.
    """

    def __init__(self, lease: str, reason: str) -> None:
        super().__init__(f"shard Lease {lease} lost: {reason}; all work on its keys stopped")
        self.lease = lease
        self.reason = reason


class ShardCoordinator(Lifecycle):
    """Shares the keys of the attached controllers with the other replicas of the ring.

    Lifecycle (`controllerkit.lifecycle`): `run()` until `stop()`, or `async with
    coordinator:`. Started means it joined the ring: its Lease exists and it follows its
    peers. `stop()` stops all work on its keys, then deletes its Lease (the others take the
    keys at once), and `run()` returns; cancelling `run()` does the same and re-raises. Runs
    once.

    Guarantees, under the usual Lease assumptions (the replicas' clocks run at about the
    same rate; no process pauses for longer than `lease_duration - renew_deadline`): no key
    is reconciled by two replicas of the ring at once; once the replicas agree on who is
    there (a few watch round trips after a change, or `lease_duration` after a replica died
    without releasing) every key of the attached controllers' caches has exactly one
    replica reconciling it, and keys that moved are enqueued on their new owner; a replica
    that stops cleanly hands its keys over at once.

    Not guaranteed: an order of reconciles across replicas; that a reconcile cancelled
    because its key moved left its object consistent (reconcilers must be idempotent); an
    even split of a handful of keys (rendezvous hashing is even over many keys).

    `lease` is this replica's own `ShardLease` (its `view`, `renewed_at`); `metrics` the
    collector of the shard metrics.
    """

    def __init__(
        self,
        client: Client,
        config: ShardingConfig,
        *,
        clock: Clock = SYSTEM_CLOCK,
        registry: CollectorRegistry | None = None,
    ) -> None:
        """`registry` receives the shard metrics and those of the informer on the shard
        Leases (none are recorded without one)."""
        self.client = client
        self.config = config
        self._registry = registry
        self.lease = ShardLease(client, config, clock, self._lose)
        self.metrics = ShardMetrics(config.name, self._snapshot, registry)
        self._clock = clock
        self._peers = PeerLeases(config.lease_name, float(config.lease_duration_seconds))
        self._controllers: list[Controller] = []
        self._weights = Weights()
        self._assignment = Assignment(config.identity)
        self._publishing: View | None = None
        self._unsure: set[View | None] = set()  # views sent by writes that failed since
        self._first_view_version = ""
        self._lost: ShardLeaseLost | None = None
        self._wake = asyncio.Event()
        self._informer: SharedInformer | None = None
        self._started = False
        self._stop_requested = False
        # Everything that works on keys; cancelled by stop() and by losing the Lease.
        self._working: anyio.CancelScope | None = None

    def __repr__(self) -> str:
        return f"ShardCoordinator({self.config.describe()})"

    @property
    def identity(self) -> str:
        return self.config.identity

    @property
    def members(self) -> frozenset[str]:
        """The replicas in the view this replica last published (empty before the first)."""
        return self.lease.view or frozenset()

    @property
    def active(self) -> bool:
        """Whether this replica may start reconciles of any key now."""
        return not self._assignment.is_empty and self.lease.fresh()

    # -- controllers -------------------------------------------------------------------------

    def attach(self, controller: Controller) -> None:
        """Restrict `controller` to the keys this replica owns; call before `run()`.

        Until `run()` has joined the ring the controller reconciles nothing.
        """
        if self._started:
            raise RuntimeError(f"attach {controller!r} before {self!r} runs")
        controller.set_ownership(self.owns)
        self._controllers.append(controller)

    def owns(self, request: Request) -> bool:
        """Whether this replica may start a reconcile of `request` now (quick, no I/O)."""
        return self.lease.fresh() and self._assignment.owns(str(request))

    # -- running -----------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Hold the shard Lease and share the keys until `stop()` or cancellation (see the
        module). Reports started once it joined the ring (stopped before, it returns).

        On `stop()` or cancellation: stops all work on its keys, deletes its Lease (the
        others take the keys at once), then returns or re-raises the cancellation. Raises
        `ShardLeaseLost`, after stopping all work, when the Lease was not renewed in time, was
        deleted or taken. Runs once.
        """
        if self._started:
            raise RuntimeError(f"{self!r} runs once")
        self._started = True
        joined = False
        try:
            with anyio.CancelScope() as self._working:
                if self._stop_requested:
                    self._working.cancel()
                await self.lease.acquire()
                logger.info("%s: joined as %s", self, self.identity)
                informer = self._informer = SharedInformer(
                    self.client, LEASE, namespace=self.config.namespace,
                    label_selector=f"{SHARD_OF_LABEL}={self.config.name}",
                    clock=self._clock, registry=self._registry)
                informer.add_handler(EventHandlerFuncs(
                    add=self._lease_seen, update=lambda _, new: self._lease_seen(new),
                    delete=self._lease_gone))
                async with task_group() as work:
                    await work.start(informer.run, name=f"peers of {self!r}")
                    work.start_soon(self._renew_forever, name=f"renewal of {self!r}")
                    work.start_soon(self._coordinate_forever, name=f"views of {self!r}")
                    joined = True
                    task_status.started()
        except ShardLeaseLost:
            pass  # raised below, once all work has stopped
        finally:
            self._working = None
            # Shielded: a cancelled run stops the work and leaves the ring all the same.
            with anyio.CancelScope(shield=True):
                await self._stop_work()
                if self._lost is None:
                    await self.lease.release()
        if self._lost is not None:
            raise self._lost
        if not joined:
            task_status.started()  # stopped before it joined

    def stop(self) -> None:
        """Stop all work on the keys and leave the ring (see `run`); returns at once.
        Idempotent."""
        self._stop_requested = True
        if self._working is not None:
            self._working.cancel()

    def _lose(self, reason: str) -> None:
        """Start nothing from now on; `run()` then cancels what runs and raises."""
        if self._lost is not None:
            return
        self._lost = ShardLeaseLost(self.config.describe(), reason)
        self._assignment = Assignment(self.identity)
        logger.error("%s: %s; stopping all work on its keys", self, reason)
        if self._working is not None:
            self._working.cancel()

    def _lost_error(self) -> ShardLeaseLost:
        assert self._lost is not None
        return self._lost

    async def _stop_work(self) -> None:
        self.lease.disarm()
        self._assignment = Assignment(self.identity)
        for controller in self._controllers:
            cancelled = await controller.cancel_reconciles(lambda _: True)
            if cancelled:
                logger.warning("%s: cancelled %d running reconcile(s) of %s", self,
                               cancelled, controller.name)

    # -- the own Lease -----------------------------------------------------------------------

    async def _write(self, view_of: Callable[[], View | None]) -> bool:
        try:
            view, written = await self.lease.write(view_of)
        except LeaseGone as gone:
            self._lose(str(gone))
            raise self._lost_error() from None  # ends this task; run() raises it
        if written:
            self._unsure.clear()
            self._follow_first_view()
        else:
            self._unsure.add(view)
        return written

    def _follow_first_view(self) -> None:
        """Wait for the newest own write instead, while the first view is not reached yet.

        A cache that shows a later write of the own Lease shows the first view and every
        peer view before it too (a watch delivers in order); and a relist from the last
        resourceVersion may skip the first view's own event, which would leave it never
        reached exactly.
        """
        informer = self._informer
        if (self._first_view_version and informer is not None
                and not informer.store.has_reached(self._first_view_version)):
            self._first_view_version = self.lease.resource_version

    async def _renew_forever(self) -> None:
        retry = self.config.retry_period
        failed_at: float | None = None
        while True:
            assert self.lease.renewed_at is not None
            due = self.lease.renewed_at + retry
            if failed_at is not None:
                due = max(due, failed_at + retry)
            await self._clock.sleep(max(0.0, due - self._clock.monotonic()))
            if self.lease.renewed_at + retry > self._clock.monotonic():
                continue  # a view was published meanwhile, which renewed too
            attempt = self._clock.monotonic()
            written = await self._write(lambda: self.lease.view)
            failed_at = None if written else attempt

    # -- the ring ----------------------------------------------------------------------------

    def _lease_seen(self, lease: JSONObject) -> None:
        if (lease.get("metadata") or {}).get("name") == self.config.lease_name:
            holder = (lease.get("spec") or {}).get("holderIdentity")
            if holder != self.identity:
                self._lose(f"the Lease is held by {holder!r} now")
        self._wake.set()

    def _lease_gone(self, lease: JSONObject | DeletedFinalStateUnknown) -> None:
        last = lease.object if isinstance(lease, DeletedFinalStateUnknown) else lease
        if (last.get("metadata") or {}).get("name") == self.config.lease_name:
            self._lose("the Lease was deleted")
        self._wake.set()

    async def _coordinate_forever(self) -> None:
        informer = self._informer
        assert informer is not None
        await informer.wait_for_sync()
        while True:
            self._wake.clear()
            await self._coordinate(informer)
            await self._sleep_until(self._peers.next_expiry())

    async def _coordinate(self, informer: SharedInformer) -> None:
        now = self._clock.monotonic()
        self._peers.refresh(informer.store.list(), now)
        await self._delete_expired(now)
        target = frozenset({self.identity, *self._peers.views()})
        if target != self.lease.view or self._unsure:
            await self._publish(target)
        self._set_assignment(self._assignment_now())

    async def _sleep_until(self, deadline: float | None) -> None:
        timer = None if deadline is None else self._clock.call_at(deadline, self._wake.set)
        try:
            await self._wake.wait()
        finally:
            if timer is not None:
                timer.cancel()

    async def _delete_expired(self, now: float) -> None:
        for peer in self._peers.expired(now):
            lock = LeaseLock(self.client, self.config.namespace, peer.lease_name)
            try:
                await lock.delete(peer.resource_version)
            except Conflict:
                # Renewed after all; the watch brings the new version.
                self._peers.postpone(peer.lease_name, now + self.config.retry_period)
                continue
            except Exception as error:
                logger.warning("%s: cannot delete the expired Lease %s: %s", self,
                               peer.lease_name, error)
                self._peers.postpone(peer.lease_name, now + self.config.retry_period)
                continue
            logger.info("%s: %s left the ring: its Lease %s was unchanged for %s s", self,
                        peer.holder or "a replica", peer.lease_name, peer.duration)
            self._peers.forget(peer.lease_name)

    async def _publish(self, target: View) -> None:
        """Hand over the keys `target` gives to others, then publish it."""
        self._publishing = target
        try:
            self._set_assignment(self._assignment_now())  # starts none of them from now on
            keeps = Assignment(self.identity, (target,), self._weights)
            for controller in self._controllers:
                await controller.cancel_reconciles(lambda r: not keeps.owns(str(r)))
            if await self._write(lambda: target):
                logger.info("%s: working under a view of %d member(s)", self, len(target))
                if not self._first_view_version:
                    self._first_view_version = self.lease.resource_version
        finally:
            self._publishing = None

    def _views_in_doubt(self) -> set[View]:
        """Every view the own Lease may hold now: the last one written, any sent by a write
        that failed since (it may have been applied) and the one being published."""
        views = {self.lease.view, self._publishing, *self._unsure}
        return {view for view in views if view is not None}

    def _assignment_now(self) -> Assignment:
        """The keys this replica may start now, from the views known at this very moment."""
        informer = self._informer
        if self._lost is not None or not self._first_view_version or informer is None:
            return Assignment(self.identity)
        # The peers and the cache's version must be read together, with no await between:
        # "the cache shows my first view" must hold for the peer views used.
        self._peers.refresh(informer.store.list(), self._clock.monotonic())
        if not informer.store.has_reached(self._first_view_version):
            return Assignment(self.identity)  # the cache may not show every joiner yet
        peers = {view for holder, view in self._peers.views().items()
                 if holder != self.identity}
        views = self._views_in_doubt() | peers
        self._weights.retain(set().union(*views))
        return Assignment(self.identity, views, self._weights)

    def _set_assignment(self, assignment: Assignment) -> None:
        previous = self._assignment
        if assignment == previous or self._lost is not None:
            return
        self._assignment = assignment
        if assignment.is_empty or assignment.narrows(previous):
            return  # nothing can have been gained
        gained = 0
        for controller in self._controllers:
            for request in controller.primary_requests():
                key = str(request)
                if assignment.owns(key) and not previous.owns(key):
                    controller.enqueue(request)
                    gained += 1
        if gained:
            logger.info("%s: %d key(s) gained", self, gained)

    def _snapshot(self) -> ShardSnapshot:
        assignment = self._assignment
        owned = [(controller.name,
                  sum(1 for request in controller.primary_requests()
                      if assignment.owns(str(request))))
                 for controller in self._controllers]
        return ShardSnapshot(len(self.members), self.active, owned)

"""Property test: random operation sequences on the real queue agree with a reference model.

Each example runs a sequence of add, add_after, add_rate_limited, get (ready or blocking,
kept waiting or cancelled), done, forget, clock advances and shutdown over a few keys on a
fake clock. After every step the queue must agree with `QueueModel` (which item comes next,
how many are ready and delayed, retry counts), and these invariants are checked on their own:

- no item is handed to a second consumer while one holds it;
- no add is lost: an item added after its last `get` is handed out again (checked by a final
  drain that completes all work and runs the clock past every delay);
- no item is handed out twice without an add in between;
- delays are honoured exactly: an item is not ready a moment before its deadline, and is at it.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controllerkit.clock import FakeClock
from controllerkit.workqueue import (
    LOW_PRIORITY,
    NORMAL_PRIORITY,
    ItemExponentialFailureRateLimiter,
    QueueShutDown,
    RateLimitingQueue,
)

from .reference_model import QueueModel

ITEMS = ("a", "b", "c")
PRIORITIES = (NORMAL_PRIORITY, LOW_PRIORITY, 3)
AGING = 0.01  # a LOW item's handicap is 1 s: the same scale as the delays below
BASE_DELAY, MAX_DELAY = 0.005, 1.0

items = st.sampled_from(ITEMS)
priorities = st.sampled_from(PRIORITIES)
adds = st.tuples(st.just("add"), items, priorities)
delayed_adds = st.tuples(st.just("add_after"), items,
                         st.sampled_from([-1.0, 0.0, 0.005, 0.01, 0.25, 0.5, 1.0, 2.5]), priorities)
gets = st.tuples(st.just("get"))
dones = st.tuples(st.just("done"), st.integers(min_value=0, max_value=7))
advances = st.tuples(st.just("advance"), st.sampled_from([0.0, 0.001, 0.005, 0.1, 0.5, 1.0, 3.0]))
# `one_of` picks a branch uniformly: the common operations are listed more than once
operations = st.one_of(
    adds, adds, adds, delayed_adds, delayed_adds,
    st.tuples(st.just("add_rate_limited"), items, priorities),
    gets, gets, gets, dones, dones,
    st.tuples(st.just("get_blocking"), st.booleans()),
    st.tuples(st.just("forget"), items),
    advances, st.tuples(st.just("advance_to_next_deadline")),
)


@dataclass
class Harness:
    clock: FakeClock = field(default_factory=FakeClock)
    queue: RateLimitingQueue[str] = field(init=False)
    model: QueueModel = field(default_factory=lambda: QueueModel(AGING, BASE_DELAY, MAX_DELAY))
    in_flight: list[str] = field(default_factory=list)  # handed out, not yet done
    added_since_get: set[str] = field(default_factory=set)
    parked: asyncio.Task[str] | None = None  # a consumer waiting in `get`

    def __post_init__(self) -> None:
        self.queue = RateLimitingQueue(ItemExponentialFailureRateLimiter(BASE_DELAY, MAX_DELAY),
                                       clock=self.clock, priority_aging=AGING)

    @property
    def now(self) -> float:
        return self.clock.monotonic()

    def note_add(self, item: str) -> None:
        if not self.model.shut_down:
            self.added_since_get.add(item)

    def received(self, item: str) -> None:
        assert item not in self.in_flight, f"{item} handed to a second consumer"
        assert item in self.added_since_get, f"{item} handed out twice without an add"
        self.added_since_get.discard(item)
        self.in_flight.append(item)

    async def run(self, operation: tuple[object, ...]) -> None:
        kind = operation[0]
        if kind == "add":
            _, item, priority = operation
            assert isinstance(item, str) and isinstance(priority, int)
            self.queue.add(item, priority)
            self.model.add(item, priority, self.now)
            self.note_add(item)
        elif kind == "add_after":
            _, item, delay, priority = operation
            assert isinstance(item, str) and isinstance(delay, float)
            assert isinstance(priority, int)
            self.queue.add_after(item, delay, priority)
            self.model.add_after(item, delay, priority, self.now)
            self.note_add(item)
        elif kind == "add_rate_limited":
            _, item, priority = operation
            assert isinstance(item, str) and isinstance(priority, int)
            self.queue.add_rate_limited(item, priority)
            self.model.add_after(item, self.model.backoff(item), priority, self.now)
            self.note_add(item)
        elif kind == "get":
            await self.get()
        elif kind == "get_blocking":
            await self.get_blocking(cancel=bool(operation[1]))
        elif kind == "done":
            index = operation[1]
            assert isinstance(index, int)
            if self.in_flight:
                item = self.in_flight.pop(index % len(self.in_flight))
                self.queue.done(item)
                self.model.done(item, self.now)
        elif kind == "forget":
            item = operation[1]
            assert isinstance(item, str)
            self.queue.forget(item)
            self.model.failures.pop(item, None)
        elif kind == "advance":
            seconds = operation[1]
            assert isinstance(seconds, float)
            self.clock.advance(seconds)
            self.model.release_due(self.now)
        elif kind == "advance_to_next_deadline":
            await self.advance_to_next_deadline()
        elif kind == "shutdown":
            self.queue.shutdown()
            self.model.shutdown()
        await self.settle()

    async def get(self) -> None:
        expected = self.model.next_item()
        if self.model.shut_down:
            try:
                await self.queue.get()
            except QueueShutDown:
                return
            raise AssertionError("get after shutdown did not raise QueueShutDown")
        if expected is None or self.parked is not None:
            return  # would block: that is `get_blocking`
        item = await self.queue.get()
        assert item == expected
        self.model.get()
        self.received(item)

    async def get_blocking(self, *, cancel: bool) -> None:
        if self.model.next_item() is not None or self.model.shut_down or self.parked:
            return
        task = asyncio.ensure_future(self.queue.get())
        await self.yield_to_loop()
        assert not task.done(), "get returned with nothing ready"
        if cancel:
            task.cancel()
            await self.yield_to_loop()
            assert task.cancelled()
        else:
            self.parked = task

    async def advance_to_next_deadline(self) -> None:
        deadline = self.model.next_deadline()
        if deadline is None:
            return
        just_before = math.nextafter(deadline, -math.inf)
        if just_before > self.now:
            ready, delayed = len(self.queue), self.queue.delayed
            self.clock.advance_to(just_before)
            assert (len(self.queue), self.queue.delayed) == (ready, delayed), "released early"
        self.clock.advance_to(deadline)
        self.model.release_due(self.now)
        assert self.queue.delayed == len(self.model.waiting), "not released at its deadline"

    async def settle(self) -> None:
        """Let a parked consumer take what became ready; then compare with the model."""
        await self.yield_to_loop()
        if self.parked is not None:
            if self.model.shut_down:
                assert self.parked.done() and isinstance(self.parked.exception(), QueueShutDown)
                self.parked = None
            elif self.model.next_item() is not None:
                assert self.parked.done(), "a waiting consumer was not given a ready item"
                expected = self.model.get()
                assert self.parked.result() == expected
                self.received(expected)
                self.parked = None
            else:
                assert not self.parked.done()
        assert len(self.queue) == len(self.model.ready)
        assert self.queue.delayed == len(self.model.waiting)
        for item in ITEMS:
            assert self.queue.num_requeues(item) == self.model.failures.get(item, 0)

    async def drain(self) -> None:
        """Finish all work and run out every delay: everything added since its get shows up."""
        if self.parked is not None:
            self.parked.cancel()
            await self.yield_to_loop()
            self.parked = None
        while True:
            while self.in_flight:
                item = self.in_flight.pop()
                self.queue.done(item)
                self.model.done(item, self.now)
            deadline = self.model.next_deadline()
            if deadline is not None:
                self.clock.advance_to(deadline)
                self.model.release_due(self.now)
            if not len(self.queue):
                if self.model.waiting or self.in_flight:
                    continue
                break
            expected = self.model.get()
            item = await self.queue.get()
            assert item == expected
            self.received(item)
        assert self.added_since_get == set(), f"adds lost: {sorted(self.added_since_get)}"

    @staticmethod
    async def yield_to_loop() -> None:
        for _ in range(3):
            await asyncio.sleep(0)


async def run_scenario(steps: list[tuple[object, ...]], shutdown_at: int | None) -> None:
    harness = Harness()
    for index, step in enumerate(steps):
        if index == shutdown_at:
            await harness.run(("shutdown",))
        await harness.run(step)
    if not harness.model.shut_down:
        await harness.drain()
    else:
        assert len(harness.queue) == 0 and harness.queue.delayed == 0


# no example database: a failure prints its minimal example, and no files are left behind
@settings(max_examples=500, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations, max_size=80), st.none() | st.integers(min_value=0, max_value=80))
def test_the_queue_agrees_with_the_reference_model(
        steps: list[tuple[object, ...]], shutdown_at: int | None) -> None:
    asyncio.run(run_scenario(steps, shutdown_at))

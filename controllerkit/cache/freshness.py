"""How fresh a cache is: the resourceVersion it reflects, and waiting until it shows a write.

Read-your-own-writes rests on this: a reconcile that wrote an object (and got back its
resourceVersion) waits until the cache reflects that write before reading it.

resourceVersions are opaque: the Kubernetes API conventions forbid clients to order them, so
"the cache shows the write that returned rv" cannot be "the cache's resourceVersion >= rv".
It is one of two facts instead, either of which is sound against any server:

- the cache has been AT rv: an event, bookmark or list it absorbed carried exactly rv. The
  cache only moves forward, so it shows that state or a later one;
- a list of the current state BEGAN after the first time anyone asked about rv, and has been
  applied. The write that returned rv completed before its caller asked, so a consistent list
  requested after the ask includes it (or a later state of the object).

Both are remembered for a bounded number of resourceVersions (`HISTORY`), most recently
reflected or asked about first.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

HISTORY = 4096
"""How many resourceVersions a cache remembers having reached, and having been asked about."""


class StaleCache(TimeoutError):
    """The cache did not reach a resourceVersion in time.

    `wanted` is the resourceVersion waited for, `seen` the one the cache reflects. Retrying
    later (a requeue with backoff) is the usual answer: the informer is behind or reconnecting.
    """

    def __init__(self, wanted: str, seen: str, timeout: float) -> None:
        super().__init__(
            f"cache did not reach resourceVersion {wanted} within {timeout:g}s "
            f"(it reflects {seen or 'nothing yet'})"
        )
        self.wanted = wanted
        self.seen = seen
        self.timeout = timeout


@dataclass(frozen=True, slots=True)
class ListStart:
    """A list of the current state, counted from the moment it was begun (see
    `Freshness.begin_list`); hand it back to `Freshness.finish_list` once it is applied."""

    number: int


@dataclass(slots=True, eq=False)
class _Waiter:
    resource_version: str
    # How many lists had begun at the first ask about `resource_version`.
    asked_after_lists: int
    future: asyncio.Future[None]


class Freshness:
    """The resourceVersion a cache reflects, the ones it has reached, and their waiters.

    A resourceVersion is reached when the cache has been at exactly it (`set`), or when a list
    of the current state begun after its first ask (`has_reached` or `wait`) has been applied
    (`begin_list`, then `finish_list`).

    Guarantees: a waiter wakes as soon as its resourceVersion is reached, and every waiter is
    woken or times out; once reached, a resourceVersion stays reached while it is among the
    last `history` ones reached or asked about. Not guaranteed: that a write outside the
    cache's scope, or one whose event a relist from the last resourceVersion skipped, is
    reached before the next list of the current state. Everything runs on the event loop.
    """

    def __init__(self, *, history: int = HISTORY) -> None:
        if history < 1:
            raise ValueError(f"history must be at least 1, not {history}")
        self._history = history
        self._resource_version = ""
        self._reached: OrderedDict[str, None] = OrderedDict()
        # Not reached yet: resourceVersion -> how many lists had begun at its first ask.
        self._asked: OrderedDict[str, int] = OrderedDict()
        self._lists_begun = 0
        self._waiters: list[_Waiter] = []

    @property
    def resource_version(self) -> str:
        """The last resourceVersion `set` ("" before any)."""
        return self._resource_version

    def has_reached(self, resource_version: str) -> bool:
        """Whether `resource_version` is reached (see the class); a first ask is recorded."""
        _check(resource_version)
        if resource_version == self._resource_version or resource_version in self._reached:
            self._remember(resource_version)
            return True
        self._asked_after_lists(resource_version)
        return False

    async def wait(self, resource_version: str, timeout: float) -> None:  # noqa: ASYNC109
        """Return once `resource_version` is reached; `StaleCache` after `timeout` seconds."""
        if self.has_reached(resource_version):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(resource_version, self._asked_after_lists(resource_version), future)
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await future
        except TimeoutError:
            raise StaleCache(resource_version, self._resource_version, timeout) from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def set(self, resource_version: str) -> None:
        """Record that the cache is at `resource_version` (ignored when empty) and wake its
        waiters."""
        if not resource_version:
            return
        self._resource_version = resource_version
        self._remember(resource_version)
        if self._waiters:
            self._wake(lambda waiter: waiter.resource_version == resource_version)

    def begin_list(self) -> ListStart:
        """Count a list of the current state (a consistent read) as begun now.

        Call it right before the request is sent: every resourceVersion asked about before
        this call is reached once `finish_list` is given the result.
        """
        self._lists_begun += 1
        return ListStart(self._lists_begun)

    def finish_list(self, start: ListStart) -> None:
        """Record that the list begun with `start` has been applied; wake whom it reaches."""
        released = [rv for rv, lists in self._asked.items() if lists < start.number]
        for resource_version in released:
            self._remember(resource_version)
        if self._waiters:
            self._wake(lambda waiter: waiter.asked_after_lists < start.number)

    def _asked_after_lists(self, resource_version: str) -> int:
        """How many lists had begun when `resource_version` was first asked about."""
        lists = self._asked.get(resource_version)
        if lists is None:
            lists = self._asked[resource_version] = self._lists_begun
            if len(self._asked) > self._history:
                # Forgetting an ask only delays its answer: a later ask is recorded anew.
                self._asked.popitem(last=False)
        else:
            self._asked.move_to_end(resource_version)
        return lists

    def _remember(self, resource_version: str) -> None:
        reached = self._reached
        if resource_version in reached:
            reached.move_to_end(resource_version)
        else:
            reached[resource_version] = None
            if len(reached) > self._history:
                reached.popitem(last=False)
        if self._asked:
            self._asked.pop(resource_version, None)

    def _wake(self, releases: Callable[[_Waiter], bool]) -> None:
        still_waiting = []
        for waiter in self._waiters:
            if waiter.future.done():
                continue
            if releases(waiter):
                self._remember(waiter.resource_version)
                waiter.future.set_result(None)
            else:
                still_waiting.append(waiter)
        self._waiters = still_waiting


def _check(resource_version: str) -> None:
    if not resource_version:
        raise ValueError("an empty resourceVersion names no state of the cache")

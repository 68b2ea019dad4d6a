"""How fresh a cache is: the resourceVersion it reflects, and waiting for a later one.

Read-your-own-writes rests on this: a reconcile that wrote an object (and got back its
resourceVersion) waits until the cache reflects that resourceVersion before reading it.
"""

from __future__ import annotations

import asyncio


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


def comparable(rv: str) -> int:
    """`rv` as an integer; ValueError if it is not one (then it cannot be compared)."""
    try:
        return int(rv)
    except ValueError:
        raise ValueError(
            f"resourceVersion {rv!r} is not an integer; it cannot be compared"
        ) from None


class Freshness:
    """The resourceVersion a cache reflects, and the tasks waiting for it to advance.

    Guarantees: a waiter wakes as soon as `set` records its resourceVersion or a later one,
    and every waiter is woken or times out. Everything runs on the event loop.
    """

    def __init__(self) -> None:
        self._resource_version = ""
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    @property
    def resource_version(self) -> str:
        return self._resource_version

    def has_reached(self, resource_version: str) -> bool:
        wanted = comparable(resource_version)
        return bool(self._resource_version) and comparable(self._resource_version) >= wanted

    async def wait(self, resource_version: str, timeout: float) -> None:  # noqa: ASYNC109
        """Return once `resource_version` is reached; `StaleCache` after `timeout` seconds."""
        wanted = comparable(resource_version)
        if self.has_reached(resource_version):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = (wanted, future)
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
        """Record `resource_version` (ignored when empty or unchanged) and wake its waiters."""
        if not resource_version or resource_version == self._resource_version:
            return
        self._resource_version = resource_version
        if self._waiters:
            self._wake_waiters()

    def _wake_waiters(self) -> None:
        try:
            current = comparable(self._resource_version)
        except ValueError:
            return
        still_waiting = []
        for wanted, future in self._waiters:
            if future.done():
                continue
            if current >= wanted:
                future.set_result(None)
            else:
                still_waiting.append((wanted, future))
        self._waiters = still_waiting

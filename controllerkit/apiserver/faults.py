"""Test extras: injected faults and a log of the requests served.

Client code (reflectors, informers, controllers) must survive dropped watches and expired
resourceVersions; these switches make the embedded server produce them on demand, and the
request log lets a test assert what a client asked for (for example: no list after a resume).
Both are inert by default and cost nothing when unused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

MAX_LOGGED_REQUESTS = 100_000


@dataclass
class FaultInjector:
    """Faults the server injects into the requests it serves."""

    # End every watch stream after this many events (0: never), as a flaky network would.
    drop_watch_every: int = 0
    # Answer this many upcoming watch requests that name a resourceVersion with 410 Expired.
    expire_next_watches: int = 0

    def take_watch_expiry(self) -> bool:
        if self.expire_next_watches > 0:
            self.expire_next_watches -= 1
            return True
        return False


@dataclass(frozen=True)
class RequestRecord:
    verb: str
    group: str
    plural: str
    namespace: str
    name: str
    query: dict[str, str]


@dataclass
class RequestLog:
    """The resource requests served, oldest first (bounded)."""

    records: list[RequestRecord] = field(default_factory=list)

    def add(self, record: RequestRecord) -> None:
        if len(self.records) >= MAX_LOGGED_REQUESTS:
            del self.records[: MAX_LOGGED_REQUESTS // 2]
        self.records.append(record)

    def count(self, verb: str, plural: str | None = None) -> int:
        return sum(1 for r in self.records if r.verb == verb and plural in (None, r.plural))

    def verbs(self) -> Counter[str]:
        return Counter(r.verb for r in self.records)

    def clear(self) -> None:
        self.records.clear()

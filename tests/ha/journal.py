"""A reconcile journal shared by replica processes, and the overlap check over it.

Each replica appends one JSON line when a reconcile of a key starts and one when it ends.
Lines are written with a single `write` on a file opened with `O_APPEND`, so lines from
several processes never interleave. Times are wall-clock (`time.time()`): all replicas run on
this machine, so they share one clock.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Interval:
    """One reconcile of `key` by `replica`, from `start` to `end` (wall-clock seconds)."""

    replica: str
    key: str
    start: float
    end: float


class Journal:
    """Appends start and end records of reconciles to a file several processes share."""

    def __init__(self, path: Path, replica: str) -> None:
        self.path = path
        self.replica = replica

    def record(self, key: str, event: str) -> None:
        """Append `event` (`start` or `end`) for `key`, now."""
        line = json.dumps({"replica": self.replica, "key": key, "event": event,
                           "t": time.time()}) + "\n"
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, line.encode())
        finally:
            os.close(descriptor)


def read_intervals(path: Path, *, died_at: dict[str, float] | None = None) -> list[Interval]:
    """The reconciles in the journal at `path`.

    A start without an end (the replica was killed mid-reconcile) lasts until the replica's
    time in `died_at`, or forever when it is not there: an unfinished reconcile of a live
    replica may still be running.
    """
    died_at = died_at or {}
    open_starts: dict[tuple[str, str], float] = {}
    intervals: list[Interval] = []
    if not path.exists():
        return intervals
    for line in path.read_text().splitlines():
        if not line:
            continue
        record = json.loads(line)
        at = (record["replica"], record["key"])
        if record["event"] == "start":
            open_starts[at] = record["t"]
        elif at in open_starts:
            intervals.append(Interval(at[0], at[1], open_starts.pop(at), record["t"]))
    for (replica, key), start in open_starts.items():
        intervals.append(Interval(replica, key, start, died_at.get(replica, float("inf"))))
    return intervals


def overlapping(intervals: list[Interval]) -> list[tuple[Interval, Interval]]:
    """Pairs of reconciles of the same key that ran at the same time, whichever replicas."""
    by_key: dict[str, list[Interval]] = defaultdict(list)
    for interval in intervals:
        by_key[interval.key].append(interval)
    pairs: list[tuple[Interval, Interval]] = []
    for runs in by_key.values():
        runs.sort(key=lambda run: run.start)
        latest = runs[0] if runs else None
        for run in runs[1:]:
            assert latest is not None
            if run.start < latest.end:
                pairs.append((latest, run))
            if run.end > latest.end:
                latest = run
    return pairs


def reconcilers_of(intervals: list[Interval], since: float = 0.0) -> dict[str, set[str]]:
    """For each key, the replicas that started reconciling it at or after `since`."""
    replicas: dict[str, set[str]] = defaultdict(set)
    for interval in intervals:
        if interval.start >= since:
            replicas[interval.key].add(interval.replica)
    return dict(replicas)

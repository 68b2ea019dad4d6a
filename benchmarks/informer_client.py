"""One measured informer start, in a process of its own: `python -m benchmarks.informer_client`.

The informer benchmark (`benchmarks.informer`) runs this module once per measurement so that
every start is a cold process: nothing cached in memory, and the resident set size (RSS) before
and after the cache fills belongs to this informer alone. It times a `SharedInformer` from start
to `has_synced`:

- without `--checkpoint`: a cold start (paginated or streaming list);
- with `--checkpoint` and no checkpoint stored yet: a cold start that saves its checkpoint when
  the informer stops (the "prime" run);
- with `--checkpoint` after such a run: a warm start from that checkpoint (and, for a lazy
  one, the time until the background load has every object in memory).

The result is one JSON line on stdout (see `Result`); anything else goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from controllerkit.cache import (
    CheckpointStore,
    ReflectorOptions,
    SharedInformer,
    Store,
    compose,
    drop_managed_fields,
    share_strings,
)
from controllerkit.cache.checkpoint_file import FileCheckpointStore
from controllerkit.cache.checkpoint_sqlite import SQLiteCheckpointStore
from controllerkit.client import KubeClient
from controllerkit.meta import CONFIG_MAP

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
# Generous: a 100k-object list from a busy two-core machine takes tens of seconds.
_SYNC_TIMEOUT = 600.0


@dataclass(frozen=True)
class Result:
    """What one informer start measured."""

    objects: int
    sync_seconds: float
    # From start until every object is in memory: later than has_synced after a lazy warm
    # restart (the rest of the snapshot loads in the background), the same otherwise.
    loaded_seconds: float
    # CPU of this whole process (all threads) from start to has_synced.
    cpu_seconds: float
    # Current RSS after imports and client setup, and after the cache filled (both after a
    # full garbage collection).
    rss_before: int
    rss_after: int
    # The cached objects' Python memory: every distinct object reachable from the cache,
    # counted once (0 unless asked for: walking 100k objects takes seconds).
    heap_bytes: int
    lists: int
    streaming_lists: int
    warm_starts: int


def current_rss() -> int:
    """This process's resident set size now, in bytes (Linux /proc)."""
    fields = Path("/proc/self/statm").read_text().split()
    return int(fields[1]) * _PAGE_BYTES


def heap_bytes(roots: list[object]) -> int:
    """sys.getsizeof summed over every distinct object reachable through dicts and lists.

    Shared objects (interned strings, orjson's cached keys, small ints) count once, which is
    what `share_strings` saves.
    """
    seen: set[int] = set()
    total = 0
    stack = list(roots)
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if type(item) is dict:
            stack.extend(item.keys())
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return total


def open_checkpoint_store(kind: str, path: Path) -> CheckpointStore:
    if kind == "file":
        return FileCheckpointStore(path)
    return SQLiteCheckpointStore(path)


def cached_heap_bytes(store: Store) -> int:
    """What the store's objects take as Python objects (walked, each counted once).

    A dict store: every dict, list and string of the decoded objects. A compact store: the
    JSON bytes, names and resourceVersions it keeps (read back through `encoded()`, whose
    lists are not counted).
    """
    if not store.compact:
        return heap_bytes(list(store.list()))
    runs = store.encoded().runs
    return heap_bytes([item for run in runs for part in (run.names, run.versions, run.data)
                       for item in part])


async def measure(args: argparse.Namespace) -> Result:
    transform = compose(drop_managed_fields, share_strings) if args.transforms else None
    store = open_checkpoint_store(args.checkpoint, args.checkpoint_path) if args.checkpoint \
        else None
    options = ReflectorOptions(streaming_list=args.list == "streaming")
    async with KubeClient.from_url(args.url) as client:
        # Open the connection first, so the timed start is the informer's work only.
        await client.list(CONFIG_MAP, namespace=args.namespace, limit=1)
        informer = SharedInformer(client, CONFIG_MAP, namespace=args.namespace,
                                  transform=transform, checkpoint_store=store, options=options,
                                  compact=args.compact)
        gc.collect()
        rss_before = current_rss()
        cpu_start, start = time.process_time(), time.perf_counter()
        async with informer:
            await informer.wait_for_sync(timeout=_SYNC_TIMEOUT)
            elapsed = time.perf_counter() - start
            # Polled: the background load offers nothing to wait on, and a millisecond of
            # polling granularity is below the figures' noise.
            while informer.store.unloaded:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            loaded = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
            gc.collect()
            rss_after = current_rss()
            if len(informer.store) != args.expect:
                raise RuntimeError(
                    f"the cache holds {len(informer.store)} objects, not {args.expect}")
            heap = cached_heap_bytes(informer.store) if args.heap else 0
        stats = informer.reflector.stats
    if store is not None:
        await store.aclose()
    return Result(
        objects=len(informer.store), sync_seconds=elapsed, loaded_seconds=loaded,
        cpu_seconds=cpu,
        rss_before=rss_before, rss_after=rss_after, heap_bytes=heap, lists=stats.lists,
        streaming_lists=stats.streaming_lists, warm_starts=stats.warm_starts,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.informer_client",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--url", required=True, help="the API server")
    parser.add_argument("--namespace", required=True, help="the ConfigMaps' namespace")
    parser.add_argument("--expect", type=int, required=True, help="ConfigMaps it must cache")
    parser.add_argument("--list", choices=("paged", "streaming"), default="paged",
                        help="how a cold start gets the initial state (paged)")
    parser.add_argument("--transforms", action="store_true",
                        help="cache with drop_managed_fields and share_strings")
    parser.add_argument("--compact", action="store_true",
                        help="a compact cache (objects kept as JSON bytes)")
    parser.add_argument("--checkpoint", choices=("file", "sqlite"),
                        help="checkpoint store (prime writes it, warm reads it)")
    parser.add_argument("--checkpoint-path", type=Path,
                        help="the file store's directory or the SQLite database")
    parser.add_argument("--heap", action="store_true",
                        help="also walk the cache to sum its Python objects' sizes")
    args = parser.parse_args(argv)
    if (args.checkpoint is None) != (args.checkpoint_path is None):
        parser.error("--checkpoint and --checkpoint-path go together")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(measure(args))
    sys.stdout.buffer.write(orjson.dumps(dataclasses.asdict(result)) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

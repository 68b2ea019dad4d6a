"""Informer cold sync, cache memory and warm restart, against an API server in its own process.

    python -m benchmarks.informer                 # 10k (3 repetitions) and 100k ConfigMaps (1)
    python -m benchmarks.informer --sizes 10000   # one size
    python -m benchmarks.informer --quick         # a fast smoke run with few objects

For each size a fresh server process is loaded with N ConfigMaps of about 1 KB (created by
server-side apply, so they carry managedFields as on a real cluster). Then every measurement
starts a fresh client process (`benchmarks.informer_client`) that times a `SharedInformer` from
start to `has_synced`, for two kinds of cache (the default one of decoded dicts, and the
compact one, `compact=True`, of JSON bytes), each without and with the transforms
`drop_managed_fields` + `share_strings`:
- cold sync with a paginated list (500 a page) and with a streaming list (objects/s = N / time);
- the RSS the cache adds (RSS after the sync minus before, over N) and its ratio to the raw JSON
  the server sends per object;
- warm restart: a first informer saves a file (or SQLite) checkpoint when it stops, a second one
  in a new process starts from it; its time to `has_synced` against the faster cold sync of the
  same kind of cache with the same transforms.
The table gives the median and the min/max over repetitions.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

import aiohttp
import orjson

from controllerkit.cache import drop_managed_fields
from controllerkit.client import KubeClient, PatchType
from controllerkit.meta import CONFIG_MAP, NAMESPACE

from .informer_client import Result
from .report import Figure, environment, run_and_print, table
from .server_process import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
BENCH_NAMESPACE = "informer-bench"
FIELD_MANAGER = "informer-bench-loader"
# Three values of ~150 characters: about 1 KB of ConfigMap JSON with its metadata.
_FILLER = "abcdefghijklmnopqrstuvwxyz0123456789" * 5
VALUE_LENGTH = 150
RSS_GOAL = 2.0
SPEED_UP_GOAL = 10.0


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...]
    # None: 3 repetitions up to 10k objects, 1 above (a 100k repetition takes minutes).
    repeat: int | None
    loaders: int

    def repetitions(self, size: int) -> int:
        if self.repeat is not None:
            return self.repeat
        return 3 if size <= 10_000 else 1


def config_map(index: int) -> dict[str, object]:
    """The index-th ConfigMap: three ~150-character values, two labels."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"settings-{index:06d}",
            "namespace": BENCH_NAMESPACE,
            "labels": {"app": "informer-bench", "shard": str(index % 16)},
        },
        "data": {
            f"value-{k}.conf": f"{index:06d}-{k}:{_FILLER}"[:VALUE_LENGTH] for k in range(3)
        },
    }


@dataclass(frozen=True)
class Loaded:
    """The server's objects as served: JSON bytes per object, with and without managedFields."""

    objects: int
    seconds: float
    json_bytes: float
    json_bytes_without_managed_fields: float


async def load(url: str, size: int, loaders: int) -> Loaded:
    """Create `size` ConfigMaps by server-side apply from `loaders` concurrent tasks."""
    async with KubeClient.from_url(url) as client:
        await client.create(NAMESPACE, {"metadata": {"name": BENCH_NAMESPACE}})
        indexes = iter(range(size))

        async def loader() -> None:
            for index in indexes:  # shared: each index goes to one loader
                await client.patch(CONFIG_MAP, f"settings-{index:06d}", config_map(index),
                                   namespace=BENCH_NAMESPACE, patch_type=PatchType.APPLY,
                                   field_manager=FIELD_MANAGER)

        start = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for _ in range(loaders):
                group.create_task(loader())
        elapsed = time.perf_counter() - start
    # The list body exactly as the server sends it, decoded here only to count and to size
    # the objects without managedFields.
    async with aiohttp.ClientSession() as session, session.get(
        f"{url}{CONFIG_MAP.path(BENCH_NAMESPACE)}"
    ) as response:
        response.raise_for_status()
        body = await response.read()
    items = orjson.loads(body)["items"]
    if len(items) != size:
        raise RuntimeError(f"the server lists {len(items)} ConfigMaps, not {size}")
    slim = sum(len(orjson.dumps(drop_managed_fields(item))) for item in items)
    return Loaded(size, elapsed, len(body) / size, slim / size)


async def informer_run(url: str, size: int, *options: str) -> Result:
    """One `benchmarks.informer_client` process; its result, or RuntimeError with its stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.informer_client", "--url", url,
        "--namespace", BENCH_NAMESPACE, "--expect", str(size), *options,
        cwd=ROOT, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(f"informer client {' '.join(options)} exited with {proc.returncode}: "
                           + " | ".join(tail))
    values = orjson.loads(out.splitlines()[-1])
    return Result(**{f.name: values[f.name] for f in fields(Result)})


@dataclass(frozen=True)
class Mode:
    """One way to cache: its figures' key suffix and label, and the client options for it."""

    key: str
    label: str
    options: tuple[str, ...]


PLAIN = Mode("", "", ())
SLIM = Mode("_slim", "transforms", ("--transforms",))
COMPACT = Mode("_compact", "compact", ("--compact",))
COMPACT_SLIM = Mode("_compact_slim", "compact + transforms", ("--compact", "--transforms"))
MODES = (PLAIN, SLIM, COMPACT, COMPACT_SLIM)


def new_figures() -> dict[str, Figure]:
    since_start = "ms (start to has_synced)"
    goal = f"goal >= {SPEED_UP_GOAL:g}"
    figures = {
        "cold_paged": Figure("cold sync, paginated list", since_start),
        "cold_streaming": Figure("cold sync, streaming list", since_start),
        "rate_paged": Figure("objects/s, paginated list", "objects/s (received, decoded, cached)"),
        "rate_streaming": Figure("objects/s, streaming list", "objects/s"),
        "cpu": Figure("client CPU per object", "µs (paginated list, all threads)"),
        "rss": Figure("RSS per cached object", "bytes (RSS after sync - before, / N)"),
        "rss_ratio": Figure("RSS / raw JSON", f"x (goal <= {RSS_GOAL:g})"),
        "heap": Figure("Python objects per cached object", "bytes (sys.getsizeof, shared once)"),
        "cold_slim": Figure("cold sync, transforms",
                            "ms (drop_managed_fields + share_strings; faster list kind)"),
        "rss_slim": Figure("RSS per cached object, transforms", "bytes (paginated list)"),
        "rss_slim_ratio": Figure("RSS / raw JSON, transforms",
                                 f"x (to the JSON as served; goal <= {RSS_GOAL:g})"),
        "heap_slim": Figure("Python objects per cached object, transforms", "bytes"),
        "warm_file": Figure("warm restart, file checkpoint", since_start),
        "warm_sqlite": Figure("warm restart, SQLite checkpoint", since_start),
        "warm_file_slim": Figure("warm restart, file checkpoint, transforms", since_start),
        "speed_up_file": Figure("warm speed-up, file",
                                f"x (faster cold sync / warm; {goal})"),
        "speed_up_sqlite": Figure("warm speed-up, SQLite", f"x ({goal})"),
        "speed_up_file_slim": Figure("warm speed-up, file, transforms",
                                     f"x (vs cold sync, transforms; {goal})"),
    }
    for mode in (COMPACT, COMPACT_SLIM):
        k, name = mode.key, mode.label
        figures |= {
            f"cold_paged{k}": Figure(f"cold sync, {name}, paginated list", since_start),
            f"cold_streaming{k}": Figure(f"cold sync, {name}, streaming list", since_start),
            f"cpu{k}": Figure(f"client CPU per object, {name}", "µs (paginated list)"),
            f"rss{k}": Figure(f"RSS per cached object, {name}", "bytes (paginated list)"),
            f"rss{k}_ratio": Figure(f"RSS / raw JSON, {name}",
                                    f"x (to the JSON as served; goal <= {RSS_GOAL:g})"),
            f"heap{k}": Figure(f"Python objects per cached object, {name}",
                               "bytes (the JSON bytes, names, resourceVersions)"),
            f"warm_file{k}": Figure(f"warm restart, {name}, file checkpoint", since_start),
            f"warm_file_loaded{k}": Figure(f"warm restart, {name}, file, fully loaded",
                                           "ms (start to every object in memory)"),
            f"warm_sqlite{k}": Figure(f"warm restart, {name}, SQLite checkpoint", since_start),
            f"speed_up_file{k}": Figure(f"warm speed-up, {name}, file",
                                        f"x (vs the faster cold sync, {name}; {goal})"),
            f"speed_up_sqlite{k}": Figure(f"warm speed-up, {name}, SQLite", f"x ({goal})"),
            f"speed_up_default{k}": Figure(
                f"warm speed-up, {name}, file, vs default cache",
                "x (the default cache's faster cold sync, same transforms / this warm)"),
        }
    return figures


async def warm_restart(url: str, size: int, store: str, path: Path, *options: str) -> Result:
    """A first informer saves a checkpoint; the run of a second one started from it."""
    checkpoint = ("--checkpoint", store, "--checkpoint-path", str(path), *options)
    first = await informer_run(url, size, *checkpoint)
    if first.warm_starts != 0:
        raise RuntimeError(f"the {store} checkpoint existed before the first informer ran")
    warm = await informer_run(url, size, *checkpoint)
    if warm.warm_starts != 1 or warm.lists or warm.streaming_lists:
        raise RuntimeError(f"the {store} restart was not warm: {warm}")
    return warm


async def cold_syncs(url: str, size: int, *options: str) -> tuple[Result, Result]:
    """A cold start with a paginated list (its heap walked), then one with a streaming list."""
    paged = await informer_run(url, size, "--list", "paged", "--heap", *options)
    streaming = await informer_run(url, size, "--list", "streaming", *options)
    if paged.lists != 1 or streaming.streaming_lists != 1:
        raise RuntimeError(f"unexpected ways of listing: {paged}, {streaming}")
    return paged, streaming


def record_cold(figures: dict[str, Figure], loaded: Loaded, mode: Mode, paged: Result,
                streaming: Result) -> float:
    """Record a mode's cold syncs and memory; the faster cold sync, in seconds."""
    size, k = loaded.objects, mode.key
    cold = min(paged.sync_seconds, streaming.sync_seconds)
    per_object = (paged.rss_after - paged.rss_before) / size
    figures[f"rss{k}"].add(per_object)
    figures[f"rss{k}_ratio"].add(per_object / loaded.json_bytes)
    figures[f"heap{k}"].add(paged.heap_bytes / size)
    if mode is SLIM:
        figures["cold_slim"].add(cold * 1000)
        return cold
    figures[f"cold_paged{k}"].add(paged.sync_seconds * 1000)
    figures[f"cold_streaming{k}"].add(streaming.sync_seconds * 1000)
    figures[f"cpu{k}"].add(paged.cpu_seconds / size * 1e6)
    if mode is PLAIN:
        figures["rate_paged"].add(size / paged.sync_seconds)
        figures["rate_streaming"].add(size / streaming.sync_seconds)
    return cold


async def repetition(url: str, loaded: Loaded, figures: dict[str, Figure]) -> None:
    size = loaded.objects
    cold: dict[str, float] = {}
    for mode in MODES:
        paged, streaming = await cold_syncs(url, size, *mode.options)
        cold[mode.key] = record_cold(figures, loaded, mode, paged, streaming)
    with tempfile.TemporaryDirectory(prefix="informer-bench-") as directory:
        for mode, store in (
            (PLAIN, "file"), (PLAIN, "sqlite"), (SLIM, "file"),
            (COMPACT, "file"), (COMPACT, "sqlite"),
            (COMPACT_SLIM, "file"), (COMPACT_SLIM, "sqlite"),
        ):
            # The plain figures' names predate the modes: "warm_file_slim", not "..._slim_file".
            name = f"{store}{mode.key}"
            path = Path(directory, f"{name}.db" if store == "sqlite" else name)
            warm = await warm_restart(url, size, store, path, *mode.options)
            figures[f"warm_{name}"].add(warm.sync_seconds * 1000)
            if store == "file" and mode in (COMPACT, COMPACT_SLIM):
                figures[f"warm_file_loaded{mode.key}"].add(warm.loaded_seconds * 1000)
            figures[f"speed_up_{name}"].add(cold[mode.key] / warm.sync_seconds)
            if store == "file" and mode in (COMPACT, COMPACT_SLIM):
                # What switching a default cache to a compact one with checkpoints saves.
                default = PLAIN if mode is COMPACT else SLIM
                figures[f"speed_up_default{mode.key}"].add(cold[default.key] / warm.sync_seconds)


async def measure_size(settings: Settings, size: int) -> None:
    repeat = settings.repetitions(size)
    async with ServerProcess() as server:
        loaded = await load(server.url, size, settings.loaders)
        figures = new_figures()
        for index in range(repeat):
            print(f"{size} objects: repetition {index + 1}/{repeat}", file=sys.stderr,
                  flush=True)
            await repetition(server.url, loaded, figures)
    runs = "1 repetition" if repeat == 1 else f"{repeat} repetitions"
    print()
    print(f"{size:,} ConfigMaps, {loaded.json_bytes:,.0f} B of JSON each as served "
          f"({loaded.json_bytes_without_managed_fields:,.0f} B without managedFields); "
          f"loaded at {size / loaded.seconds:,.0f}/s by {settings.loaders} server-side apply "
          f"clients; {runs}")
    print(table(list(figures.values())), flush=True)


def parse_args(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.informer",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run: 300 objects, once")
    parser.add_argument("--sizes", help="comma-separated object counts (10000,100000)")
    parser.add_argument("--repeat", type=int,
                        help="repetitions per size (3 up to 10k objects, 1 above)")
    parser.add_argument("--loaders", type=int, default=16,
                        help="concurrent clients loading the server (16)")
    args = parser.parse_args(argv)
    try:
        sizes = tuple(int(part) for part in args.sizes.split(",")) if args.sizes else None
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, not {args.sizes!r}")
    if sizes is None:
        sizes = (300,) if args.quick else (10_000, 100_000)
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else None)
    if min(sizes) < 1 or (repeat is not None and repeat < 1) or args.loaders < 1:
        parser.error("counts must be positive")
    return Settings(sizes=sizes, repeat=repeat, loaders=args.loaders)


async def run(settings: Settings) -> None:
    task = asyncio.current_task()
    assert task is not None
    # SIGTERM unwinds like Ctrl-C, so the server and client processes are stopped on the way.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    for size in settings.sizes:
        await measure_size(settings, size)


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    print("controllerkit informer benchmark")
    print(environment())
    print("each figure from a fresh client process against one server process per size; "
          "median, min and max over repetitions", flush=True)
    return run_and_print(run(settings))


if __name__ == "__main__":
    sys.exit(main())

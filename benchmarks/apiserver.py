"""Throughput and latency of the embedded API server, measured from a separate process.

    python -m benchmarks.apiserver            # 10k objects, 5 repetitions
    python -m benchmarks.apiserver --quick    # a fast smoke run with few objects

Every repetition starts a fresh server process, creates a CRD and then measures, in order:
creates, status merge-patches, full and paginated LISTs, the server's peak RSS with the objects
loaded, and watch fan-out (per-event latency to the last of W watchers, and delivery rate). The
table gives the median and the min/max over repetitions.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from dataclasses import dataclass

import aiohttp

from .report import Figure, environment, run_and_print
from .resources import COLLECTION, Client, StatusWriter, concurrently, gadget, install_crd
from .server_process import ServerProcess
from .watch_fanout import watch_fanout

PAGE_SIZE = 500


@dataclass(frozen=True)
class Settings:
    objects: int
    patches: int
    clients: int
    watchers: int
    watch_events: int
    burst: int
    repeat: int


def new_figures(settings: Settings) -> dict[str, Figure]:
    writers = f"{settings.clients} clients"
    objects = f"{settings.objects} objects"
    watch = f"{settings.watchers} watchers"
    return {
        "create": Figure("create", f"objects/s ({writers})"),
        "patch": Figure("status-patch", f"patches/s ({writers}, {settings.patches} objects)"),
        "list_full": Figure("list full", f"ms ({objects}, one request)"),
        "list_paged": Figure(f"list paged (limit={PAGE_SIZE})", f"ms ({objects})"),
        "rss": Figure("server max RSS", f"MiB (VmHWM, {objects} loaded)"),
        "watch_p50": Figure("watch latency median",
                            f"ms (write response to last of {watch}, "
                            f"{settings.watch_events} events)"),
        "watch_p95": Figure("watch latency p95", "ms (same events)"),
        "watch_rate": Figure("watch events delivered",
                             f"events/s (sum over {watch}, burst of {settings.burst} "
                             f"writes by {writers})"),
    }


async def repetition(settings: Settings, figures: dict[str, Figure]) -> None:
    """One fresh server process; adds one value to every figure."""
    connector = aiohttp.TCPConnector(limit=0)
    async with ServerProcess() as server, aiohttp.ClientSession(connector=connector) as session:
        client = Client(session, server.url)
        await install_crd(client)
        versions: dict[str, str] = {}
        writer = StatusWriter(client, versions)

        async def create(index: int) -> None:
            obj = await client.call("POST", COLLECTION, 201, gadget(index))
            versions[obj["metadata"]["name"]] = str(obj["metadata"]["resourceVersion"])

        elapsed = await concurrently(settings.clients, iter(range(settings.objects)), create)
        figures["create"].add(settings.objects / elapsed)
        figures["rss"].add(server.max_rss_bytes() / 2**20)
        names = sorted(versions)

        async def patch(name: str) -> None:
            await writer.patch(name)

        patched = names[: settings.patches]
        elapsed = await concurrently(settings.clients, iter(patched), patch)
        figures["patch"].add(len(patched) / elapsed)

        start = time.perf_counter()
        full = await client.call("GET", COLLECTION, 200)
        figures["list_full"].add((time.perf_counter() - start) * 1000)
        if len(full["items"]) != settings.objects:
            raise RuntimeError(f"LIST returned {len(full['items'])} of {settings.objects}")

        start = time.perf_counter()
        count, token = 0, ""
        while True:
            query = f"?limit={PAGE_SIZE}" + (f"&continue={token}" if token else "")
            page = await client.call("GET", COLLECTION + query, 200)
            count += len(page["items"])
            token = page["metadata"].get("continue", "")
            if not token:
                break
        figures["list_paged"].add((time.perf_counter() - start) * 1000)
        if count != settings.objects:
            raise RuntimeError(f"paginated LIST returned {count} of {settings.objects}")

        fanout = await watch_fanout(server.url, writer, names, watchers=settings.watchers,
                                    events=settings.watch_events, burst=settings.burst,
                                    clients=settings.clients)
        figures["watch_p50"].add(fanout.latency_median * 1000)
        figures["watch_p95"].add(fanout.latency_p95 * 1000)
        figures["watch_rate"].add(fanout.events_per_second)


def parse_args(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.apiserver",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: few objects, watchers and events")
    parser.add_argument("--repeat", type=int, help="repetitions per figure (5; quick: 1)")
    parser.add_argument("--objects", type=int, help="objects created and listed (10000)")
    parser.add_argument("--patches", type=int, help="status patches, one per object (5000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent writers (8)")
    parser.add_argument("--watchers", type=int, help="concurrent watch streams (100)")
    parser.add_argument("--watch-events", type=int,
                        help="sequential writes timed for watch latency (200)")
    parser.add_argument("--burst", type=int,
                        help="concurrent writes timed for watch delivery rate (1000)")
    args = parser.parse_args(argv)
    quick = args.quick

    def pick(given: int | None, normal: int, smoke: int) -> int:
        return given if given is not None else (smoke if quick else normal)

    settings = Settings(
        objects=pick(args.objects, 10_000, 300),
        patches=pick(args.patches, 5_000, 150),
        clients=args.clients,
        watchers=pick(args.watchers, 100, 20),
        watch_events=pick(args.watch_events, 200, 20),
        burst=pick(args.burst, 1_000, 100),
        repeat=pick(args.repeat, 5, 1),
    )
    if min(settings.objects, settings.patches, settings.clients, settings.watchers,
           settings.watch_events, settings.burst, settings.repeat) < 1:
        parser.error("counts must be positive")
    if settings.patches > settings.objects or settings.burst > settings.objects:
        parser.error("--patches and --burst may not exceed --objects (distinct objects)")
    return settings


async def run(settings: Settings) -> list[Figure]:
    task = asyncio.current_task()
    assert task is not None
    # SIGTERM unwinds like Ctrl-C, so the server process is stopped on the way out.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    figures = new_figures(settings)
    for index in range(settings.repeat):
        print(f"repetition {index + 1}/{settings.repeat}", file=sys.stderr, flush=True)
        await repetition(settings, figures)
    return list(figures.values())


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    print("controllerkit embedded API server benchmark")
    print(environment())
    runs = "1 repetition" if settings.repeat == 1 else f"{settings.repeat} repetitions"
    print(f"{runs}, each against a fresh server process; median, min and max over them",
          flush=True)
    return run_and_print(run(settings))


if __name__ == "__main__":
    sys.exit(main())

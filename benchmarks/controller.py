"""The same controller job done by three contenders, each in a process of its own.

    python -m benchmarks.controller            # 2,000 Gadgets, 3 rounds per contender
    python -m benchmarks.controller --quick    # 200 Gadgets, 1 round: a smoke run

The job: for every Gadget created, set its `Ready` condition to True through the status
subresource. The contenders (modules of `benchmarks.controller_contenders`):

  (a) floor          plain aiohttp: one watch, one merge patch of /status per new Gadget,
                     at most 16 in flight; the least a Python process can do
  (b) controllerkit  one `@manager.controller` reconcile function with 16 workers,
                     `ctx.set_condition` and `ctx.client.write_status`
  (c) kopf           one `@kopf.on.create` handler patching the status, kopf standalone

Every round starts a fresh API server process (`controllerkit apiserver`; the floor and kopf
patch status without a resourceVersion, which it accepts as a real server does), installs the
CRD and starts the contender. One warm-up Gadget must become Ready before the clock starts,
so imports, login and cache syncs are not measured. Then N Gadgets are created as fast as
possible (8 concurrent creates; `--rate` paces them instead) while the contender works, and a
watcher in this process notes when each one is first seen Ready. The rounds go (a), (b), (c),
(a), ... so a drift of the machine's load spreads over every contender.

Figures, the median over rounds:

- objects/s: N / (first create sent -> last Ready seen);
- CPU s: user + system time of the contender process (/proc/<pid>/stat) from the first create
  until it is idle after the last Ready (at most 20 ms of CPU in 0.5 s), so the events of its
  own writes count too; CPU ms/object is that over N;
- peak RSS: the contender's VmHWM at the end of the round, startup included;
- latency p50 / p99: from a create's response to the watcher seeing the Gadget Ready (both in
  this process's event loop; clamped at 0 when the watch event is read first).

The server, the loader, the watcher and the contender share the machine's CPUs: objects/s is
the contender's throughput there, not on a machine of its own. A round that fails (the
contender exits, or misses its deadline: 120 s for the warm-up, 60 s + N/20 s for the job) is
reported as such; every process is stopped at the end of its round; everything listens on
127.0.0.1. The exit status is 1 when any round failed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import signal
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .controller_round import Load, Measurement, Round, RoundFailed
from .report import environment, run_and_print


@dataclass(frozen=True)
class Contender:
    letter: str
    name: str
    module: str

    @property
    def label(self) -> str:
        return f"({self.letter}) {self.name}"


def kopf_version() -> str:
    try:
        return importlib.metadata.version("kopf")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


CONTENDERS = (
    Contender("a", "floor", "benchmarks.controller_contenders.floor"),
    Contender("b", "controllerkit", "benchmarks.controller_contenders.controllerkit_manager"),
    Contender("c", f"kopf {kopf_version()}", "benchmarks.controller_contenders.kopf_operator"),
)


@dataclass(frozen=True)
class Settings:
    load: Load
    repeat: int
    contenders: tuple[Contender, ...]


@dataclass
class Outcome:
    """Every round of one contender."""

    measurements: list[Measurement] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def median(self, figure: str) -> float | None:
        values = [float(getattr(m, figure)) for m in self.measurements]
        return statistics.median(values) if values else None


def parse_args(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.controller", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=2000, help="Gadgets per round (2000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per contender (3)")
    parser.add_argument("--quick", action="store_true", help="200 Gadgets, 1 round")
    parser.add_argument("--loaders", type=int, default=8, help="concurrent creates (8)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="create at this many Gadgets/s (default: as fast as possible)")
    parser.add_argument("--contenders", default="abc",
                        help="which contenders to run, by letter (abc)")
    args = parser.parse_args(argv)
    chosen = tuple(c for c in CONTENDERS if c.letter in args.contenders)
    if not chosen or set(args.contenders) - {c.letter for c in CONTENDERS}:
        parser.error(f"--contenders takes letters among abc, not {args.contenders!r}")
    if args.objects < 1 or args.repeat < 1 or args.loaders < 1 or args.rate < 0:
        parser.error("counts must be positive")
    objects, repeat = (200, 1) if args.quick else (args.objects, args.repeat)
    return Settings(load=Load(objects=objects, loaders=args.loaders, rate=args.rate),
                    repeat=repeat, contenders=chosen)


async def run_round(contender: Contender, settings: Settings, outcome: Outcome) -> None:
    with tempfile.TemporaryDirectory(prefix="controller-bench-") as scratch:
        one = Round(contender.module, settings.load, Path(scratch))
        try:
            measurement = await one.measure()
        except RoundFailed as failure:
            outcome.failures.append(str(failure))
            print(f"  {contender.label}: FAILED, {failure}", file=sys.stderr)
            print(*(f"    | {line}" for line in one.process.log_tail()), sep="\n",
                  file=sys.stderr, flush=True)
            return
    outcome.measurements.append(measurement)
    print(f"  {contender.label}: {measurement.objects_per_second:,.0f} objects/s, "
          f"{measurement.cpu_seconds:.2f} CPU s, "
          f"{measurement.peak_rss_bytes / 2**20:.1f} MB, "
          f"p50 {measurement.latency_p50 * 1000:,.0f} ms, "
          f"p99 {measurement.latency_p99 * 1000:,.0f} ms", file=sys.stderr, flush=True)


def ratio(value: float | None, base: float | None) -> float | None:
    return value / base if value is not None and base else None


def cell(value: float | None, width: int, digits: int = 0, suffix: str = "") -> str:
    text = "n/a" if value is None else f"{value:,.{digits}f}{suffix}"
    return f"{text:>{width}}"


COLUMNS = (("objects/s", 10), ("CPU s", 7), ("CPU ms/obj", 10), ("peak RSS MB", 11),
           ("p50 ms", 8), ("p99 ms", 8), ("obj/s vs a", 10), ("CPU/obj vs a", 12),
           ("RSS vs a", 8))


def results_table(settings: Settings, outcomes: dict[Contender, Outcome]) -> list[str]:
    width = max(len("contender"), *(len(c.label) for c in outcomes))
    header = f"{'contender':<{width}}  " + "  ".join(f"{n:>{w}}" for n, w in COLUMNS)
    lines = [header, "-" * len(header)]
    base = outcomes.get(CONTENDERS[0], Outcome())
    base_cpu = base.median("cpu_seconds")
    base_rss = base.median("peak_rss_bytes")
    for contender, outcome in outcomes.items():
        if not outcome.measurements:
            lines.append(f"{contender.label:<{width}}  failed in every round: "
                         f"{outcome.failures[0]}")
            continue
        throughput = outcome.median("objects_per_second")
        cpu = outcome.median("cpu_seconds")
        rss = outcome.median("peak_rss_bytes")
        p50, p99 = outcome.median("latency_p50"), outcome.median("latency_p99")
        cells = [
            cell(throughput, 10), cell(cpu, 7, 2),
            cell(None if cpu is None else cpu * 1000 / settings.load.objects, 10, 3),
            cell(None if rss is None else rss / 2**20, 11, 1),
            cell(None if p50 is None else p50 * 1000, 8),
            cell(None if p99 is None else p99 * 1000, 8),
            cell(ratio(throughput, base.median("objects_per_second")), 10, 2, "x"),
            cell(ratio(cpu, base_cpu), 12, 2, "x"),
            cell(ratio(rss, base_rss), 8, 2, "x"),
        ]
        lines.append(f"{contender.label:<{width}}  " + "  ".join(cells))
        if outcome.failures:
            lines.append(f"{'':<{width}}  ({len(outcome.failures)} round(s) failed: "
                         f"{outcome.failures[0]})")
    return lines


TARGETS = (
    ("throughput", "objects_per_second", ">=", 0.95),
    ("CPU per object", "cpu_seconds", "<=", 1.3),
    ("peak RSS", "peak_rss_bytes", "<=", 1.3),
)


def targets(outcomes: dict[Contender, Outcome]) -> list[str]:
    floor, library = CONTENDERS[0], CONTENDERS[1]
    lines = ["controllerkit targets, against the floor (a):"]
    for label, figure, sense, bound in TARGETS:
        value = ratio(outcomes.get(library, Outcome()).median(figure),
                      outcomes.get(floor, Outcome()).median(figure))
        if value is None:
            verdict = "n/a (no measurement)"
        else:
            met = value >= bound if sense == ">=" else value <= bound
            verdict = f"{value:.2f}x  {'pass' if met else 'FAIL'}"
        lines.append(f"  {label} {sense} {bound}x (a): {verdict}")
    return lines


async def run(settings: Settings) -> None:
    task = asyncio.current_task()
    assert task is not None
    # SIGTERM unwinds like Ctrl-C, so the server and contender processes are stopped.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    outcomes = {contender: Outcome() for contender in settings.contenders}
    for number in range(settings.repeat):
        print(f"round {number + 1}/{settings.repeat}", file=sys.stderr, flush=True)
        for contender in settings.contenders:
            await run_round(contender, settings, outcomes[contender])
    print()
    print("\n".join(results_table(settings, outcomes)))
    print()
    print("\n".join(targets(outcomes)), flush=True)
    failed = [f"{c.label} in {len(o.failures)} of {settings.repeat} round(s)"
              for c, o in outcomes.items() if o.failures]
    if failed:
        raise RuntimeError("contenders failed: " + "; ".join(failed))


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    pace = f"at {settings.load.rate:,.0f}/s" if settings.load.rate else "as fast as possible"
    print("controllerkit controller benchmark: mark every new Gadget Ready")
    print(environment())
    print(f"{settings.load.objects:,} Gadgets a round, created {pace} by {settings.load.loaders} "
          f"clients; {settings.repeat} round(s) per contender; medians", flush=True)
    return run_and_print(run(settings))


if __name__ == "__main__":
    sys.exit(main())

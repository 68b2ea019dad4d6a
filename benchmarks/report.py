"""Summaries of repeated measurements and the table they are printed as."""

from __future__ import annotations

import asyncio
import math
import os
import platform
import statistics
import sys
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` in 0..1) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Figure:
    """One reported quantity: a value per repetition."""

    label: str
    unit: str
    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    def row(self, label_width: int) -> str:
        if not self.values:
            return f"{self.label:<{label_width}}  {'n/a':>10}  {'':>10}  {'':>10}  {self.unit}"
        median = statistics.median(self.values)
        low, high = min(self.values), max(self.values)
        cells = "  ".join(f"{_number(v):>10}" for v in (median, low, high))
        return f"{self.label:<{label_width}}  {cells}  {self.unit}"


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def environment() -> str:
    cpus = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    python = platform.python_version()
    return (f"python {python} ({sys.implementation.name}), aiohttp {aiohttp.__version__}, "
            f"{cpus} CPUs ({usable} usable), {platform.system()} {platform.machine()}")


def table(figures: list[Figure]) -> str:
    width = max(len("figure"), *(len(f.label) for f in figures))
    header = f"{'figure':<{width}}  {'median':>10}  {'min':>10}  {'max':>10}  unit"
    return "\n".join([header, "-" * len(header), *(f.row(width) for f in figures)])


def error_leaves(error: BaseException) -> list[BaseException]:
    """The errors inside (possibly nested) exception groups, deduplicated by message."""
    if not isinstance(error, BaseExceptionGroup):
        return [error]
    found: dict[str, BaseException] = {}
    for inner in error.exceptions:
        for leaf in error_leaves(inner):
            found.setdefault(f"{type(leaf).__name__}: {leaf}", leaf)
    return list(found.values())


def run_and_print(measure: Coroutine[Any, Any, list[Figure] | None]) -> int:
    """Run a benchmark's measurements and print their table (None: they printed their own
    tables as they went); the process's exit status.

    130 when interrupted; 1, with each underlying error on stderr, when a measurement failed.
    """
    try:
        figures = asyncio.run(measure)
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("benchmark interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        for error in error_leaves(exc):
            print(f"benchmark failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if figures is not None:
        print()
        print(table(figures))
    return 0

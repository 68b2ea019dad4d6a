"""The API server benchmark still runs end to end (its figures are not checked, only present)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = (
    "create",
    "status-patch",
    "list full",
    "list paged",
    "server max RSS",
    "watch latency median",
    "watch latency p95",
    "watch events delivered",
)


def test_quick_benchmark_runs_and_prints_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.apiserver", "--quick", "--repeat", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("python ") and "aiohttp" in line for line in lines)
    for label in FIGURES:
        rows = [line for line in lines if line.startswith(label + " ")]
        assert len(rows) == 1, f"no line for {label!r} in:\n{result.stdout}"
        assert "n/a" not in rows[0]

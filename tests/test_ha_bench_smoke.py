"""The high-availability benchmark still runs end to end (figures present, not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = (
    "reconciles/s, 1 shard",
    "reconciles/s, 3 shards",
    "ratio 3 shards / 1",
    "shard failover after SIGKILL",
    "shard failover after SIGTERM",
    "leader failover after SIGKILL",
    "leader failover after SIGTERM",
)


def test_quick_ha_benchmark_runs_and_prints_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.ha", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    for label in FIGURES:
        rows = [line for line in lines if line.startswith(label + " ")]
        assert len(rows) == 1, f"no line for {label!r} in:\n{result.stdout}"
        assert "n/a" not in rows[0]

"""The work-queue benchmark still runs end to end (its figures are not checked, only present)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = (
    "add+get+done 1 consumer",
    "add+get+done 1 consumer, Queue",
    "add+get+done 1 consumer, metrics on",
    "add+get+done 1 consumer awaiting",
    "add+get+done 16 consumers awaiting",
    "memory per queued key",
    "new item behind low backlog",
    "served before the new items",
)


def test_quick_workqueue_benchmark_runs_and_prints_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.workqueue", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("python ") for line in lines)
    for label in FIGURES:
        # labels are padded to a column: a label is followed by two spaces at least
        rows = [line for line in lines if line.startswith(label + "  ")]
        assert len(rows) == 1, f"no line for {label!r} in:\n{result.stdout}"
        assert "n/a" not in rows[0]

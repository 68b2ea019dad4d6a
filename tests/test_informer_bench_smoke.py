"""The informer benchmark still runs end to end (its figures are not checked, only present)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = (
    "cold sync, paginated list",
    "cold sync, streaming list",
    "objects/s, paginated list",
    "objects/s, streaming list",
    "client CPU per object",
    "RSS per cached object",
    "RSS / raw JSON",
    "Python objects per cached object",
    "cold sync, transforms",
    "RSS per cached object, transforms",
    "RSS / raw JSON, transforms",
    "Python objects per cached object, transforms",
    "warm restart, file checkpoint",
    "warm restart, SQLite checkpoint",
    "warm restart, file checkpoint, transforms",
    "warm speed-up, file",
    "warm speed-up, SQLite",
    "warm speed-up, file, transforms",
    *(f"{figure}, {mode}{suffix}"
      for mode in ("compact", "compact + transforms")
      for figure, suffix in (
          ("cold sync", ", paginated list"), ("cold sync", ", streaming list"),
          ("RSS / raw JSON", ""), ("warm restart", ", file checkpoint"),
          ("warm restart", ", SQLite checkpoint"), ("warm speed-up", ", file"),
          ("warm speed-up", ", SQLite"), ("warm speed-up", ", file, vs default cache"))),
)


def test_quick_benchmark_runs_and_prints_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.informer", "--quick", "--repeat", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("python ") and "aiohttp" in line for line in lines)
    assert any("ConfigMaps" in line and "B of JSON each as served" in line for line in lines)
    for label in FIGURES:
        # The table pads labels, so a row starts with its label and at least two spaces; a
        # longer label sharing the prefix ("..., transforms") continues with a comma instead.
        rows = [line for line in lines if line.startswith(label + "  ")]
        assert len(rows) == 1, f"no line for {label!r} in:\n{result.stdout}"
        assert "n/a" not in rows[0]

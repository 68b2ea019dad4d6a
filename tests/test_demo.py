"""The README's demo command keeps working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_end_to_end() -> None:
    proc = subprocess.run([sys.executable, "-m", "examples.demo"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "serving on http://127.0.0.1:" in out
    assert "widget.demo.controllerkit.dev/sprocket created" in out
    assert "spec.size: Invalid value: 0" in out
    assert "metadata.resourceVersion: Required value" in out
    assert "widget.demo.controllerkit.dev/sprocket condition met" in out
    assert 'widget.demo.controllerkit.dev "sprocket" deleted' in out

"""The README's demo command keeps working: the tutorial controller at work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_the_tutorial_controller_end_to_end() -> None:
    proc = subprocess.run([sys.executable, "-m", "examples.demo"], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "serving on http://127.0.0.1:" in out
    assert "website.example.com/blog created" in out
    assert "website.example.com/blog condition met" in out
    assert out.count("deployment.apps/blog condition met") == 2  # created, then repaired
    assert 'website.example.com "blog" deleted' in out
    assert 'controller_runtime_reconcile_total{controller="websites.example.com",' \
           'result="success"}' in out
    assert "controller_runtime_reconcile_errors_total" not in out  # zero, so not shown
    assert " ERROR " not in out

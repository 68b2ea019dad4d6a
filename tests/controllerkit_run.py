"""`controllerkit run TARGET` as a separate process, its log read line by line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class ControllerkitRun:
    """The process, started from the project's root with unbuffered output."""

    def __init__(self, target: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "controllerkit.cli", "run", target, *args],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[str] = []

    def wait_for_line(self, pattern: str) -> re.Match[str]:
        """Read log lines until one matches; fails if the process ends first."""
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            match = re.search(pattern, line)
            if match is not None:
                return match
        raise AssertionError(f"process ended without logging {pattern!r}:\n"
                             + "".join(self.lines))

    def finish(self) -> int:
        """Wait for the exit; the remaining log lines are appended to `lines`."""
        assert self.process.stderr is not None
        self.lines.extend(self.process.stderr)
        return self.process.wait(timeout=60)

    def stop(self) -> int:
        """SIGTERM, then `finish`."""
        self.process.send_signal(signal.SIGTERM)
        return self.finish()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

"""One contender of the controller benchmark in a child process, and what /proc says of it.

The child is `python -m <module> --kubeconfig PATH`, its output going to a log file. It is
stopped on every exit path (SIGTERM, then SIGKILL after a grace period) and, on Linux, also
receives SIGTERM if the benchmark process dies without cleaning up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from .server_process import _terminate_with_parent

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parent.parent


class ContenderProcess:
    """A started contender; `stop()` ends it and returns its exit code."""

    def __init__(self, module: str, kubeconfig: Path, log: Path) -> None:
        self.command = [sys.executable, "-m", module, "--kubeconfig", str(kubeconfig)]
        self.log = log
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        linux = sys.platform.startswith("linux")
        with self.log.open("ab") as out:
            self._proc = await asyncio.create_subprocess_exec(
                *self.command, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=out,
                stderr=out, preexec_fn=_terminate_with_parent if linux else None)

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("the contender process was not started")
        return self._proc.pid

    async def exited(self) -> int:
        """Wait until the process ends by itself; its exit code."""
        if self._proc is None:
            raise RuntimeError("the contender process was not started")
        return await self._proc.wait()

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the process so far (all its threads), from /proc."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        # The command name, in parentheses, may hold spaces: count fields after it.
        fields = stat[stat.rindex(")") + 2:].split()
        user, system = int(fields[11]), int(fields[12])  # utime, stime: fields 14 and 15
        return (user + system) / _CLOCK_TICKS

    def peak_rss_bytes(self) -> int:
        """The peak resident set size so far (VmHWM), from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                value, unit = line.split()[1:3]
                if unit != "kB":
                    raise RuntimeError(f"unexpected VmHWM unit {unit!r}")
                return int(value) * 1024
        raise RuntimeError("VmHWM missing from /proc/<pid>/status")

    def log_tail(self, lines: int = 15) -> list[str]:
        """The last lines the process wrote, to say why it failed."""
        if not self.log.exists():
            return []
        return self.log.read_text(errors="replace").splitlines()[-lines:]

    async def stop(self, grace: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL after `grace` seconds; the exit code (None if not started)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        return proc.returncode

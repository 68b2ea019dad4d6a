"""The API server under measurement, in a child process of its own.

The server runs `python -m controllerkit.cli apiserver --port 0` so that the benchmark's client
work never shares its event loop. The child is stopped on every exit path; on Linux it is also
asked to receive SIGTERM if the benchmark process dies without cleaning up.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import signal
import sys
from pathlib import Path
from types import TracebackType
from typing import Self

SERVING_PREFIX = "serving on "
_PR_SET_PDEATHSIG = 1


def _terminate_with_parent() -> None:
    """Runs in the child between fork and exec (Linux only)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ServerProcess:
    """`async with ServerProcess() as server:` starts the server and yields once it serves."""

    def __init__(self, *, start_timeout: float = 60.0, kubeconfig_out: Path | None = None,
                 extra_args: tuple[str, ...] = ()) -> None:
        """`kubeconfig_out`: where the server writes a kubeconfig for other processes."""
        self.start_timeout = start_timeout
        self.kubeconfig_out = kubeconfig_out
        self.extra_args = extra_args
        self.url = ""
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("the server process is not running")
        return self._proc.pid

    async def start(self) -> None:
        linux = sys.platform.startswith("linux")
        kubeconfig = (("--kubeconfig-out", str(self.kubeconfig_out))
                      if self.kubeconfig_out is not None else ())
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "controllerkit.cli", "apiserver", "--port", "0",
            *kubeconfig, *self.extra_args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            preexec_fn=_terminate_with_parent if linux else None,
        )
        assert self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), self.start_timeout)
        text = line.decode().strip()
        if not text.startswith(SERVING_PREFIX):
            code = await self._proc.wait() if not line else None
            raise RuntimeError(f"the API server did not start (exit code {code}): {text!r}")
        self.url = text[len(SERVING_PREFIX):]
        if self.kubeconfig_out is not None:
            await self._proc.stdout.readline()  # "kubeconfig written to ..."

    def max_rss_bytes(self) -> int:
        """Peak resident set size so far (VmHWM), from /proc."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                value, unit = line.split()[1:3]
                if unit != "kB":
                    raise RuntimeError(f"unexpected VmHWM unit {unit!r}")
                return int(value) * 1024
        raise RuntimeError("VmHWM missing from /proc/<pid>/status")

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        self.url = ""
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await asyncio.shield(self.stop())
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.shield(self.stop())

"""`controllerkit apiserver` as a child process, for tests of the command line and of restarts."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self


def controllerkit_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m`."""
    script = shutil.which("controllerkit", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "controllerkit.cli"]


class ServerProcess:
    """`controllerkit apiserver --port 0 ARGS...`; `start` returns once it prints its URL."""

    def __init__(self, *args: str) -> None:
        self.args = ["apiserver", "--port", "0", *args]
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.stdout_lines: list[str] = []
        self._buffer = b""

    def start(self, within: float = 20.0) -> Self:
        self.proc = subprocess.Popen(
            [*controllerkit_command(), *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        first = self.read_line(within)
        assert first.startswith("serving on "), (first, self.stderr_text())
        self.url = first.removeprefix("serving on ")
        return self

    def read_line(self, within: float = 5.0) -> str:
        """The next stdout line (without the newline); fails if none comes in time."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + within
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                assert left > 0, f"no output line in {within}s: {self._buffer!r}"
                if not selector.select(left):
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise EOFError(f"the server exited: {self.stderr_text()}")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        text = line.decode()
        self.stdout_lines.append(text)
        return text

    def kill_9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, within: float = 10.0) -> int:
        """SIGTERM, then wait; returns the exit code."""
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(timeout=within)

    def remaining_stdout(self) -> list[str]:
        """After exit: every stdout line, including those not read yet."""
        assert self.proc is not None and self.proc.stdout is not None
        rest = self._buffer + self.proc.stdout.read()
        self._buffer = b""
        self.stdout_lines.extend(line for line in rest.decode().splitlines())
        return self.stdout_lines

    def stderr_text(self) -> str:
        if self.proc is None or self.proc.stderr is None or self.proc.poll() is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace")

    def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

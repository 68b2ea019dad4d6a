"""Replica processes of the multi-process tests.

Every replica is a `controllerkit run` process against the shared API server with short Lease
timings (Lease 2 s, renew deadline 1.5 s, retry 0.5 s), so a failover takes a couple of
seconds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 2.0, 1.5, 0.5


class Replica:
    """One `controllerkit run` process; its log goes to a file (a pipe nobody reads would fill
    up and block it).

    A subclass names the app to run (`app`), the flags that make it a replica (`flags`) and
    the prefix of the environment variables that tell the app its name and the journal
    (`env_prefix`: `<prefix>_REPLICA`, `<prefix>_JOURNAL`).
    """

    app: str
    flags: tuple[str, ...]
    env_prefix: str

    def __init__(self, name: str, kubeconfig: Path, journal: Path, logs: Path) -> None:
        self.name = name
        self.log_path = logs / f"replica-{name}.log"
        self.urls: dict[str, str] = {}  # of its servers, by the pattern that found them
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "controllerkit.cli", "run", self.app,
                 "--kubeconfig", str(kubeconfig), *self.flags,
                 "--lease-duration", str(LEASE_DURATION),
                 "--renew-deadline", str(RENEW_DEADLINE),
                 "--retry-period", str(RETRY_PERIOD)],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1",
                     f"{self.env_prefix}_REPLICA": name,
                     f"{self.env_prefix}_JOURNAL": str(journal)})

    def log(self) -> str:
        return self.log_path.read_text()

    async def fetch(self, served: re.Pattern[str], path: str) -> tuple[int, str] | None:
        """GET `path` from the server the log line `served` announces (its first group is the
        URL): the status and the body; None until it is announced and while it does not
        answer."""
        url = self.urls.get(served.pattern)
        if url is None:
            found = served.search(self.log())
            if found is None:
                return None
            url = self.urls[served.pattern] = found.group(1)
        try:
            async with aiohttp.ClientSession() as session, session.get(
                    f"{url}{path}") as answer:
                return answer.status, await answer.text()
        except aiohttp.ClientError:
            return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

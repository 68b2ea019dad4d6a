"""Run the real `kubectl` against a server, with an isolated discovery cache."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml


class KubectlError(RuntimeError):
    """kubectl exited non-zero; carries its arguments, exit code and output."""

    def __init__(self, args: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        super().__init__(
            f"kubectl {' '.join(args)} exited {returncode}\nstdout: {stdout}\nstderr: {stderr}"
        )
        self.args_ = list(args)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class Kubectl:
    """`kubectl` bound to one kubeconfig and a private `--cache-dir`.

    Discovery is cached per server by kubectl; a private cache directory keeps one test's
    CRDs from leaking into another's view.
    """

    def __init__(self, kubeconfig: Path, cache_dir: Path, *, binary: str = "kubectl") -> None:
        self.kubeconfig = kubeconfig
        self.cache_dir = cache_dir
        self.binary = binary

    def command(self, *args: str) -> list[str]:
        return [self.binary, "--kubeconfig", str(self.kubeconfig), "--cache-dir",
                str(self.cache_dir), *args]

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("KUBECONFIG", None)
        return env

    def run(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            self.command(*args), input=input, capture_output=True, text=True,
            timeout=timeout, env=self._env(), check=False,
        )
        if check and proc.returncode != 0:
            raise KubectlError(args, proc.returncode, proc.stdout, proc.stderr)
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def apply(self, manifest: str | Mapping[str, Any], *extra: str) -> str:
        text = manifest if isinstance(manifest, str) else yaml.safe_dump(dict(manifest))
        return self.run("apply", "-f", "-", *extra, input=text).stdout

    async def arun(
        self, *args: str, input: str | None = None, check: bool = True, time_limit: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """`run` for async tests: never blocks the event loop the server may be running on."""
        proc = await asyncio.create_subprocess_exec(
            *self.command(*args),
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self._env(),
        )
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(input.encode() if input is not None else None), time_limit
            )
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        result = subprocess.CompletedProcess(
            self.command(*args), proc.returncode or 0, out.decode(), err.decode()
        )
        if check and result.returncode != 0:
            raise KubectlError(args, result.returncode, result.stdout, result.stderr)
        return result

"""What the controller examples' demos (`python -m examples.<example>.demo`) share: running a
command line tool, and the `__main__` runner that starts an embedded API server for the demo."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from controllerkit.apiserver import EmbeddedApiServer


async def run_command(*argv: str, check: bool = True) -> str:
    """Run `argv` and return its standard output; raise RuntimeError with its standard error
    if it fails (unless not `check`)."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = await process.communicate()
    if check and process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {stderr.decode().strip()}")
    return stdout.decode()


def run_main(demo: Callable[[Path, Path], Awaitable[None]], *, scratch_prefix: str,
             banner: str = "embedded API server at {url}") -> None:
    """Run `demo(kubeconfig, workdir)` against a new embedded API server, in a temporary
    directory named with `scratch_prefix`, after printing `banner` (`{url}` and `{scratch}`
    filled in); exit with 130 on Ctrl-C."""

    async def main() -> None:
        with tempfile.TemporaryDirectory(prefix=scratch_prefix) as scratch:
            async with EmbeddedApiServer() as server:
                print(banner.format(url=server.url, scratch=scratch) + "\n")
                await demo(server.kubeconfig_path, Path(scratch))

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)

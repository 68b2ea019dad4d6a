"""The `git` command line, run as asyncio subprocesses in one working directory.

Why the CLI rather than dulwich: `git` is present wherever a controller runs next to a
repository, speaks every transport and credential mechanism users already configure (https
with tokens, ssh keys, `file://` and local paths), and its push/fetch/rebase semantics are the
reference ones — a rejected push, a rebase, a conflict behave exactly as they do for a person
at a terminal. dulwich would need its own transport and merge code paths for each of those.
Subprocesses run on the event loop without blocking it, and no global git configuration
leaks in: the environment is built here, from a fixed identity and what the caller passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

DEFAULT_AUTHOR: Final = "controllerkit gittarget <gittarget@controllerkit.dev>"
# Network operations against an unresponsive host would otherwise hang a worker for minutes.
NETWORK_TIMEOUT_SECONDS: Final = 60.0


class GitError(Exception):
    """A git command failed. The message names the command, what git said, and what to check."""

    def __init__(self, message: str, *, command: Sequence[str] = (), stderr: str = "") -> None:
        super().__init__(message)
        self.command = tuple(command)
        self.stderr = stderr


@dataclass(frozen=True)
class GitResult:
    """The outcome of one git command."""

    returncode: int
    stdout: bytes
    stderr: str


def parse_identity(author: str) -> tuple[str, str]:
    """`"Name <email>"` split into `(name, email)`; ValueError for any other shape."""
    name, sep, rest = author.partition("<")
    email = rest.removesuffix(">").strip()
    if not sep or not rest.endswith(">") or not name.strip() or not email:
        raise ValueError(f"author must look like 'Name <email>', got {author!r}")
    return name.strip(), email


def git_environment(author: str, extra: Mapping[str, str] | None) -> dict[str, str]:
    """The environment every git command runs with: the fixed author and committer, no
    terminal prompts (a missing credential fails instead of waiting forever), no system or
    user configuration; `extra` (credentials helpers, GIT_SSH_COMMAND, ...) is applied last."""
    name, email = parse_identity(author)
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(
        {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "LC_ALL": "C",
        }
    )
    env.update(extra or {})
    return env


class GitRepository:
    """Runs git in `workdir` with a fixed environment. Not safe for concurrent mutating
    commands on one directory — the branch worker serialises its operations."""

    def __init__(self, workdir: Path, env: Mapping[str, str]) -> None:
        self.workdir = workdir
        self._env = dict(env)

    async def run(
        self,
        *args: str,
        check: bool = True,
        input: bytes | None = None,
        time_limit: float | None = None,
    ) -> GitResult:
        """Run `git <args>`; GitError when it exits non-zero (unless `check` is False) or
        outlives `time_limit` seconds (it is then killed)."""
        command = ("git", *args)
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=self.workdir,
            env=self._env,
            stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            stdout, stderr_bytes = await asyncio.wait_for(process.communicate(input), time_limit)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise GitError(
                f"`{' '.join(command)}` did not finish within {time_limit:g}s; check that the "
                "remote host is reachable",
                command=command,
            ) from None
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
        stderr = stderr_bytes.decode(errors="replace").strip()
        returncode = process.returncode if process.returncode is not None else -1
        if check and returncode != 0:
            raise GitError(
                f"`{' '.join(command)}` failed (exit {returncode}): {stderr or 'no output'}",
                command=command,
                stderr=stderr,
            )
        return GitResult(returncode, stdout, stderr)

    async def output(self, *args: str, time_limit: float | None = None) -> str:
        """The stripped standard output of `git <args>`."""
        result = await self.run(*args, time_limit=time_limit)
        return result.stdout.decode().strip()

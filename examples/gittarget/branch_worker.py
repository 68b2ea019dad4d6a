"""The branch worker: the one writer of one branch of one remote, shared by every GitTarget that
mirrors into that branch (each in its own folder).

It keeps a clone in a working directory, turns each change into one commit (never a commit for
identical content), and pushes in batches: after `push_interval` seconds or as soon as
`max_commits` commits wait. A push rejected because someone else pushed first is retried after
fetching the branch and rebasing our unpushed commits onto it — never forced. All operations on
a worker run one at a time (an asyncio lock), so callers need no coordination of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from controllerkit.clock import SYSTEM_CLOCK, Clock

from .content import Operation, commit_message, normalize_target_path, object_ref_from_path
from .git_cli import DEFAULT_AUTHOR, GitError
from .git_sync import BranchClone

__all__ = [
    "DEFAULT_AUTHOR",
    "BranchWorker",
    "Equivalence",
    "FileChange",
    "GitError",
    "SnapshotResult",
    "WorkerKey",
]

_log = logging.getLogger(__name__)

Equivalence = Callable[[str, bytes, bytes], bool]
"""`(path, existing, desired) -> bool`: whether the file already holds the desired content."""


def _same_bytes(path: str, existing: bytes, desired: bytes) -> bool:
    return existing == desired


@dataclass(frozen=True)
class WorkerKey:
    """Identifies a branch worker: the provider's namespace and name, and the branch."""

    namespace: str
    provider: str
    branch: str

    @property
    def name(self) -> str:
        """`<namespace>/<provider>/<branch>`, for status (`workerRef`) and logs."""
        return f"{self.namespace}/{self.provider}/{self.branch}"


@dataclass(frozen=True)
class FileChange:
    """One file to commit: `path` relative to the repository root, `content` None to delete."""

    path: str
    content: bytes | None
    message: str


@dataclass(frozen=True)
class SnapshotResult:
    """What `sync_folder` changed — files created, updated (existing but different) and
    deleted, one commit each — and the last commit it made (None when nothing changed)."""

    created: int
    updated: int
    deleted: int
    commit: str | None


class BranchWorker:
    """Commits to one branch of `remote_url` from a clone in `workdir`.

    Call `start()` before anything else (idempotent; again after `close()` to resume). Every
    method that writes raises GitError when git fails; whatever the failed (or cancelled)
    operation left uncommitted is discarded before the next one. Pushing happens in the
    background: a failed background push is logged, kept in `last_push_error` and retried
    after `push_interval`. `clock` drives the push timer (a fake one in tests).
    """

    def __init__(
        self,
        key: WorkerKey,
        remote_url: str,
        workdir: Path,
        *,
        push_interval: float = 60.0,
        max_commits: int = 20,
        author: str = DEFAULT_AUTHOR,
        env: Mapping[str, str] | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if max_commits < 1:
            raise ValueError("max_commits must be at least 1")
        self.key = key
        self.workdir = workdir
        self.push_interval = push_interval
        self.max_commits = max_commits
        self.last_commit: str | None = None
        self.last_push_time: datetime | None = None
        self.last_push_error: Exception | None = None
        self._clone = BranchClone(workdir, remote_url, key.branch, author=author, env=env)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._started = False
        self._interrupted = False
        self._commits_waiting = asyncio.Event()
        self._pusher: asyncio.Task[None] | None = None

    @property
    def remote_url(self) -> str:
        """The remote this worker pushes to (may carry credentials: see `redact_url`)."""
        return self._clone.remote_url

    @property
    def pending_commits(self) -> int:
        """Commits made but not pushed yet."""
        return self._clone.pending_commits

    def configure(
        self,
        *,
        remote_url: str | None = None,
        push_interval: float | None = None,
        max_commits: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Change settings of a running worker; a new remote URL or environment is used from
        the next fetch or push on."""
        if push_interval is not None:
            self.push_interval = push_interval
        if max_commits is not None:
            self.max_commits = max(1, max_commits)
        self._clone.configure(remote_url=remote_url, env=env)

    async def start(self) -> None:
        """Clone the branch (or resume the existing clone, keeping unpushed commits); a branch
        the remote does not have yet starts from the remote's default branch, or empty.
        GitError when the remote cannot be reached — the message says what to check."""
        async with self._lock:
            if self._started:
                return
            await self._clone.open()
            self._interrupted = False
            self.last_commit = await self._clone.head()
            self._started = True
            if self.pending_commits:
                self._commits_waiting.set()
            self._pusher = asyncio.create_task(
                self._push_periodically(), name=f"gittarget push {self.key.name}"
            )

    async def bootstrap(self, target_path: str, files: Mapping[str, bytes]) -> str | None:
        """Write `files` (paths relative to the repository root, inside the target folder) and
        commit them as `chore(bootstrap): initialize path <target_path>` — only when that
        changes something. Returns the new commit, or None when everything was in place."""
        folder = normalize_target_path(target_path)
        for path in files:
            self._check_inside(path, folder)
        async with self._exclusive():
            changed = False
            for path, content in sorted(files.items()):
                changed |= await self._clone.stage(path, content)
            if not changed:
                return None
            message = f"chore(bootstrap): initialize path {folder or '<root>'}"
            return await self._commit(message)

    async def sync_folder(
        self,
        target_path: str,
        desired: Mapping[str, bytes],
        *,
        keep: Callable[[str], bool] | None = None,
        equivalent: Equivalence = _same_bytes,
    ) -> SnapshotResult:
        """Make the folder's mirrored files equal `desired` (paths relative to the repository
        root): one `[CREATE]`, `[UPDATE]` or `[DELETE]` commit per file that differs.

        Files for which `keep(path)` is true are never deleted; by default that is every file
        that is not laid out as a mirrored object (the README and encryption config of the
        bootstrap, anything a person added). `equivalent` decides whether an existing file
        already holds the desired content (see `content.content_equivalence`).
        """
        folder = normalize_target_path(target_path)
        for path in desired:
            self._check_inside(path, folder)

        def is_kept(path: str) -> bool:
            if keep is not None:
                return keep(path)
            return object_ref_from_path(path, folder) is None

        created = updated = deleted = 0
        commit: str | None = None
        async with self._exclusive():
            for path, content in sorted(desired.items()):
                existing = self._clone.read(path)
                if existing is not None and equivalent(path, existing, content):
                    continue
                operation: Operation = "CREATE" if existing is None else "UPDATE"
                commit = await self._write(path, content, self._message(operation, path, folder))
                created += operation == "CREATE"
                updated += operation == "UPDATE"
            for path in sorted(await self._clone.tracked_files(folder)):
                if path in desired or is_kept(path):
                    continue
                commit = await self._write(path, None, self._message("DELETE", path, folder))
                deleted += 1
        return SnapshotResult(created, updated, deleted, commit)

    async def apply(
        self, change: FileChange, *, equivalent: Equivalence = _same_bytes
    ) -> str | None:
        """Commit one change with its message. Returns the commit, or None when nothing had to
        change (identical content, or deleting a file that is not there)."""
        self._check_inside(change.path, "")
        async with self._exclusive():
            existing = self._clone.read(change.path)
            if change.content is None and existing is None:
                return None
            if (
                change.content is not None
                and existing is not None
                and equivalent(change.path, existing, change.content)
            ):
                return None
            return await self._write(change.path, change.content, change.message)

    async def read(self, path: str) -> bytes | None:
        """The committed content of a file (relative to the repository root), None if absent."""
        self._check_inside(path, "")
        async with self._exclusive():
            return self._clone.read(path)

    async def flush(self) -> None:
        """Push the waiting commits now. GitError when the push fails."""
        async with self._exclusive():
            await self._push()

    async def close(self) -> None:
        """Stop the push timer and push what is waiting. GitError when that last push fails
        (the commits stay in the clone and are pushed after the next `start()`)."""
        async with self._lock:
            # Stopped while we hold the lock, the timer is never cut off in the middle of a push.
            pusher, self._pusher = self._pusher, None
            if pusher is not None:
                pusher.cancel()
            try:
                if self._started:
                    self._started = False
                    await self._recover_if_interrupted()
                    await self._push()
            finally:
                if pusher is not None:
                    with contextlib.suppress(asyncio.CancelledError):
                        await pusher

    # -- internals; the caller holds the lock ------------------------------------------------

    @contextlib.asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        """The lock, on a started worker whose clone is consistent. An operation that fails or
        is cancelled half-way (a file written but not committed) marks the clone for recovery,
        so its leftovers never slip into the next commit."""
        async with self._lock:
            self._require_started()
            await self._recover_if_interrupted()
            try:
                yield
            except BaseException:
                self._interrupted = True
                raise

    async def _recover_if_interrupted(self) -> None:
        if self._interrupted:
            await self._clone.recover()
            self.last_commit = await self._clone.head()
            self._interrupted = False

    async def _write(self, path: str, content: bytes | None, message: str) -> str:
        await self._clone.stage(path, content)
        return await self._commit(message)

    async def _commit(self, message: str) -> str:
        self.last_commit = await self._clone.commit(message)
        self._commits_waiting.set()
        if self.pending_commits >= self.max_commits:
            try:
                await self._push()
            except GitError as error:
                # The commit stands; the timer retries the push.
                self._record_push_failure(error)
        return self.last_commit

    async def _push(self) -> None:
        if not self.pending_commits:
            self._commits_waiting.clear()
            return
        await self._clone.push()
        self.last_commit = await self._clone.head()
        self.last_push_time = datetime.now(UTC)
        self.last_push_error = None
        self._commits_waiting.clear()

    async def _push_periodically(self) -> None:
        while True:
            await self._commits_waiting.wait()
            await self._clock.sleep(self.push_interval)
            async with self._lock:
                if not self._started:
                    return
                try:
                    await self._recover_if_interrupted()
                    await self._push()
                except Exception as error:
                    # Whatever went wrong, the timer must survive to push later.
                    self._record_push_failure(error)

    def _record_push_failure(self, error: Exception) -> None:
        self.last_push_error = error
        _log.warning("push of %s failed, retrying later: %s", self.key.name, error)

    @staticmethod
    def _message(operation: Operation, path: str, folder: str) -> str:
        ref = object_ref_from_path(path, folder)
        return f"[{operation}] {path}" if ref is None else commit_message(operation, ref)

    def _require_started(self) -> None:
        if not self._started:
            raise RuntimeError(f"branch worker {self.key.name} is not started")

    @staticmethod
    def _check_inside(path: str, folder: str) -> None:
        segments = path.split("/")
        if path.startswith("/") or any(s in ("", ".", "..", ".git") for s in segments):
            raise ValueError(f"{path!r} is not a plain path relative to the repository root")
        if folder and not path.startswith(folder + "/"):
            raise ValueError(f"{path!r} is outside the target folder {folder!r}")

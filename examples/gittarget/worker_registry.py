"""Branch workers shared by the targets that write to the same branch: created on first use,
closed when the last holder lets go."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from controllerkit.clock import SYSTEM_CLOCK, Clock

from .branch_worker import BranchWorker, WorkerKey
from .git_cli import GitError

__all__ = ["WorkerRegistry"]


@dataclass
class _Holding:
    worker: BranchWorker
    holders: set[str]


class WorkerRegistry:
    """One `BranchWorker` per `WorkerKey`, shared by its holders; clones live under `root`."""

    def __init__(self, root: Path, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.root = root
        self._clock = clock
        self._holdings: dict[WorkerKey, _Holding] = {}

    def acquire(
        self,
        key: WorkerKey,
        remote_url: str,
        *,
        push_interval: float = 60.0,
        max_commits: int = 20,
        env: Mapping[str, str] | None = None,
        holder: str,
    ) -> BranchWorker:
        """The worker for `key`, created on first use and held by `holder` until `release`.
        The caller starts it (`await worker.start()`, idempotent). A later acquire with other
        settings reconfigures the shared worker: the latest settings win."""
        holding = self._holdings.get(key)
        if holding is None:
            worker = BranchWorker(
                key,
                remote_url,
                self.workdir_for(key),
                push_interval=push_interval,
                max_commits=max_commits,
                env=env,
                clock=self._clock,
            )
            holding = self._holdings[key] = _Holding(worker, set())
        else:
            holding.worker.configure(
                remote_url=remote_url, push_interval=push_interval, max_commits=max_commits, env=env
            )
        holding.holders.add(holder)
        return holding.worker

    def get(self, key: WorkerKey) -> BranchWorker | None:
        """The worker for `key` if someone holds it."""
        holding = self._holdings.get(key)
        return holding.worker if holding else None

    def holders(self, key: WorkerKey) -> frozenset[str]:
        """Who holds the worker for `key`."""
        holding = self._holdings.get(key)
        return frozenset(holding.holders) if holding else frozenset()

    async def release(self, key: WorkerKey, holder: str) -> None:
        """`holder` no longer needs the worker; the last holder to leave closes it (pushing
        what waits). Releasing something not held does nothing."""
        holding = self._holdings.get(key)
        if holding is None or holder not in holding.holders:
            return
        holding.holders.discard(holder)
        if holding.holders:
            return
        try:
            await holding.worker.close()
        finally:
            if holding.holders:
                # Acquired again while closing: the new holder expects a running worker.
                await holding.worker.start()
            elif self._holdings.get(key) is holding:
                del self._holdings[key]

    async def close(self) -> None:
        """Close every worker (each pushes what waits); the first failure is raised after all
        were closed."""
        holdings, self._holdings = list(self._holdings.values()), {}
        errors: list[BaseException] = []
        for holding in holdings:
            try:
                await holding.worker.close()
            except GitError as error:
                errors.append(error)
        if errors:
            raise errors[0]

    def workdir_for(self, key: WorkerKey) -> Path:
        """Where the clone for `key` lives: `<root>/<namespace>/<provider>/<branch>`, each
        segment percent-encoded so branch names with slashes stay one directory."""
        parts = (key.namespace, key.provider, key.branch)
        return self.root.joinpath(*(quote(part, safe="") for part in parts))

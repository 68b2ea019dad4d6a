"""Branch workers — the git side of a GitTarget: `BranchWorker` commits and pushes one branch,
`WorkerRegistry` shares one worker per (provider namespace, provider, branch) among targets.

Git runs through the `git` command line (see `git_cli` for why not dulwich).
"""

from .branch_worker import (
    DEFAULT_AUTHOR,
    BranchWorker,
    Equivalence,
    FileChange,
    GitError,
    SnapshotResult,
    WorkerKey,
)
from .worker_registry import WorkerRegistry

__all__ = [
    "DEFAULT_AUTHOR",
    "BranchWorker",
    "Equivalence",
    "FileChange",
    "GitError",
    "SnapshotResult",
    "WorkerKey",
    "WorkerRegistry",
]

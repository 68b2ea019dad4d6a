"""A clone of one branch and the git steps a branch worker needs: open it, stage and commit
files, push — retrying a rejected push after fetching and rebasing our unpushed commits.

`refs/remotes/origin/<branch>` is our view of the remote branch; the commits after it are the
ones still to push. Nothing here is safe to call concurrently: the branch worker serialises.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from .git_cli import NETWORK_TIMEOUT_SECONDS, GitError, GitRepository, git_environment

# Each retry follows a fresh fetch, so only a remote busy with other writers exhausts this.
PUSH_ATTEMPTS: Final = 5


def redact_url(url: str) -> str:
    """The URL without a password or token in its user part, safe for messages and status."""
    parts = urlsplit(url)
    if not parts.netloc or "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


class BranchClone:
    """The working directory of one branch of one remote."""

    def __init__(
        self,
        workdir: Path,
        remote_url: str,
        branch: str,
        *,
        author: str,
        env: Mapping[str, str] | None,
    ) -> None:
        self.workdir = workdir
        self.remote_url = remote_url
        self.branch = branch
        self.pending_commits = 0
        self._author = author
        self._git = GitRepository(workdir, git_environment(author, env))
        self._remote_url_applied = False

    @property
    def _remote_ref(self) -> str:
        return f"refs/heads/{self.branch}"

    @property
    def _tracking_ref(self) -> str:
        return f"refs/remotes/origin/{self.branch}"

    def configure(self, *, remote_url: str | None, env: Mapping[str, str] | None) -> None:
        """Use another remote URL or environment from the next git command on."""
        if remote_url is not None and remote_url != self.remote_url:
            self.remote_url = remote_url
            self._remote_url_applied = False
        if env is not None:
            self._git = GitRepository(self.workdir, git_environment(self._author, env))

    async def open(self) -> None:
        """Create or resume the clone and bring it up to date with the remote branch, keeping
        (and rebasing) commits not pushed yet. GitError when the remote cannot be reached."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not (self.workdir / ".git").is_dir():
            await self._git.run("init", "-q")
            await self._git.run("symbolic-ref", "HEAD", self._remote_ref)
            await self._git.run("remote", "add", "origin", self.remote_url)
            self._remote_url_applied = True
        else:
            await self._discard_unfinished_work()
        await self._apply_remote_url()
        remote_refs = await self._list_remote_refs()
        has_head = await self.head() is not None
        if self._remote_ref in remote_refs:
            await self._fetch()
            if not has_head:
                await self._git.run("checkout", "-q", "-B", self.branch, self._tracking_ref)
            elif await self._count_unpushed() == 0:
                await self._git.run("reset", "-q", "--hard", self._tracking_ref)
            else:
                await self._rebase_onto_remote()
        else:
            await self._git.run("update-ref", "-d", self._tracking_ref, check=False)
            if not has_head and "HEAD" in remote_refs:
                # A new branch starts where the remote's default branch is, as `git checkout -b`
                # would; recording that commit as the remote state keeps it out of our count.
                await self._git.run(
                    "fetch", "-q", "--no-tags", "origin", "HEAD", time_limit=NETWORK_TIMEOUT_SECONDS
                )
                await self._git.run("checkout", "-q", "-B", self.branch, "FETCH_HEAD")
                await self._git.run("update-ref", self._tracking_ref, "FETCH_HEAD")
        self.pending_commits = await self._count_unpushed()

    async def head(self) -> str | None:
        """The current commit, None on a branch without commits."""
        result = await self._git.run("rev-parse", "-q", "--verify", "HEAD^{commit}", check=False)
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def read(self, path: str) -> bytes | None:
        """The file's committed content (the working tree always equals HEAD between calls)."""
        full = self.workdir / path
        return full.read_bytes() if full.is_file() else None

    async def tracked_files(self, folder: str) -> list[str]:
        """Every committed file under `folder` ("" for the whole repository)."""
        pathspec = [f":(literal){folder}"] if folder else []
        output = (await self._git.run("ls-files", "-z", "--", *pathspec)).stdout.decode()
        return [path for path in output.split("\0") if path]

    async def stage(self, path: str, content: bytes | None) -> bool:
        """Write (or, for None, remove) the file and stage it; False when it already was so."""
        existing = self.read(path)
        if content is None:
            if existing is None:
                return False
            await self._git.run("rm", "-q", "--", f":(literal){path}")
            return True
        if existing == content:
            return False
        full = self.workdir / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_bytes(content)
        await self._git.run("add", "--", f":(literal){path}")
        return True

    async def commit(self, message: str) -> str:
        """Commit what is staged; returns the new commit."""
        await self._git.run("commit", "-q", "--no-verify", "-m", message)
        self.pending_commits += 1
        head = await self.head()
        assert head is not None  # a commit was just made
        return head

    async def push(self) -> None:
        """Push our commits to the remote branch. A push rejected because the branch moved is
        retried after a fetch and a rebase of our commits; never forced. GitError otherwise."""
        await self._apply_remote_url()
        for _ in range(PUSH_ATTEMPTS):
            result = await self._git.run(
                "push",
                "--porcelain",
                "origin",
                f"HEAD:{self._remote_ref}",
                check=False,
                time_limit=NETWORK_TIMEOUT_SECONDS,
            )
            if result.returncode == 0:
                await self._git.run("update-ref", self._tracking_ref, "HEAD")
                self.pending_commits = 0
                return
            if not _rejected_as_behind(result.stdout.decode()):
                raise GitError(
                    f"pushing {self.branch} to {redact_url(self.remote_url)} failed: "
                    f"{result.stderr or result.stdout.decode().strip()}; check that the "
                    "credentials allow writing and that the branch accepts pushes",
                    stderr=result.stderr,
                )
            await self._fetch()
            await self._rebase_onto_remote()
        raise GitError(
            f"pushing {self.branch} to {redact_url(self.remote_url)} was rejected "
            f"{PUSH_ATTEMPTS} times in a row: other writers keep moving the branch"
        )

    async def recover(self) -> None:
        """Back to the last commit after an interrupted operation: whatever was written or
        staged but not committed is dropped, and the unpushed commits are counted again."""
        await self._discard_unfinished_work()
        self.pending_commits = await self._count_unpushed()

    async def _list_remote_refs(self) -> set[str]:
        try:
            output = await self._git.output(
                "ls-remote", "origin", "HEAD", self._remote_ref, time_limit=NETWORK_TIMEOUT_SECONDS
            )
        except GitError as error:
            raise GitError(
                f"cannot reach the git remote {redact_url(self.remote_url)} "
                f"(branch {self.branch}): {error.stderr or error}. Check the URL, that the "
                "repository exists, network access and the credentials.",
                command=error.command,
                stderr=error.stderr,
            ) from error
        return {line.split("\t", 1)[1] for line in output.splitlines() if "\t" in line}

    async def _fetch(self) -> None:
        await self._git.run(
            "fetch",
            "-q",
            "--no-tags",
            "origin",
            f"+{self._remote_ref}:{self._tracking_ref}",
            time_limit=NETWORK_TIMEOUT_SECONDS,
        )

    async def _rebase_onto_remote(self) -> None:
        # Our files mirror the cluster, so where another writer's change conflicts with ours,
        # ours wins ("theirs" is the side being replayed in a rebase).
        result = await self._git.run(
            "rebase", "-q", "-X", "theirs", self._tracking_ref, check=False
        )
        if result.returncode != 0:
            await self._git.run("rebase", "--abort", check=False)
            raise GitError(
                f"rebasing our commits onto the updated {self.branch} failed: "
                f"{result.stderr or 'no output'}; another writer changed the same files in a "
                "way that cannot be merged",
                stderr=result.stderr,
            )
        self.pending_commits = await self._count_unpushed()

    async def _count_unpushed(self) -> int:
        if await self.head() is None:
            return 0
        tracking = await self._git.run(
            "rev-parse", "-q", "--verify", self._tracking_ref, check=False
        )
        revisions = f"{self._tracking_ref}..HEAD" if tracking.returncode == 0 else "HEAD"
        return int(await self._git.output("rev-list", "--count", revisions))

    async def _discard_unfinished_work(self) -> None:
        # A crash between writing a file and committing it leaves the tree dirty; the commits
        # are the truth, so go back to them.
        await self._git.run("rebase", "--abort", check=False)
        if await self.head() is not None:
            await self._git.run("reset", "-q", "--hard")
        else:
            await self._git.run("read-tree", "--empty")
        await self._git.run("clean", "-q", "-fd")

    async def _apply_remote_url(self) -> None:
        if not self._remote_url_applied:
            await self._git.run("remote", "set-url", "origin", self.remote_url)
            self._remote_url_applied = True


def _rejected_as_behind(porcelain: str) -> bool:
    """Whether `git push --porcelain` says the remote branch moved ahead of us (the only
    rejection a fetch and rebase can cure; hooks and protections are `[remote rejected]`)."""
    return any(line.startswith("!") and "[rejected]" in line for line in porcelain.splitlines())

"""The branch worker against local bare repositories: one commit per change, batched pushes,
rebase (never force) when another writer pushed first, secrets that never reach history."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from controllerkit.clock import FakeClock
from controllerkit.testing import eventually
from examples.gittarget.content import (
    SecretRenderer,
    bootstrap_files,
    content_equivalence,
    decrypt_secret,
    generate_identity,
    object_path,
    render,
)
from examples.gittarget.worker import (
    DEFAULT_AUTHOR,
    BranchWorker,
    FileChange,
    GitError,
    WorkerKey,
    WorkerRegistry,
)

KEY = WorkerKey("team-a", "origin-provider", "main")
TARGET = "clusters/prod"
NEVER = 3600.0  # a push interval no test waits for


async def git_output(cwd: Path, *args: str) -> bytes:
    """Run git as another writer would (its own identity); the raw stdout."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Other Writer",
        "GIT_AUTHOR_EMAIL": "other@example.com",
        "GIT_COMMITTER_NAME": "Other Writer",
        "GIT_COMMITTER_EMAIL": "other@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    process = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, f"git {args}: {stderr.decode()}"
    return stdout


async def git(cwd: Path, *args: str) -> str:
    """Like `git_output`, decoded and stripped."""
    return (await git_output(cwd, *args)).decode().strip()


async def remote_log(remote: Path, branch: str = "main") -> list[str]:
    """Commit subjects on the remote branch, newest first; [] when the branch does not exist."""
    if not await git(remote, "for-each-ref", f"refs/heads/{branch}"):
        return []
    return (await git(remote, "log", "--format=%s", branch)).splitlines()


async def remote_file(remote: Path, path: str, revision: str = "main") -> bytes:
    return await git_output(remote, "show", f"{revision}:{path}")


@pytest.fixture
async def remote(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    path.mkdir()
    await git(path, "init", "-q", "--bare")
    return path


@pytest.fixture
async def worker(remote: Path, tmp_path: Path) -> AsyncIterator[BranchWorker]:
    branch_worker = BranchWorker(KEY, str(remote), tmp_path / "work", push_interval=NEVER)
    await branch_worker.start()
    yield branch_worker
    await branch_worker.close()


async def other_writer_commits(remote: Path, tmp_path: Path, path: str, content: str) -> str:
    """Another clone commits `content` at `path` and pushes it; returns that commit."""
    clone = tmp_path / "other"
    if not clone.exists():
        branch = ["-b", "main"] if await remote_log(remote) else []
        await git(tmp_path, "clone", "-q", *branch, str(remote), str(clone))
    else:
        await git(clone, "pull", "-q", "--rebase")
    (clone / path).parent.mkdir(parents=True, exist_ok=True)
    (clone / path).write_text(content)
    await git(clone, "add", path)
    await git(clone, "commit", "-q", "-m", f"edit {path} by hand")
    await git(clone, "push", "-q", "origin", "HEAD:main")
    return await git(clone, "rev-parse", "HEAD")


def change(name: str, content: str | None, operation: str = "CREATE") -> FileChange:
    path = f"{TARGET}/v1/configmaps/default/{name}.yaml"
    return FileChange(path, None if content is None else content.encode(), f"[{operation}] {name}")


def config_map(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default", "resourceVersion": "1"},
        "data": data,
    }


def secret(name: str, password: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "default"},
        "type": "Opaque",
        "data": {"password": base64.b64encode(password.encode()).decode()},
    }


async def test_bootstrap_commits_once_with_the_fixed_identity(
    worker: BranchWorker, remote: Path
) -> None:
    files = bootstrap_files(TARGET, None)

    first = await worker.bootstrap(TARGET, files)
    again = await worker.bootstrap(TARGET, files)
    await worker.flush()

    assert first is not None
    assert again is None
    assert worker.last_commit == first
    assert await remote_log(remote) == [f"chore(bootstrap): initialize path {TARGET}"]
    identity = await git(remote, "log", "-1", "--format=%an <%ae>|%cn <%ce>", "main")
    assert identity == f"{DEFAULT_AUTHOR}|{DEFAULT_AUTHOR}"


async def test_each_change_is_one_commit_and_identical_content_none(
    worker: BranchWorker, remote: Path
) -> None:
    created = await worker.apply(change("app", "v: 1\n"))
    unchanged = await worker.apply(change("app", "v: 1\n", "UPDATE"))
    updated = await worker.apply(change("app", "v: 2\n", "UPDATE"))
    deleted = await worker.apply(change("app", None, "DELETE"))
    deleted_again = await worker.apply(change("app", None, "DELETE"))
    await worker.flush()

    assert None not in (created, updated, deleted)
    assert unchanged is None
    assert deleted_again is None
    assert await remote_log(remote) == ["[DELETE] app", "[UPDATE] app", "[CREATE] app"]
    assert await git(remote, "rev-parse", "main") == deleted


async def test_sync_folder_makes_the_folder_equal_the_desired_files(
    worker: BranchWorker, remote: Path
) -> None:
    def desired(**objects: dict[str, Any]) -> dict[str, bytes]:
        files = [render(obj, "configmaps", TARGET, None) for obj in objects.values()]
        return {file.path: file.content for file in files if file is not None}

    await worker.bootstrap(TARGET, bootstrap_files(TARGET, None))
    by_hand = FileChange(f"{TARGET}/NOTES.md", b"kept\n", "notes")
    elsewhere = FileChange("clusters/staging/v1/configmaps/default/x.yaml", b"x\n", "other target")
    await worker.apply(by_hand)
    await worker.apply(elsewhere)
    first = await worker.sync_folder(TARGET, desired(a=config_map("a", k="1"), b=config_map("b")))

    second = await worker.sync_folder(TARGET, desired(a=config_map("a", k="2"), c=config_map("c")))
    unchanged = await worker.sync_folder(
        TARGET, desired(a=config_map("a", k="2"), c=config_map("c"))
    )
    await worker.flush()

    assert (first.created, first.updated, first.deleted) == (2, 0, 0)
    assert (second.created, second.updated, second.deleted) == (1, 1, 1)
    assert (unchanged.created, unchanged.updated, unchanged.deleted, unchanged.commit) == (
        0,
        0,
        0,
        None,
    )
    assert second.commit == await git(remote, "rev-parse", "main")
    assert (await remote_log(remote))[:3] == [
        "[DELETE] v1/configmaps/b",
        "[CREATE] v1/configmaps/c",
        "[UPDATE] v1/configmaps/a",
    ]
    files = set((await git(remote, "ls-tree", "-r", "--name-only", "main")).splitlines())
    assert files == {
        f"{TARGET}/README.md",
        by_hand.path,
        elsewhere.path,
        f"{TARGET}/v1/configmaps/default/a.yaml",
        f"{TARGET}/v1/configmaps/default/c.yaml",
    }


async def test_sync_folder_refuses_files_outside_its_folder(worker: BranchWorker) -> None:
    with pytest.raises(ValueError, match="outside the target folder"):
        await worker.sync_folder(TARGET, {"elsewhere/a.yaml": b"a\n"})
    with pytest.raises(ValueError, match="plain path"):
        await worker.apply(FileChange(f"{TARGET}/../../escape.yaml", b"x", "x"))


async def test_pushes_wait_until_max_commits_are_waiting(remote: Path, tmp_path: Path) -> None:
    worker = BranchWorker(KEY, str(remote), tmp_path / "work", push_interval=NEVER, max_commits=3)
    await worker.start()
    try:
        await worker.apply(change("one", "1\n"))
        await worker.apply(change("two", "2\n"))
        assert worker.pending_commits == 2
        assert await remote_log(remote) == []
        assert worker.last_push_time is None

        await worker.apply(change("three", "3\n"))

        assert worker.pending_commits == 0
        assert await remote_log(remote) == ["[CREATE] three", "[CREATE] two", "[CREATE] one"]
        assert worker.last_push_time is not None
    finally:
        await worker.close()


async def test_pushes_happen_once_the_push_interval_passes(remote: Path, tmp_path: Path) -> None:
    clock = FakeClock()
    worker = BranchWorker(KEY, str(remote), tmp_path / "work", push_interval=60.0, clock=clock)
    await worker.start()
    try:
        await worker.apply(change("one", "1\n"))

        async def timer_set() -> bool:
            return clock.next_deadline == 60.0

        await eventually(timer_set)
        clock.advance(59.0)
        await asyncio.sleep(0)
        assert await remote_log(remote) == []
        clock.advance(1.0)

        async def pushed() -> bool:
            return worker.last_push_time is not None

        await eventually(pushed)
        assert worker.pending_commits == 0
        assert await remote_log(remote) == ["[CREATE] one"]
    finally:
        await worker.close()


async def test_a_rejected_push_is_rebased_never_forced(
    worker: BranchWorker, remote: Path, tmp_path: Path
) -> None:
    await worker.apply(change("ours-1", "1\n"))
    await worker.flush()
    theirs = await other_writer_commits(remote, tmp_path, "manual/notes.txt", "by hand\n")

    ours = await worker.apply(change("ours-2", "2\n"))
    await worker.flush()

    assert await remote_log(remote) == [
        "[CREATE] ours-2",
        "edit manual/notes.txt by hand",
        "[CREATE] ours-1",
    ]
    head = await git(remote, "rev-parse", "main")
    assert await git(remote, "rev-parse", "main~1") == theirs, "the other writer's commit stays"
    assert worker.last_commit == head != ours, "our commit was replayed on top"
    assert worker.pending_commits == 0


async def test_our_content_wins_when_another_writer_edited_the_same_file(
    worker: BranchWorker, remote: Path, tmp_path: Path
) -> None:
    await worker.apply(change("app", "value: 1\n"))
    await worker.flush()
    path = change("app", "").path
    await other_writer_commits(remote, tmp_path, path, "value: edited by hand\n")

    await worker.apply(change("app", "value: 2\n", "UPDATE"))
    await worker.flush()

    assert await remote_file(remote, path) == b"value: 2\n"
    assert len(await remote_log(remote)) == 3


async def test_an_unreachable_remote_gives_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-repository.git"
    worker = BranchWorker(KEY, str(missing), tmp_path / "work")

    with pytest.raises(GitError) as raised:
        await worker.start()

    message = str(raised.value)
    assert str(missing) in message
    assert "Check the URL" in message
    assert "does not appear to be a git repository" in message


async def test_credentials_in_the_url_are_not_repeated_in_errors(tmp_path: Path) -> None:
    worker = BranchWorker(KEY, "https://user:s3cret@127.0.0.1:9/repo.git", tmp_path / "work")
    with pytest.raises(GitError) as raised:
        await worker.start()
    assert "s3cret" not in str(raised.value)
    assert "https://***@127.0.0.1:9/repo.git" in str(raised.value)


async def test_a_secret_plaintext_never_reaches_any_commit(
    worker: BranchWorker, remote: Path
) -> None:
    identity, recipient = generate_identity()
    first, second = "hunter2-first-password", "hunter2-second-password"

    assert render(secret("db", first), "secrets", TARGET, None) is None
    created = render(secret("db", first), "secrets", TARGET, [recipient])
    assert created is not None
    await worker.bootstrap(TARGET, bootstrap_files(TARGET, [recipient]))
    await worker.sync_folder(TARGET, {created.path: created.content})
    updated = render(secret("db", second), "secrets", TARGET, [recipient])
    assert updated is not None
    await worker.sync_folder(TARGET, {updated.path: updated.content})
    await worker.flush()
    in_history = await remote_file(remote, created.path)
    await worker.sync_folder(TARGET, {})
    await worker.flush()

    assert await remote_log(remote) == [
        "[DELETE] v1/secrets/db",
        "[UPDATE] v1/secrets/db",
        "[CREATE] v1/secrets/db",
        f"chore(bootstrap): initialize path {TARGET}",
    ]
    # Every object the repository holds: each version of each file, trees, commit messages.
    everything = await git_output(remote, "cat-file", "--batch-all-objects", "--batch")
    for plaintext in (first.encode(), second.encode()):
        assert plaintext not in everything
        assert base64.b64encode(plaintext) not in everything
    assert decrypt_secret(in_history, identity)["data"] == secret("db", second)["data"]


async def test_a_restarted_worker_commits_nothing_for_unchanged_objects(
    remote: Path, tmp_path: Path
) -> None:
    identity, recipient = generate_identity()
    stored_secret = secret("db", "pw")

    def desired(renderer: SecretRenderer) -> dict[str, bytes]:
        # A fresh renderer has no memory of earlier encryptions, as after a restart.
        mirrored = render(config_map("app", k="v"), "configmaps", TARGET, None)
        assert mirrored is not None
        secret_path = object_path(stored_secret, "secrets", TARGET)
        return {
            mirrored.path: mirrored.content,
            secret_path: renderer.render(stored_secret, [recipient]),
        }

    first = BranchWorker(KEY, str(remote), tmp_path / "first", push_interval=NEVER)
    await first.start()
    await first.sync_folder(TARGET, desired(SecretRenderer()))
    await first.close()
    history = await remote_log(remote)

    for workdir in ("first", "fresh-clone"):
        again = BranchWorker(KEY, str(remote), tmp_path / workdir, push_interval=NEVER)
        await again.start()
        result = await again.sync_folder(
            TARGET, desired(SecretRenderer()), equivalent=content_equivalence(identity)
        )
        await again.close()
        assert (result.created, result.updated, result.deleted, result.commit) == (0, 0, 0, None)
    assert await remote_log(remote) == history
    assert len(history) == 2


async def test_unpushed_commits_survive_a_failed_push_and_a_restart(
    remote: Path, tmp_path: Path
) -> None:
    worker = BranchWorker(KEY, str(remote), tmp_path / "work", push_interval=NEVER, max_commits=1)
    await worker.start()
    worker.configure(remote_url=str(tmp_path / "gone.git"))

    commit = await worker.apply(change("app", "v\n"))

    assert commit is not None
    assert worker.last_push_error is not None
    assert worker.pending_commits == 1
    with pytest.raises(GitError):
        await worker.close()

    resumed = BranchWorker(KEY, str(remote), tmp_path / "work", push_interval=NEVER)
    await resumed.start()
    assert resumed.pending_commits == 1
    await resumed.close()
    assert await remote_log(remote) == ["[CREATE] app"]


async def test_a_new_branch_starts_from_the_default_branch(remote: Path, tmp_path: Path) -> None:
    base = await other_writer_commits(remote, tmp_path, "README.md", "the repository\n")
    await git(remote, "symbolic-ref", "HEAD", "refs/heads/main")
    key = WorkerKey("team-a", "origin-provider", "mirror/prod")
    worker = BranchWorker(key, str(remote), tmp_path / "work", push_interval=NEVER)
    await worker.start()
    assert worker.pending_commits == 0

    await worker.bootstrap(TARGET, bootstrap_files(TARGET, None))
    await worker.close()

    assert await git(remote, "rev-parse", "mirror/prod~1") == base
    assert await remote_log(remote, "mirror/prod") == [
        f"chore(bootstrap): initialize path {TARGET}",
        "edit README.md by hand",
    ]


async def test_a_failed_operation_leaves_nothing_for_the_next_commit(
    worker: BranchWorker, remote: Path
) -> None:
    # git refuses an empty commit message after the file was written and staged.
    with pytest.raises(GitError, match="empty commit message"):
        await worker.apply(FileChange(change("half-done", "").path, b"left over\n", ""))

    commit = await worker.apply(change("next", "n\n"))
    await worker.flush()

    assert commit is not None
    assert await remote_log(remote) == ["[CREATE] next"]
    tree = (await git(remote, "ls-tree", "-r", "--name-only", "main")).splitlines()
    assert tree == [change("next", "").path]


async def test_concurrent_operations_are_serialised(worker: BranchWorker, remote: Path) -> None:
    commits = await asyncio.gather(*(worker.apply(change(f"cm-{n}", f"{n}\n")) for n in range(8)))
    await worker.flush()

    assert len(set(commits)) == 8
    assert sorted(await remote_log(remote)) == sorted(f"[CREATE] cm-{n}" for n in range(8))


async def test_the_registry_shares_one_worker_per_branch(remote: Path, tmp_path: Path) -> None:
    registry = WorkerRegistry(tmp_path / "workers")
    settings: dict[str, Any] = {"push_interval": NEVER, "max_commits": 20, "env": None}
    first = registry.acquire(KEY, str(remote), holder="team-a/prod", **settings)
    second = registry.acquire(KEY, str(remote), holder="team-a/staging", **settings)
    other_key = WorkerKey("team-a", "origin-provider", "feature/x")
    other = registry.acquire(other_key, str(remote), holder="team-a/feature", **settings)

    assert first is second
    assert other is not first
    assert registry.holders(KEY) == {"team-a/prod", "team-a/staging"}
    assert registry.workdir_for(other_key).name == "feature%2Fx"
    await first.start()
    await second.start()
    await first.apply(change("app", "v\n"))

    await registry.release(KEY, "team-a/prod")
    assert registry.get(KEY) is first
    assert await remote_log(remote) == [], "a remaining holder keeps the batch open"
    await first.apply(change("web", "v\n"))

    await registry.release(KEY, "team-a/staging")
    assert registry.get(KEY) is None
    assert await remote_log(remote) == ["[CREATE] web", "[CREATE] app"]
    await registry.close()
    assert registry.get(other_key) is None

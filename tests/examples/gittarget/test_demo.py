"""The demo runs against a server and shows the lifecycle and the resulting history."""

from __future__ import annotations

from pathlib import Path

from controllerkit.apiserver import EmbeddedApiServer
from examples.gittarget.demo import run_demo


async def test_the_demo_shows_the_conditions_progress_to_ready_and_the_git_log(
        server: EmbeddedApiServer, tmp_path: Path) -> None:
    lines: list[str] = []
    await run_demo(server.kubeconfig_path, tmp_path, out=lines.append)
    output = "\n".join(lines)

    progress = [line for line in lines if "Validated=" in line]
    assert [line.split()[0] for line in progress] == [
        "PENDING", "BOOTSTRAPPING", "SYNCING", "RUNNING"]
    assert progress[1].split()[1] == "Validated=False(ProviderNotFound)"
    assert "SnapshotSynced=False(Running)" in progress[2]
    assert progress[-1].endswith("Ready=True(OK)")
    log = output.split("$ git log --oneline\n", 1)[1].splitlines()
    subjects = [line.split(" ", 1)[1] for line in log]
    assert subjects[0] == "[UPDATE] v1/configmaps/web-settings"
    assert subjects[-1] == "chore(bootstrap): initialize path clusters/demo"
    assert set(subjects[1:-1]) == {"[CREATE] v1/configmaps/web-settings",
                                   "[CREATE] v1/configmaps/feature-flags",
                                   "[CREATE] v1/secrets/db-credentials"}

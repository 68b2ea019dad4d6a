"""End to end: the controller on the embedded API server with exactly the RBAC of rbac.yaml,
objects applied with kubectl, a local bare repository as the remote."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from controllerkit.conditions import format_time
from controllerkit.meta import SECRET
from controllerkit.testing import eventually
from examples.gittarget.app import Settings
from examples.gittarget.content import decrypt_secret
from examples.gittarget.encryption_setup import IDENTITY_KEY
from examples.gittarget.kinds import GIT_TARGET

from .support import (
    NAMESPACE,
    Cluster,
    branch_files,
    commit_subjects,
    conditions,
    git,
    running,
)

PLAINTEXT = "s3cr3t-plaintext-value"
FOLDER = "clusters/dev"


def manifests(remote: Path) -> str:
    """A provider, an encrypting target, a rule for ConfigMaps and Secrets, and objects."""
    return f"""
apiVersion: gittarget.controllerkit.dev/v1alpha1
kind: GitProvider
metadata: {{name: repo, namespace: default}}
spec:
  url: {remote}
  allowedBranches: [main]
  push: {{interval: 1s, maxCommits: 1}}
---
apiVersion: gittarget.controllerkit.dev/v1alpha1
kind: GitTarget
metadata: {{name: cluster, namespace: default}}
spec:
  providerRef: {{name: repo}}
  branch: main
  path: {FOLDER}
  encryption: {{enabled: true, secretRef: {{name: age-key}}, generateWhenMissing: true}}
---
apiVersion: gittarget.controllerkit.dev/v1alpha1
kind: WatchRule
metadata: {{name: config, namespace: default}}
spec:
  targetRef: {{name: cluster}}
  rules:
    - apiGroups: [""]
      apiVersions: [v1]
      resources: [configmaps, secrets]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: web, namespace: default, labels: {{app: web}}}}
data: {{color: blue}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: db, namespace: default}}
data: {{size: small}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: elsewhere}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: unrelated, namespace: elsewhere}}
data: {{ignored: "yes"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: db-password, namespace: default}}
stringData: {{password: {PLAINTEXT}}}
"""


EXPECTED_FILES = {
    f"{FOLDER}/README.md",
    f"{FOLDER}/.encryption.yaml",
    f"{FOLDER}/v1/configmaps/default/web.yaml",
    f"{FOLDER}/v1/configmaps/default/db.yaml",
    f"{FOLDER}/v1/secrets/default/db-password.sops.yaml",
}


async def apply_and_wait_ready(cluster: Cluster, remote: Path) -> None:
    await cluster.kubectl.arun("apply", "-f", "-", input=manifests(remote))
    for condition in ("SnapshotSynced", "Ready"):
        await cluster.kubectl.arun("wait", f"--for=condition={condition}=true",
                                   "gittarget/cluster", "--timeout=60s")


async def identity(cluster: Cluster) -> str:
    secret = await cluster.admin.get(SECRET, "age-key", namespace=NAMESPACE)
    return base64.b64decode(secret["data"][IDENTITY_KEY]).decode()


async def test_the_folder_mirrors_the_selected_objects_and_follows_their_changes(
        cluster: Cluster, remote: Path, settings: Settings) -> None:
    async with running(cluster.controller_client, settings):
        await apply_and_wait_ready(cluster, remote)
        await eventually(lambda: branch_files(remote) == EXPECTED_FILES)

        web = yaml.safe_load(git(remote, "show", f"main:{FOLDER}/v1/configmaps/default/web.yaml"))
        assert web == {"apiVersion": "v1", "kind": "ConfigMap", "data": {"color": "blue"},
                       "metadata": {"name": "web", "namespace": "default",
                                    "labels": {"app": "web"}}}
        stored = git(remote, "show", f"main:{FOLDER}/v1/secrets/default/db-password.sops.yaml")
        secret = decrypt_secret(stored.encode(), await identity(cluster))
        assert base64.b64decode(secret["data"]["password"]).decode() == PLAINTEXT

        before = len(commit_subjects(remote))
        await cluster.kubectl.arun("create", "configmap", "cache", "--from-literal=ttl=60")
        await cluster.kubectl.arun("patch", "configmap", "web", "--type=merge",
                                   "-p", '{"data": {"color": "green"}}')
        await cluster.kubectl.arun("delete", "configmap", "db")
        await eventually(lambda: commit_subjects(remote)[before:] == [
            "[CREATE] v1/configmaps/cache", "[UPDATE] v1/configmaps/web",
            "[DELETE] v1/configmaps/db"])
        assert branch_files(remote) == (EXPECTED_FILES - {
            f"{FOLDER}/v1/configmaps/default/db.yaml"}) | {
            f"{FOLDER}/v1/configmaps/default/cache.yaml"}

        async def status_names_the_pushed_commit() -> bool:
            obj = await cluster.admin.get(GIT_TARGET, "cluster", namespace=NAMESPACE)
            return bool(obj["status"].get("lastCommit") == git(remote, "rev-parse", "main").strip())
        await eventually(status_names_the_pushed_commit)

    history = git(remote, "log", "-p", "--all")
    assert PLAINTEXT not in history
    assert base64.b64encode(PLAINTEXT.encode()).decode() not in history
    assert (await identity(cluster)) not in history
    assert commit_subjects(remote)[0] == f"chore(bootstrap): initialize path {FOLDER}"


@pytest.mark.parametrize("workdir", ["kept", "fresh"])
async def test_a_restarted_controller_commits_nothing_twice(
        cluster: Cluster, remote: Path, settings: Settings, tmp_path: Path,
        workdir: str) -> None:
    async with running(cluster.controller_client, settings):
        await apply_and_wait_ready(cluster, remote)
        await eventually(lambda: branch_files(remote) == EXPECTED_FILES)
    commits = git(remote, "log", "--format=%H %s", "main")

    restarted_at = datetime(2031, 1, 1, tzinfo=UTC)
    restart = settings if workdir == "kept" else dataclasses.replace(
        settings, workdir=tmp_path / "another-workdir")
    async with running(cluster.controller_client, restart, now=lambda: restarted_at):
        async def snapshot_taken_again() -> bool:
            obj = await cluster.admin.get(GIT_TARGET, "cluster", namespace=NAMESPACE)
            status = obj["status"]
            return bool(status.get("lastReconcileTime") == format_time(restarted_at)
                        and status["snapshot"]["lastCompletedTime"] == format_time(restarted_at))
        await eventually(snapshot_taken_again)
        obj = await cluster.admin.get(GIT_TARGET, "cluster", namespace=NAMESPACE)
        found = await conditions(cluster.admin)

    assert git(remote, "log", "--format=%H %s", "main") == commits
    assert obj["status"]["snapshot"]["stats"] == {"created": 0, "updated": 0, "deleted": 0}
    assert found["Bootstrapped"]["reason"] == "BootstrapNotNeeded"
    assert found["Ready"]["status"] == "True"


async def test_unchanged_gates_keep_their_transition_times(
        cluster: Cluster, remote: Path, settings: Settings) -> None:
    clock = [datetime(2030, 1, 1, tzinfo=UTC)]
    async with running(cluster.controller_client, settings, now=lambda: clock[0]):
        await apply_and_wait_ready(cluster, remote)
        first = await conditions(cluster.admin)

        clock[0] += timedelta(hours=1)
        # A streamed commit makes the controller reconcile (and write its status) again.
        await cluster.kubectl.arun("create", "configmap", "later", "--from-literal=k=v")

        async def reconciled_again() -> bool:
            obj = await cluster.admin.get(GIT_TARGET, "cluster", namespace=NAMESPACE)
            return bool(obj["status"]["lastReconcileTime"] == format_time(clock[0]))
        await eventually(reconciled_again)
        second = await conditions(cluster.admin)

    assert {t: c["lastTransitionTime"] for t, c in second.items()} == {
        t: c["lastTransitionTime"] for t, c in first.items()}
    assert set(second) == {"Validated", "EncryptionConfigured", "Bootstrapped",
                           "SnapshotSynced", "EventStreamLive", "Ready"}
    assert all(c["status"] == "True" for c in second.values())
    assert {c["lastTransitionTime"] for c in second.values()} == {"2030-01-01T00:00:00Z"}

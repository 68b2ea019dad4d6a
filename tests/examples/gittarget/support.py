"""Helpers of the GitTarget controller tests: RBAC-derived identities, git inspection of bare
repositories, the controller run in the test's event loop, manifests."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from controllerkit import KubeClient, Manager
from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.testing.kubectl import Kubectl
from examples.gittarget.app import Settings, create_manager
from examples.gittarget.kinds import GIT_TARGET

from .. import support as shared
from ..support import ROOT

RBAC = ROOT / "examples" / "gittarget" / "rbac.yaml"
ADMIN_TOKEN = "admin-token"
CONTROLLER_TOKEN = "controller-token"
NAMESPACE = "default"


@dataclass
class Cluster:
    """The test's API server, an admin client, kubectl, and a client with the controller's
    RBAC."""

    server: EmbeddedApiServer
    admin: KubeClient
    controller_client: KubeClient
    kubectl: Kubectl


@dataclass(frozen=True)
class RuleChange:
    """Resources taken from the controller's RBAC, and rules added to it."""

    drop: tuple[str, ...] = ()
    add: tuple[dict[str, Any], ...] = ()


def rbac_rules(*, drop: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The rules of every ClusterRole in rbac.yaml, minus the resources named in `drop`."""
    dropped = set(drop)
    rules = []
    for document in yaml.safe_load_all(RBAC.read_text()):
        if document["kind"] != "ClusterRole":
            continue
        for rule in document["rules"]:
            resources = [r for r in rule["resources"] if r not in dropped]
            if resources:
                rules.append({"verbs": rule["verbs"], "apiGroups": rule["apiGroups"],
                              "resources": resources})
    return rules


def write_tokens(path: Path, controller_rules: list[dict[str, Any]]) -> Path:
    """A tokens file: `admin` may do anything, `gittarget-controller` what its rules allow."""
    path.write_text(yaml.safe_dump({"identities": [
        {"name": "admin", "token": ADMIN_TOKEN, "groups": ["system:masters"]},
        {"name": "gittarget-controller", "token": CONTROLLER_TOKEN, "rules": controller_rules},
    ]}))
    return path


def git(repository: Path, *args: str) -> str:
    """Run git on a (bare) repository and return its output."""
    return subprocess.run(["git", "--git-dir", str(repository), *args], check=True,
                          capture_output=True, text=True).stdout


def branch_files(repository: Path, branch: str = "main") -> set[str]:
    """The files of the branch's last commit ({} while the branch does not exist)."""
    if not git(repository, "branch", "--list", branch).strip():
        return set()
    return set(git(repository, "ls-tree", "-r", "--name-only", branch).split())


def commit_subjects(repository: Path, branch: str = "main") -> list[str]:
    """The subjects of the branch's commits, oldest first."""
    if not git(repository, "branch", "--list", branch).strip():
        return []
    return git(repository, "log", "--reverse", "--format=%s", branch).splitlines()


def running(client: KubeClient, settings: Settings, **options: Any
            ) -> contextlib.AbstractAsyncContextManager[Manager]:
    """The controller running until the block ends (then stopped gracefully)."""
    manager = create_manager(client, settings, metrics_bind_address="",
                             health_probe_bind_address="", **options)
    return shared.running(manager, within=30.0)


def provider(url: Path | str, *, name: str = "repo", branches: Iterable[str] = ("main",),
             **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "gittarget.controllerkit.dev/v1alpha1", "kind": "GitProvider",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"url": str(url), "allowedBranches": list(branches),
                     "push": {"interval": "1s", "maxCommits": 1}, **spec}}


def target(name: str = "cluster", *, provider_name: str = "repo", branch: str = "main",
           path: str = "clusters/dev", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "gittarget.controllerkit.dev/v1alpha1", "kind": "GitTarget",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"providerRef": {"name": provider_name}, "branch": branch, "path": path,
                     **spec}}


CONFIGMAPS_RULE = {"apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}


def watch_rule(name: str = "configs", *, target_name: str = "cluster",
               rules: Sequence[Mapping[str, Any]] = (CONFIGMAPS_RULE,)) -> dict[str, Any]:
    """A WatchRule for the target (by default: the ConfigMaps of its namespace)."""
    return {"apiVersion": "gittarget.controllerkit.dev/v1alpha1", "kind": "WatchRule",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"targetRef": {"name": target_name}, "rules": [dict(r) for r in rules]}}


def with_delays(settings: Settings, **delays: float) -> Settings:
    """`settings` with some requeue delays (in seconds) replaced."""
    return replace(settings, delays=replace(
        settings.delays, **{name: timedelta(seconds=value) for name, value in delays.items()}))


async def conditions(client: KubeClient, name: str = "cluster") -> dict[str, dict[str, Any]]:
    """The target's conditions by type."""
    obj = await client.get(GIT_TARGET, name, namespace=NAMESPACE)
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or ()}


def summary(found: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """(status, reason) by condition type."""
    return {type_: (c["status"], c["reason"]) for type_, c in found.items()}


def init_bare(path: Path) -> Path:
    """An empty bare repository at `path`."""
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(path)],
                   check=True)
    return path

"""What is mirrored follows the WatchRules at run time, and targets share branch workers."""

from __future__ import annotations

from pathlib import Path

from controllerkit.meta import CONFIG_MAP
from controllerkit.testing import eventually
from examples.gittarget.app import Settings
from examples.gittarget.kinds import GIT_PROVIDER, GIT_TARGET, WATCH_RULE

from .support import (
    NAMESPACE,
    Cluster,
    branch_files,
    commit_subjects,
    conditions,
    provider,
    running,
    target,
    watch_rule,
)


def selecting(app: str) -> list[dict[str, object]]:
    return [{"apiGroups": [""], "resources": ["configmaps"],
             "labelSelector": {"matchLabels": {"app": app}}}]


async def ready(cluster: Cluster, name: str = "cluster") -> bool:
    found = (await conditions(cluster.admin, name)).get("Ready")
    return found is not None and found["status"] == "True"


async def test_changing_a_rule_changes_the_watches_and_the_folder(
        cluster: Cluster, remote: Path, settings: Settings) -> None:
    for name in ("web", "db"):
        await cluster.admin.create(CONFIG_MAP, {"metadata": {"name": name,
                                                             "labels": {"app": name}}},
                                   namespace=NAMESPACE)
    await cluster.admin.create(GIT_PROVIDER, provider(remote), namespace=NAMESPACE)
    await cluster.admin.create(GIT_TARGET, target(), namespace=NAMESPACE)
    await cluster.admin.create(WATCH_RULE, watch_rule(rules=selecting("web")),
                               namespace=NAMESPACE)
    folder = "clusters/dev/v1/configmaps/default"
    async with running(cluster.controller_client, settings) as manager:
        await eventually(lambda: f"{folder}/web.yaml" in branch_files(remote))

        def selectors() -> set[str]:
            return {informer.label_selector for informer in manager.informers.informers()
                    if informer.kind == CONFIG_MAP}
        assert selectors() == {"app=web"}

        await cluster.admin.patch(WATCH_RULE, "configs", {"spec": {"rules": selecting("db")}},
                                  namespace=NAMESPACE)
        await eventually(lambda: {f"{folder}/db.yaml"} == {
            path for path in branch_files(remote) if path.startswith(folder)})
        await eventually(lambda: selectors() == {"app=db"})
        await eventually(lambda: ready(cluster))
    assert commit_subjects(remote)[-2:] == ["[CREATE] v1/configmaps/db",
                                            "[DELETE] v1/configmaps/web"]


async def test_targets_of_one_branch_share_its_worker(
        cluster: Cluster, remote: Path, settings: Settings) -> None:
    await cluster.admin.create(CONFIG_MAP, {"metadata": {"name": "app"}}, namespace=NAMESPACE)
    await cluster.admin.create(GIT_PROVIDER, provider(remote), namespace=NAMESPACE)
    for name, path in (("dev", "clusters/dev"), ("prod", "clusters/prod")):
        await cluster.admin.create(GIT_TARGET, target(name, path=path), namespace=NAMESPACE)
        await cluster.admin.create(WATCH_RULE, watch_rule(name, target_name=name),
                                   namespace=NAMESPACE)
    async with running(cluster.controller_client, settings):
        await eventually(lambda: ready(cluster, "dev"))
        await eventually(lambda: ready(cluster, "prod"))
        await eventually(lambda: {"clusters/dev/v1/configmaps/default/app.yaml",
                                  "clusters/prod/v1/configmaps/default/app.yaml"}
                         <= branch_files(remote))
        workers = {(await cluster.admin.get(GIT_TARGET, name, namespace=NAMESPACE))
                   ["status"]["workerRef"]["name"] for name in ("dev", "prod")}
    assert workers == {"default/repo/main"}
    assert {"chore(bootstrap): initialize path clusters/dev",
            "chore(bootstrap): initialize path clusters/prod"} <= set(commit_subjects(remote))

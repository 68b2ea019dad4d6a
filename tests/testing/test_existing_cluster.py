"""Existing-cluster mode: the `apiserver` fixture stands for a cluster named by a kubeconfig.

The "existing cluster" here is a second embedded server started by the outer test; the
generated tests reach it only through its kubeconfig, as they would a real cluster.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from controllerkit.apiserver import ThreadedApiServer
from controllerkit.testing import Kubectl

pytest_plugins = ["pytester"]

GENERATED_TESTS = """
import pytest

from controllerkit.meta import CONFIG_MAP
from controllerkit.testing import ExistingCluster


@pytest.mark.apiserver(strict_status=True)
@pytest.mark.asyncio
async def test_runs_against_the_existing_cluster(apiserver, kube_client, kubectl):
    assert isinstance(apiserver, ExistingCluster)
    assert apiserver.url == {url!r}
    assert kube_client.config.server == apiserver.url
    await kube_client.create(CONFIG_MAP, {{"metadata": {{"name": "left-behind"}}}},
                             namespace="default")
    shown = await kubectl.arun("get", "configmap", "left-behind", "-n", "default",
                               "-o", "name")
    assert shown.stdout.strip() == "configmap/left-behind"
"""


@pytest.fixture
def cluster() -> Iterator[ThreadedApiServer]:
    with ThreadedApiServer() as server:
        yield server


@pytest.mark.parametrize("selected_by", ["flags", "environment"])
def test_the_fixtures_reach_the_cluster_of_the_kubeconfig(
    suite: pytest.Pytester, cluster: ThreadedApiServer, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, selected_by: str,
) -> None:
    suite.makepyfile(GENERATED_TESTS.format(url=cluster.url))
    if selected_by == "flags":
        # With "=": pytest would take a separate value for a path and look for its rootdir
        # and ini file from there.
        result = suite.runpytest("--existing-cluster",
                                 f"--kubeconfig={cluster.kubeconfig_path}")
    else:
        monkeypatch.setenv("CONTROLLERKIT_EXISTING_CLUSTER", "1")
        monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig_path))
        result = suite.runpytest()

    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines([
        f"controllerkit: existing cluster {cluster.url} (context *, kubeconfig *)",
        "*ExistingClusterWarning: @pytest.mark.apiserver(strict_status=True) "
        f"ignored: the tests run against the existing cluster {cluster.url}",
    ])
    # The object outlives the test: the cluster is not the test's own.
    kubectl = Kubectl(cluster.kubeconfig_path, tmp_path / "kube-cache")
    assert kubectl.run("get", "configmap", "left-behind", "-n", "default", "-o",
                       "name").stdout.strip() == "configmap/left-behind"


@pytest.mark.parametrize(("arguments", "environment", "error"), [
    (["--existing-cluster", "--kubeconfig=missing.yaml"], {},
     "*--existing-cluster: cannot read the kubeconfig missing.yaml*"),
    (["--kubeconfig=kubeconfig.yaml"], {},
     "*--kubeconfig is the kubeconfig of --existing-cluster*which is not set*"),
    (["--existing-cluster"], {"KUBECONFIG": f"a.yaml{os.pathsep}b.yaml"},
     "*KUBECONFIG lists 2 files; name one with --kubeconfig*"),
    ([], {"CONTROLLERKIT_EXISTING_CLUSTER": "maybe"},
     "*CONTROLLERKIT_EXISTING_CLUSTER='maybe': use 1*"),
], ids=["unreadable kubeconfig", "kubeconfig alone", "several kubeconfigs", "unclear switch"])
def test_a_mode_that_cannot_work_is_a_usage_error(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, arguments: list[str],
    environment: dict[str, str], error: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    suite.makepyfile("def test_never_runs(apiserver):\n    raise AssertionError\n")

    result = suite.runpytest(*arguments)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([error])


def test_a_kubeconfig_without_a_server_for_its_context_is_refused(
    suite: pytest.Pytester,
) -> None:
    kubeconfig = suite.path / "kubeconfig.yaml"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
                          "contexts: []\nclusters: []\n", encoding="utf-8")
    suite.makepyfile("def test_never_runs(apiserver):\n    raise AssertionError\n")

    result = suite.runpytest("--existing-cluster", f"--kubeconfig={kubeconfig}")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*has no context named 'gone'*"])

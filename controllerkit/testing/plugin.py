"""pytest plugin: the cluster under test and clients for it.

Fixtures:

- `apiserver`: a fresh in-memory embedded API server per test (`ThreadedApiServer`), its
  options set by the marker `@pytest.mark.apiserver(**ApiServerOptions fields)`. With
  `--existing-cluster` (or `CONTROLLERKIT_EXISTING_CLUSTER=1`), an `ExistingCluster` read
  from `--kubeconfig PATH` (or `$KUBECONFIG`, or `~/.kube/config`) instead: nothing is
  started, and marker options are ignored with an `ExistingClusterWarning`.
- `kubectl`: a `Kubectl` bound to that cluster's kubeconfig, with a private discovery cache.
- `kube_client`: an open `KubeClient` for that cluster, closed after the test (needs
  pytest-asyncio: `pip install 'controllerkit[testing]'`).

The embedded server runs on its own thread and event loop, so synchronous tests can call
kubectl with blocking subprocess calls and async tests can use any client against
`apiserver.url` from their own loop.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from controllerkit.apiserver import ApiServerOptions, ThreadedApiServer
from controllerkit.client import KubeClient

from .cluster import ClusterUnderTest, ExistingCluster, kubeconfig_from_environment
from .kubectl import Kubectl

__all__ = ["EXISTING_CLUSTER_ENV", "ExistingClusterWarning"]

EXISTING_CLUSTER_ENV = "CONTROLLERKIT_EXISTING_CLUSTER"

# Quiet watches get a bookmark every second, so waits on a resourceVersion end quickly.
_EMBEDDED_DEFAULTS: dict[str, Any] = {"bookmark_interval": 1.0}
_OPTION_NAMES = frozenset(field.name for field in dataclasses.fields(ApiServerOptions))
_EXISTING_CLUSTER = pytest.StashKey[ExistingCluster | None]()
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


class ExistingClusterWarning(UserWarning):
    """An `apiserver` marker option was ignored: the run uses an existing cluster."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("controllerkit", "controllerkit: the cluster under test")
    group.addoption(
        "--existing-cluster", action="store_true", default=False,
        help=f"run the `apiserver` fixture's tests against the cluster of a kubeconfig "
             f"instead of an embedded server per test (also: {EXISTING_CLUSTER_ENV}=1)")
    group.addoption(
        "--kubeconfig", metavar="PATH", default=None,
        help="the kubeconfig of --existing-cluster (default: $KUBECONFIG, ~/.kube/config)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "apiserver(**options): ApiServerOptions fields for the test's embedded API server, "
        "e.g. strict_status=True (ignored with --existing-cluster)")
    config.stash[_EXISTING_CLUSTER] = _existing_cluster(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    cluster = config.stash.get(_EXISTING_CLUSTER, None)
    if cluster is None:
        return None
    return (f"controllerkit: existing cluster {cluster.url} (context {cluster.context}, "
            f"kubeconfig {cluster.kubeconfig_path})")


@pytest.fixture
def apiserver(request: pytest.FixtureRequest) -> Iterator[ClusterUnderTest]:
    """The cluster under test: a fresh embedded server, or the existing cluster of the run."""
    options = _marker_options(request)
    existing = request.config.stash[_EXISTING_CLUSTER]
    if existing is not None:
        if options:
            warnings.warn(ExistingClusterWarning(
                f"@pytest.mark.apiserver({_call_arguments(options)}) ignored: the tests run "
                f"against the existing cluster {existing.url}"), stacklevel=1)
        yield existing
        return
    with ThreadedApiServer(**{**_EMBEDDED_DEFAULTS, **options}) as server:
        yield server


@pytest.fixture
def kubectl(apiserver: ClusterUnderTest, tmp_path: Path) -> Kubectl:
    """kubectl bound to the test's cluster, with a private discovery cache."""
    return Kubectl(apiserver.kubeconfig_path, tmp_path / "kube-cache")


async def _open_kube_client(apiserver: ClusterUnderTest) -> AsyncIterator[KubeClient]:
    """An open `KubeClient` for the test's cluster (its kubeconfig), closed after the test."""
    async with KubeClient.from_kubeconfig(apiserver.kubeconfig_path) as client:
        yield client


def _kube_client_needs_pytest_asyncio() -> NoReturn:
    pytest.fail("the kube_client fixture is async and needs pytest-asyncio: "
                "pip install 'controllerkit[testing]'", pytrace=False)


def _kube_client_fixture() -> Any:
    # pytest loads this plugin wherever controllerkit is installed; without pytest-asyncio
    # only the tests that ask for kube_client should fail.
    try:
        import pytest_asyncio
    except ImportError:
        return pytest.fixture(name="kube_client")(_kube_client_needs_pytest_asyncio)
    return pytest_asyncio.fixture(name="kube_client")(_open_kube_client)


kube_client = _kube_client_fixture()


def _marker_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The `apiserver` markers' keyword arguments; the closest marker wins per option."""
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("apiserver"))):
        if marker.args:
            pytest.fail(f"@pytest.mark.apiserver takes keyword arguments only, not "
                        f"{marker.args!r}", pytrace=False)
        options.update(marker.kwargs)
    unknown = sorted(set(options) - _OPTION_NAMES)
    if unknown:
        pytest.fail(f"@pytest.mark.apiserver: unknown option(s) {', '.join(unknown)}; the "
                    f"options are the fields of ApiServerOptions: "
                    f"{', '.join(sorted(_OPTION_NAMES))}", pytrace=False)
    return options


def _call_arguments(options: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in sorted(options.items()))


def _existing_cluster(config: pytest.Config) -> ExistingCluster | None:
    kubeconfig: str | None = config.getoption("kubeconfig")
    if not (config.getoption("existing_cluster") or _environment_asks_for_existing_cluster()):
        if kubeconfig is not None:
            raise pytest.UsageError(f"--kubeconfig is the kubeconfig of --existing-cluster "
                                    f"(or {EXISTING_CLUSTER_ENV}=1), which is not set")
        return None
    try:
        path = Path(kubeconfig) if kubeconfig is not None else kubeconfig_from_environment()
        return ExistingCluster.from_kubeconfig(path)
    except ValueError as error:
        raise pytest.UsageError(f"--existing-cluster: {error}") from None


def _environment_asks_for_existing_cluster() -> bool:
    value = os.environ.get(EXISTING_CLUSTER_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise pytest.UsageError(f"{EXISTING_CLUSTER_ENV}={value!r}: use 1 (an existing cluster) "
                            f"or 0 (an embedded server per test)")

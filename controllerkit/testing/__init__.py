"""Testing support for controllers: the cluster under test, waiting for conditions, a manager
per test, and a kubectl runner.

Installed as a pytest plugin (entry point `controllerkit`), so the fixtures `apiserver`,
`kubectl` and `kube_client` and the marker `apiserver` are available to any test suite that
installs controllerkit (see `controllerkit.testing.plugin`). The helpers work in any asyncio
code:

- `eventually(check)`: call `check` until it passes, within a deadline.
- `run_manager(manager)`: a `Manager` running for the length of an `async with` block.
- `ClusterUnderTest`: what the `apiserver` fixture yields, an embedded server or an
  `ExistingCluster`.
"""

from .cluster import ClusterUnderTest, ExistingCluster
from .eventually import eventually
from .kubectl import Kubectl, KubectlError
from .manager import run_manager

__all__ = [
    "ClusterUnderTest",
    "ExistingCluster",
    "Kubectl",
    "KubectlError",
    "eventually",
    "run_manager",
]

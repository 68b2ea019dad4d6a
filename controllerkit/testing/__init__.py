"""Testing support: an API server per test, a kubectl runner, and waiting helpers.

Installed as a pytest plugin (entry point `controllerkit`), so the fixtures `apiserver`,
`kubeconfig` and `kubectl` are available to any test suite that installs controllerkit.
"""

from .kubectl import Kubectl, KubectlError

__all__ = ["Kubectl", "KubectlError"]

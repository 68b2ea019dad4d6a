"""Testing support: an API server per test and a kubectl runner.

Installed as a pytest plugin (entry point `controllerkit`), so the fixtures `apiserver` and
`kubectl` are available to any test suite that installs controllerkit.
"""

from .kubectl import Kubectl, KubectlError

__all__ = ["Kubectl", "KubectlError"]

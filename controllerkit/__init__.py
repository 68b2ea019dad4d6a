"""controllerkit: level-triggered Kubernetes controllers for Python.

The names a controller author types; everything else lives in its own package:
`controllerkit.kinds` (typed built-in kinds), `controllerkit.client`, `controllerkit.cache`,
`controllerkit.controller` (the key-based layer under `Manager.controller`),
`controllerkit.workqueue`, `controllerkit.errors`, `controllerkit.conditions`,
`controllerkit.gates`, `controllerkit.events`, `controllerkit.leaderelection`,
`controllerkit.sharding`, `controllerkit.testing`, and the test API server in
`controllerkit.apiserver`.
"""

from .client import KubeClient
from .conditions import set_condition
from .controller import Context
from .crd import crd_for
from .manager import Manager
from .meta import Condition, KubeModel, ObjectMeta, ResourceKind
from .reconcile import Reconciler, Request, Result, TerminalError
from .resource import CustomResource, PrinterColumn, Resource

__version__ = "0.1.0"

__all__ = [
    "Condition",
    "Context",
    "CustomResource",
    "KubeClient",
    "KubeModel",
    "Manager",
    "ObjectMeta",
    "PrinterColumn",
    "Reconciler",
    "Request",
    "Resource",
    "ResourceKind",
    "Result",
    "TerminalError",
    "__version__",
    "crd_for",
    "set_condition",
]

"""controllerkit: level-triggered Kubernetes controllers for Python.

The small public surface; everything else is importable from its own package
(`controllerkit.client`, `controllerkit.cache`, `controllerkit.workqueue`,
`controllerkit.apiserver`, `controllerkit.errors`).
"""

from .apiserver import ApiServerOptions, EmbeddedApiServer, ThreadedApiServer
from .cache import InformerFactory, SharedInformer, Store
from .client import Client, ClientConfig, KubeClient, PatchType, WatchOptions
from .crd import crd_for
from .meta import Condition, KubeModel, ObjectMeta, ResourceKind
from .resource import CustomResource, Resource

__version__ = "0.1.0"

__all__ = [
    "ApiServerOptions",
    "Client",
    "ClientConfig",
    "Condition",
    "CustomResource",
    "EmbeddedApiServer",
    "InformerFactory",
    "KubeClient",
    "KubeModel",
    "ObjectMeta",
    "PatchType",
    "Resource",
    "ResourceKind",
    "SharedInformer",
    "Store",
    "ThreadedApiServer",
    "WatchOptions",
    "__version__",
    "crd_for",
]

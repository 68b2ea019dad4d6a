"""controllerkit: level-triggered Kubernetes controllers for Python.

The small public surface; everything else is importable from its own package
(`controllerkit.client`, `controllerkit.cache`, `controllerkit.workqueue`,
`controllerkit.apiserver`, `controllerkit.errors`, `controllerkit.leaderelection`,
`controllerkit.sharding`).
"""

from .apiserver import ApiServerOptions, EmbeddedApiServer, ThreadedApiServer
from .cache import InformerFactory, SharedInformer, Store
from .client import Client, ClientConfig, KubeClient, PatchType, WatchOptions
from .clock import Clock, FakeClock
from .conditions import get_condition, is_true, set_condition
from .controller import Controller, ControllerBuilder, Finalizer, TypedReconciler
from .crd import crd_for
from .events import EventRecorder
from .gates import Gate, GatePipeline, GateResult, derive_phase
from .leaderelection import LeaderElectionConfig, LeaderElector, LeadershipLost
from .manager import Manager
from .meta import Condition, KubeModel, ObjectMeta, ResourceKind
from .reconcile import Reconciler, Request, Result, TerminalError
from .resource import CustomResource, Resource
from .sharding import ShardCoordinator, ShardingConfig, ShardLeaseLost
from .status import StatusWriter, retry_on_conflict

__version__ = "0.1.0"

__all__ = [
    "ApiServerOptions",
    "Client",
    "ClientConfig",
    "Clock",
    "Condition",
    "Controller",
    "ControllerBuilder",
    "CustomResource",
    "EmbeddedApiServer",
    "EventRecorder",
    "FakeClock",
    "Finalizer",
    "Gate",
    "GatePipeline",
    "GateResult",
    "InformerFactory",
    "KubeClient",
    "KubeModel",
    "LeaderElectionConfig",
    "LeaderElector",
    "LeadershipLost",
    "Manager",
    "ObjectMeta",
    "PatchType",
    "Reconciler",
    "Request",
    "Resource",
    "ResourceKind",
    "Result",
    "ShardCoordinator",
    "ShardLeaseLost",
    "ShardingConfig",
    "SharedInformer",
    "StatusWriter",
    "Store",
    "TerminalError",
    "ThreadedApiServer",
    "TypedReconciler",
    "WatchOptions",
    "__version__",
    "crd_for",
    "derive_phase",
    "get_condition",
    "is_true",
    "retry_on_conflict",
    "set_condition",
]

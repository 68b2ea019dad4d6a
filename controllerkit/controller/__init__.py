"""Controllers: workers that reconcile keys from a rate-limited queue, fed by informers.

- `ControllerBuilder`: `for_(kind)`, `owns(kind)`, `watches(kind, map_fn)`,
  `with_predicates(...)`, `with_options(...)`, `build(reconciler)`.
- `Controller`: the workers, retries with backoff, the quarantine of poisoned keys, graceful
  stop.
- Predicates to filter events, handlers that map events to requests, owner references, and
  `finalize`, the finalizer helper.
- `Context` and `ObjectReconciler`: a reconcile function of the object (typed when its kind
  is a model) with a per-reconcile context; `Manager.controller` builds these.
- `ReconcileHooks`: what runs around every reconcile (metrics, Events, tracing).
"""

from ..owners import AlreadyOwnedError, controller_reference, set_controller_reference
from .builder import ControllerBuilder
from .context import Context
from .controller import Controller
from .finalizers import FinalizerMemory, finalize
from .handlers import (
    EnqueueHandler,
    OwnWrites,
    RequestMapper,
    RequestSink,
    request_for_object,
    request_for_owner,
)
from .hooks import Outcome, ReconcileHooks, ReconcileInfo
from .object_reconciler import ObjectReconciler, ReconcileFunction
from .predicates import (
    ANNOTATIONS_CHANGED,
    GENERATION_CHANGED,
    LABELS_CHANGED,
    RESOURCE_VERSION_CHANGED,
    Predicate,
    and_,
    not_,
    or_,
)
from .quarantine import DEFAULT_MAX_RETRIES, QuarantinedItem
from .stats import ControllerStats
from .trigger import Trigger

__all__ = [
    "ANNOTATIONS_CHANGED",
    "DEFAULT_MAX_RETRIES",
    "GENERATION_CHANGED",
    "LABELS_CHANGED",
    "RESOURCE_VERSION_CHANGED",
    "AlreadyOwnedError",
    "Context",
    "Controller",
    "ControllerBuilder",
    "ControllerStats",
    "EnqueueHandler",
    "FinalizerMemory",
    "ObjectReconciler",
    "Outcome",
    "OwnWrites",
    "Predicate",
    "QuarantinedItem",
    "ReconcileFunction",
    "ReconcileHooks",
    "ReconcileInfo",
    "RequestMapper",
    "RequestSink",
    "Trigger",
    "and_",
    "controller_reference",
    "finalize",
    "not_",
    "or_",
    "request_for_object",
    "request_for_owner",
    "set_controller_reference",
]

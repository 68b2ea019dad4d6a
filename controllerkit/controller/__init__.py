"""Controllers: workers that reconcile keys from a rate-limited queue, fed by informers.

- `ControllerBuilder`: `for_(kind)`, `owns(kind)`, `watches(kind, map_fn)`,
  `with_predicates(...)`, `with_options(...)`, `build(reconciler)`.
- `Controller`: the workers, retries with backoff, the quarantine of poisoned keys, graceful
  stop.
- Predicates to filter events, handlers that map events to requests, owner references, and
  a finalizer helper.
- `create_or_update` / `create_or_patch`: keep an object in the shape a function gives it.
- `TypedReconciler`: reconcile pydantic models read from the cache instead of keys.
"""

from .builder import ControllerBuilder
from .controller import Controller
from .finalizers import (
    Finalizer,
    FinalizerOutcome,
    add_finalizer,
    has_finalizer,
    remove_finalizer,
)
from .handlers import (
    EnqueueHandler,
    RequestMapper,
    RequestSink,
    request_for_object,
    request_for_owner,
)
from .mutate import MutateFn, OperationResult, create_or_patch, create_or_update
from .owners import AlreadyOwnedError, controller_reference, set_controller_reference
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
from .typed import ModelReconciler, TypedReconciler

__all__ = [
    "ANNOTATIONS_CHANGED",
    "DEFAULT_MAX_RETRIES",
    "GENERATION_CHANGED",
    "LABELS_CHANGED",
    "RESOURCE_VERSION_CHANGED",
    "AlreadyOwnedError",
    "Controller",
    "ControllerBuilder",
    "ControllerStats",
    "EnqueueHandler",
    "Finalizer",
    "FinalizerOutcome",
    "ModelReconciler",
    "MutateFn",
    "OperationResult",
    "Predicate",
    "QuarantinedItem",
    "RequestMapper",
    "RequestSink",
    "TypedReconciler",
    "add_finalizer",
    "and_",
    "controller_reference",
    "create_or_patch",
    "create_or_update",
    "has_finalizer",
    "not_",
    "or_",
    "remove_finalizer",
    "request_for_object",
    "request_for_owner",
    "set_controller_reference",
]

"""Controllers: workers that reconcile keys from a rate-limited queue, fed by informers.

- `ControllerBuilder`: `for_(kind)`, `owns(kind)`, `watches(kind, map_fn)`,
  `with_predicates(...)`, `with_options(...)`, `build(reconciler)`.
- `Controller`: the workers, retries with backoff, the quarantine of poisoned keys, graceful
  stop.
- Predicates to filter events, handlers that map events to requests, owner references, and
  a finalizer helper.
"""

from .builder import ControllerBuilder
from .controller import DEFAULT_MAX_RETRIES, Controller, ControllerStats, QuarantinedItem
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
    "Predicate",
    "QuarantinedItem",
    "RequestMapper",
    "RequestSink",
    "add_finalizer",
    "and_",
    "controller_reference",
    "has_finalizer",
    "not_",
    "or_",
    "remove_finalizer",
    "request_for_object",
    "request_for_owner",
    "set_controller_reference",
]

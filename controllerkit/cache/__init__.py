"""The informer cache: reflectors that list and watch, stores with indexes, shared informers
with event handlers, and checkpoints for warm restarts."""

from .backoff import Backoff, BackoffPolicy
from .checkpoint import Checkpoint, CheckpointStore, CheckpointWriter, checkpoint_scope
from .clock import SYSTEM_CLOCK, Clock, SystemClock
from .delta import DeletedFinalStateUnknown, Delta, DeltaType
from .encoding import EncodedObjects, EncodedRun
from .factory import InformerFactory
from .handlers import EventHandler, EventHandlerFuncs
from .informer import CacheSyncTimeout, HandlerRegistration, SharedInformer
from .metrics import ReflectorStats
from .options import ReflectorOptions
from .reflector import Reflector
from .store import NAMESPACE_INDEX, IndexFunc, StaleCache, Store
from .transforms import (
    Transform,
    compose,
    drop_managed_fields,
    share_strings,
    transform_identity,
)

__all__ = [
    "NAMESPACE_INDEX",
    "SYSTEM_CLOCK",
    "Backoff",
    "BackoffPolicy",
    "CacheSyncTimeout",
    "Checkpoint",
    "CheckpointStore",
    "CheckpointWriter",
    "Clock",
    "DeletedFinalStateUnknown",
    "Delta",
    "DeltaType",
    "EncodedObjects",
    "EncodedRun",
    "EventHandler",
    "EventHandlerFuncs",
    "HandlerRegistration",
    "IndexFunc",
    "InformerFactory",
    "Reflector",
    "ReflectorOptions",
    "ReflectorStats",
    "SharedInformer",
    "StaleCache",
    "Store",
    "SystemClock",
    "Transform",
    "checkpoint_scope",
    "compose",
    "drop_managed_fields",
    "share_strings",
    "transform_identity",
]

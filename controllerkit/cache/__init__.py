"""The informer cache: reflectors that list and watch, stores with indexes, shared informers
with event handlers, checkpoints for warm restarts, and `CachedClient`, which reads from the
caches, writes to the server and reads its own writes (`RecentWrites`)."""

from .backoff import Backoff, BackoffPolicy
from .cached_client import CachedClient, KindOrModel
from .checkpoint import Checkpoint, CheckpointStore, CheckpointWriter, checkpoint_scope
from .clock import SYSTEM_CLOCK, Clock, SystemClock
from .delta import DeletedFinalStateUnknown, Delta, DeltaType
from .encoding import EncodedObjects, EncodedRun
from .factory import InformerFactory
from .handlers import EventHandler, EventHandlerFuncs
from .informer import CacheSyncTimeout, HandlerRegistration, SharedInformer
from .metrics import ReflectorStats
from .options import ReflectorOptions
from .recent_writes import RecentWrites
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
    "CachedClient",
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
    "KindOrModel",
    "RecentWrites",
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

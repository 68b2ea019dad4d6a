"""`ReflectorOptions`: how a reflector lists, watches, backs off and checkpoints."""

from __future__ import annotations

from dataclasses import dataclass, field

from .backoff import BackoffPolicy


@dataclass(frozen=True)
class ReflectorOptions:
    """How a reflector lists, watches, backs off and checkpoints."""

    page_size: int = 500
    # Use a streaming list when the server supports it (one request, no list-sized response).
    streaming_list: bool = True
    # Watches ask the server to end them after a random time in [min, 2*min) seconds.
    min_watch_timeout: float = 300.0
    # No event or bookmark for this long ends the watch with WatchStalled (then a re-watch).
    # Servers send a bookmark about every minute; two missed ones mean a dead connection.
    stall_timeout: float | None = 120.0
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    # Checkpoints keep the objects (warm restart) or only the resourceVersion.
    checkpoint_objects: bool = True
    checkpoint_interval: float = 1.0
    checkpoint_max_pending_events: int = 1000

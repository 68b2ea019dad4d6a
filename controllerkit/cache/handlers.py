"""Event handlers: what an informer calls when its cache changes.

Handlers are plain synchronous callables run on the event loop, in the order the cache
changed. They must be quick and must not block: the usual handler maps the object to a key and
adds it to a work queue. A handler that raises is logged; the informer and the other handlers
carry on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..meta import JSONObject
from .delta import DeletedFinalStateUnknown


class EventHandler(Protocol):
    """Receives an informer's adds, updates and deletes.

    `on_update(old, new)` is also called by a resync with `old is new`. `on_delete` gets the
    deleted object, or a `DeletedFinalStateUnknown` tombstone when the delete was only inferred
    from a relist (the final state was never seen).
    """

    def on_add(self, obj: JSONObject) -> None: ...

    def on_update(self, old: JSONObject, new: JSONObject) -> None: ...

    def on_delete(self, obj: JSONObject | DeletedFinalStateUnknown) -> None: ...


@dataclass(frozen=True)
class EventHandlerFuncs:
    """An `EventHandler` from up to three functions; the missing ones ignore their events."""

    add: Callable[[JSONObject], None] | None = None
    update: Callable[[JSONObject, JSONObject], None] | None = None
    delete: Callable[[JSONObject | DeletedFinalStateUnknown], None] | None = None

    def on_add(self, obj: JSONObject) -> None:
        if self.add is not None:
            self.add(obj)

    def on_update(self, old: JSONObject, new: JSONObject) -> None:
        if self.update is not None:
            self.update(old, new)

    def on_delete(self, obj: JSONObject | DeletedFinalStateUnknown) -> None:
        if self.delete is not None:
            self.delete(obj)

"""`ObjectReconciler`: a reconcile function of an object, as a key-based `Reconciler`.

The function receives the object as the cache holds it (with this process's own writes
applied), typed when the kind is a model class, and a `Context`:

```python
async def reconcile(site: Website | None, ctx: Context) -> Result | None: ...
```

Under it stays the key-based contract (`Request` in, `Result` out, level-triggered): the
object is read afresh for each reconcile, never taken from the event that woke it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from ..cache import SharedInformer
from ..cache.cached_client import CachedClient
from ..events import EventRecorder
from ..meta import ResourceKind
from ..reconcile import Request, Result, TerminalError
from .context import Context
from .finalizers import FinalizerMemory

__all__ = ["ObjectReconciler", "ReconcileFunction"]

T = TypeVar("T")

ReconcileFunction = Callable[[T | None, Context], Awaitable[Result | None]]
"""`async def reconcile(obj, ctx) -> Result | None`: `obj` is None when the object is gone;
returning None means `Result()` (done until something changes)."""


class ObjectReconciler(Generic[T]):
    """Reads the request's object from `informer`'s cache and calls `function` with it.

    Guarantees: the function gets a copy it may change: a `model` validated from the cached
    object (or the dict itself for plain kinds), or None when the cache has no such object.
    An object the model cannot read raises `TerminalError` naming the key and the validation
    errors: retrying cannot fix it, the next change of the object is reconciled again.
    """

    def __init__(
        self,
        function: ReconcileFunction[T],
        *,
        name: str,
        kind: ResourceKind,
        model: type[BaseModel] | None,
        informer: SharedInformer,
        client: CachedClient,
        events: EventRecorder,
    ) -> None:
        self.function = function
        self.name = name
        self.kind = kind
        self.model = model
        self.informer = informer
        self.client = client
        self.events = events
        self.log = logging.getLogger(f"controllerkit.reconcile.{name}")
        self._finalized = FinalizerMemory()

    def __repr__(self) -> str:
        return f"ObjectReconciler({getattr(self.function, '__qualname__', self.function)!r})"

    async def reconcile(self, request: Request) -> Result:
        found = self.client.read(self.informer, request.key)
        obj: Any = found
        if found is not None and self.model is not None:
            try:
                obj = self.model.model_validate(found)
            except ValidationError as error:
                raise TerminalError(f"{self.kind.kind} {request} does not fit "
                                    f"{self.model.__name__}: {error}") from error
        context = Context(request=request, kind=self.kind, client=self.client, log=self.log,
                          events=self.events, finalized=self._finalized)
        result = await self.function(obj, context)
        if result is None:
            return Result()
        if not isinstance(result, Result):
            raise TypeError(f"{self!r} returned {result!r}, not a Result or None")
        return result

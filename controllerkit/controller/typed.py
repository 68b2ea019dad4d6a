"""`TypedReconciler`: reconcile pydantic models instead of keys.

```python
class WidgetReconciler:
    async def reconcile(self, widget: Widget | None, request: Request) -> Result:
        if widget is None:
            return Result()          # gone: owned objects go with it (garbage collection)
        ...

informer = informers.informer(Widget.__kind__)
controller = (ControllerBuilder(informers).for_(Widget.__kind__)
              .build(TypedReconciler(Widget, informer, WidgetReconciler())))
```

The adapter keeps the reconciler contract (a key in, a `Result` out, level-triggered): for
each request it reads the object from the informer's cache and hands the model to the user's
reconciler. The model is built from a deep copy of the cached object, so changing it never
touches the cache other controllers read.
"""

from __future__ import annotations

import copy
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from ..cache import SharedInformer, Store
from ..client.typed import kind_of
from ..reconcile import Request, Result, TerminalError

__all__ = ["ModelReconciler", "TypedReconciler"]

M = TypeVar("M", bound=BaseModel)
M_contra = TypeVar("M_contra", bound=BaseModel, contravariant=True)


class ModelReconciler(Protocol[M_contra]):
    """A reconciler that receives the object as a model: `None` when it is not in the cache
    (deleted, or not yet seen)."""

    async def reconcile(self, obj: M_contra | None, request: Request) -> Result: ...


class TypedReconciler(Generic[M]):
    """A `Reconciler` that reads the request's object from a cache and passes it on as `M`.

    Guarantees: `reconciler.reconcile(obj, request)` gets `model.model_validate` of a deep copy
    of the cached object, or `None` if the cache has no object for the key; its `Result` and
    exceptions pass through unchanged. An object the model cannot read raises `TerminalError`
    naming the key and the validation errors: retrying cannot fix it, the next change of the
    object is reconciled again.

    Not guaranteed: that the model is the latest state on the server (the cache may lag a
    write; a write from a stale model fails with `Conflict` and is retried).
    """

    def __init__(
        self, model: type[M], source: SharedInformer | Store, reconciler: ModelReconciler[M]
    ) -> None:
        """`source` is the informer (or its store) of `model.__kind__`; ValueError if an
        informer of another kind is given, TypeError if `model` declares no kind."""
        kind = kind_of(model)
        if isinstance(source, SharedInformer):
            if source.kind != kind:
                raise ValueError(f"{model.__name__} reads {kind.api_version} {kind.kind}, but "
                                 f"the informer caches {source.kind.api_version} "
                                 f"{source.kind.kind}")
            source = source.store
        self.model = model
        self.kind = kind
        self.store = source
        self.reconciler = reconciler

    def __repr__(self) -> str:
        return f"TypedReconciler({self.model.__name__}, {self.reconciler!r})"

    async def reconcile(self, request: Request) -> Result:
        cached = self.store.get(request.key)
        if cached is None:
            return await self.reconciler.reconcile(None, request)
        try:
            obj = self.model.model_validate(copy.deepcopy(cached))
        except ValidationError as error:
            raise TerminalError(f"{self.kind.kind} {request} does not fit "
                                f"{self.model.__name__}: {error}") from error
        return await self.reconciler.reconcile(obj, request)

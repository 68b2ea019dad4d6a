"""`Context`: what a reconcile function gets besides its object.

```python
@manager.controller(Website, owns=[Deployment])
async def reconcile(site: Website | None, ctx: Context) -> Result | None:
    if site is None:
        return None                                  # gone; its children go with it
    site = await ctx.finalize(site, "example.com/dns", remove_dns_record)
    if site is None:
        return None                                  # being deleted; cleaned up
    await ctx.client.apply(deployment_for(site), owner=site)
    ctx.set_condition(site, "Ready", True, reason="Deployed")
    await ctx.client.write_status(site)
    ctx.events.normal(site, "Deployed", "deployment is up to date")
```
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from ..cache.cached_client import CachedClient
from ..conditions import set_condition
from ..errors import NotFound
from ..events import EventRecorder
from ..meta import Condition, JSONObject, ResourceKind
from ..objects import to_json_object
from ..reconcile import Request

__all__ = ["Context", "FinalizerMemory"]

T = TypeVar("T")

_STATUSES = {True: "True", False: "False", None: "Unknown"}


class FinalizerMemory:
    """The deletions whose cleanup already ran in this process, by object uid and finalizer.

    A cleanup that succeeded is not run again for the same deletion when removing the
    finalizer has to be retried (a conflict, a crash of the write). Bounded: the oldest
    entries are forgotten first.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._done: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._size = size

    def __contains__(self, entry: tuple[str, str]) -> bool:
        return entry in self._done

    def add(self, entry: tuple[str, str]) -> None:
        self._done[entry] = None
        self._done.move_to_end(entry)
        while len(self._done) > self._size:
            self._done.popitem(last=False)


class Context:
    """One reconcile's view of the world: its request, a client, a logger, Events, helpers.

    - `client` reads from the manager's caches and writes to the API server; reads see this
      process's own writes (see `CachedClient`).
    - `log` is the controller's logger; every line of the reconcile carries the controller,
      kind, namespace, name and reconcile id (`controllerkit.logs`).
    - `events` records Kubernetes Events about objects (`normal`, `warning`).
    - `finalize` and `set_condition` are the finalizer and condition helpers.
    """

    def __init__(self, *, request: Request, kind: ResourceKind, client: CachedClient,
                 log: logging.Logger, events: EventRecorder,
                 finalized: FinalizerMemory) -> None:
        self.request = request
        self.kind = kind
        self.client = client
        self.log = log
        self.events = events
        self._finalized = finalized

    async def finalize(self, obj: T, name: str,
                       cleanup: Callable[[T], Awaitable[None]]) -> T | None:
        """Keep finalizer `name` on `obj` while it lives; run `cleanup` when it is deleted.

        Not being deleted: adds the finalizer if it is missing and returns the object to go on
        with (as written, so a status write from it does not conflict). Being deleted: runs
        `cleanup(obj)` once per deletion in this process, removes the finalizer (which lets
        the deletion finish) and returns None: stop there. An object already gone, or whose
        finalizer is already removed, is fine. If `cleanup` raises, the finalizer stays and
        the error propagates (the reconcile is retried). `cleanup` must be idempotent: another
        process may run it again after a crash.
        """
        if "/" not in name:
            # Unqualified names collide across owners; the API server warns about them.
            raise ValueError(f"a finalizer name is domain-qualified ('example.com/{name}')")
        body = to_json_object(obj)
        meta = body.get("metadata") or {}
        finalizers = list(meta.get("finalizers") or ())
        if not meta.get("deletionTimestamp"):
            if name in finalizers:
                return obj
            return await self._write_finalizers(obj, meta, [*finalizers, name])
        if name not in finalizers:
            return None
        done = (str(meta.get("uid") or ""), name)
        if done not in self._finalized:
            await cleanup(obj)
            self._finalized.add(done)
        with contextlib.suppress(NotFound):  # the deletion finished meanwhile
            await self._write_finalizers(obj, meta, [f for f in finalizers if f != name])
        return None

    async def _write_finalizers(self, obj: T, meta: JSONObject, finalizers: list[str]) -> T:
        # The resourceVersion read is the precondition: a stale list gets Conflict, never
        # overwrites another owner's finalizer.
        written = await self.client.patch(
            self.kind, str(meta.get("name")),
            {"metadata": {"finalizers": finalizers}},
            namespace=meta.get("namespace") or None,
            resource_version=str(meta.get("resourceVersion") or ""))
        if isinstance(obj, BaseModel):
            result: Any = type(obj).model_validate(written)
            return result  # type: ignore[no-any-return]
        return written  # type: ignore[no-any-return]

    def set_condition(self, obj: object, type: str, status: bool | str | None, *,
                      reason: str, message: str = "") -> bool:
        """Set condition `type` in `obj`'s `status.conditions` (a model or a dict, changed in
        place); True if anything changed. Write it with `client.write_status(obj)`.

        `status` is True, False or None (Unknown), or the string itself. `observedGeneration`
        is the object's `metadata.generation`; `lastTransitionTime` moves only when the status
        does (see `controllerkit.conditions.set_condition`).
        """
        value = status if isinstance(status, str) else _STATUSES[status]
        generation = (to_json_object(obj).get("metadata") or {}).get("generation")
        if isinstance(obj, BaseModel):
            return set_condition(_model_conditions(obj), Condition(
                type=type, status=value, reason=reason, message=message,  # type: ignore[arg-type]
                observed_generation=generation))
        if not isinstance(obj, dict):
            raise TypeError(f"set_condition takes a model or a dict, not {obj.__class__.__name__}")
        conditions = obj.setdefault("status", {}).setdefault("conditions", [])
        condition: JSONObject = {"type": type, "status": value, "reason": reason,
                                 "message": message}
        if generation is not None:
            condition["observedGeneration"] = generation
        return set_condition(conditions, condition)


def _model_conditions(obj: BaseModel) -> list[Condition]:
    """The `status.conditions` list of a model, creating an empty status when it has none."""
    status = getattr(obj, "status", None)
    if status is None:
        field = type(obj).model_fields.get("status")
        status_type = _model_type(field.annotation if field is not None else None)
        if status_type is None:
            raise TypeError(f"{type(obj).__name__} has no status model to hold conditions")
        status = status_type()
        obj.status = status  # type: ignore[attr-defined]
    conditions = getattr(status, "conditions", None)
    if not isinstance(conditions, list):
        raise TypeError(f"{type(status).__name__} has no `conditions: list[Condition]` field")
    return conditions


def _model_type(annotation: Any) -> type[BaseModel] | None:
    """The model class in an annotation such as `WebsiteStatus | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_type(arg)
        if found is not None:
            return found
    return None

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

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from ..cache.cached_client import CachedClient
from ..conditions import set_condition
from ..events import EventRecorder
from ..meta import Condition, JSONObject, ResourceKind
from ..objects import to_json_object
from ..reconcile import Request
from .finalizers import FinalizerMemory, finalize

__all__ = ["Context"]

T = TypeVar("T")

_STATUSES = {True: "True", False: "False", None: "Unknown"}


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

        Returns the object to go on with, or None when it is being deleted (cleaned up):
        stop there. See `controllerkit.controller.finalizers.finalize` for the contract.
        """
        return await finalize(self.client, self.kind, obj, name, cleanup,
                              memory=self._finalized)

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

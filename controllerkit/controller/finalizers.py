"""Finalizers: run cleanup before an object is deleted, exactly as long as it is needed.

A finalizer is a name in `metadata.finalizers`. While it is there, a delete only sets
`metadata.deletionTimestamp`; the object stays until every finalizer is removed. The pattern,
as controller-runtime's `finalizer` package has it:

1. Before doing any work that needs cleanup, add the finalizer (and wait for that write).
2. When the object is being deleted, run the cleanup; once it has succeeded, remove the
   finalizer, which lets the deletion finish.

```python
finalizer = Finalizer(client, WIDGET, "example.com/cleanup", cleanup=delete_backend)
outcome = await finalizer.apply(widget)
if outcome.deleting:
    return Result()              # cleaned up (or nothing to do); the object is going away
widget = outcome.object          # carries the finalizer and the new resourceVersion
```

Every write sends the resourceVersion read, so a stale object gets `Conflict` instead of
overwriting someone else's finalizer list; the reconcile fails and is retried with the new
state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..client.protocol import Client
from ..meta import JSONObject, ResourceKind

__all__ = ["Finalizer", "FinalizerOutcome", "add_finalizer", "has_finalizer",
           "remove_finalizer"]


def has_finalizer(obj: JSONObject, finalizer: str) -> bool:
    return finalizer in ((obj.get("metadata") or {}).get("finalizers") or ())


def _is_deleting(obj: JSONObject) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


async def _write_finalizers(
    client: Client, kind: ResourceKind, obj: JSONObject, finalizers: list[str]
) -> JSONObject:
    meta = obj.get("metadata") or {}
    patch = {"metadata": {"finalizers": finalizers,
                          "resourceVersion": meta.get("resourceVersion")}}
    return await client.patch(kind, meta["name"], patch, namespace=meta.get("namespace"))


async def add_finalizer(
    client: Client, kind: ResourceKind, obj: JSONObject, finalizer: str
) -> JSONObject:
    """Add `finalizer` to the object on the server unless it is there; the object as stored.

    Raises `Conflict` if the object changed since `obj` was read.
    """
    if has_finalizer(obj, finalizer):
        return obj
    current = list((obj.get("metadata") or {}).get("finalizers") or ())
    return await _write_finalizers(client, kind, obj, [*current, finalizer])


async def remove_finalizer(
    client: Client, kind: ResourceKind, obj: JSONObject, finalizer: str
) -> JSONObject:
    """Remove `finalizer` from the object on the server if it is there; the object as stored.

    Removing the last finalizer of an object being deleted lets the server delete it.
    Raises `Conflict` if the object changed since `obj` was read.
    """
    if not has_finalizer(obj, finalizer):
        return obj
    current = (obj.get("metadata") or {}).get("finalizers") or ()
    return await _write_finalizers(client, kind, obj, [f for f in current if f != finalizer])


@dataclass(frozen=True, slots=True)
class FinalizerOutcome:
    """What `Finalizer.apply` did: `object` is the latest state it saw or wrote; `deleting`
    says the object is being deleted (cleanup has run if it was needed), so stop there."""

    object: JSONObject
    deleting: bool


class Finalizer:
    """One named finalizer with its cleanup, applied at the start of each reconcile.

    `cleanup(obj)` must be idempotent: if removing the finalizer fails after a successful
    cleanup, the next reconcile runs it again. If it raises, the finalizer stays and the
    error propagates (the reconcile is retried).
    """

    def __init__(
        self,
        client: Client,
        kind: ResourceKind,
        name: str,
        cleanup: Callable[[JSONObject], Awaitable[None]],
    ) -> None:
        if "/" not in name:
            # The API server warns about unqualified names; they can collide across owners.
            raise ValueError(f"a finalizer name is domain-qualified ('example.com/{name}')")
        self.client = client
        self.kind = kind
        self.name = name
        self.cleanup = cleanup

    async def apply(self, obj: JSONObject) -> FinalizerOutcome:
        """Not deleting: make sure the finalizer is on the object. Deleting: if the
        finalizer is there, run the cleanup and then remove it."""
        if not _is_deleting(obj):
            return FinalizerOutcome(await add_finalizer(self.client, self.kind, obj, self.name),
                                    deleting=False)
        if not has_finalizer(obj, self.name):
            return FinalizerOutcome(obj, deleting=True)
        await self.cleanup(obj)
        return FinalizerOutcome(
            await remove_finalizer(self.client, self.kind, obj, self.name), deleting=True)

"""Finalizers: run cleanup before an object is deleted, exactly as long as it is needed.

A finalizer is a name in `metadata.finalizers`. While it is there, a delete only sets
`metadata.deletionTimestamp`; the object stays until every finalizer is removed. So:

1. Before doing any work that needs cleanup, add the finalizer (and wait for that write).
2. When the object is being deleted, run the cleanup; once it has succeeded, remove the
   finalizer, which lets the deletion finish.

`finalize` does both; a reconcile function calls it as `ctx.finalize(obj, name, cleanup)`.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from ..cache.cached_client import CachedClient
from ..errors import NotFound
from ..meta import ResourceKind
from ..objects import to_json_object

__all__ = ["FinalizerMemory", "finalize"]

T = TypeVar("T")


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


async def finalize(client: CachedClient, kind: ResourceKind, obj: T, name: str,
                   cleanup: Callable[[T], Awaitable[None]], *,
                   memory: FinalizerMemory) -> T | None:
    """Keep finalizer `name` on `obj` (of `kind`) while it lives; run `cleanup` when it is
    deleted.

    Not being deleted: adds the finalizer if it is missing and returns the object to go on
    with (as written, so a status write from it does not conflict). Being deleted: runs
    `cleanup(obj)` once per deletion in this process (`memory`), removes the finalizer (which
    lets the deletion finish) and returns None: stop there. An object already gone, or whose
    finalizer is already removed, is fine. If `cleanup` raises, the finalizer stays and the
    error propagates (the reconcile is retried). `cleanup` must be idempotent: another process
    may run it again after a crash. Every write sends the resourceVersion read, so a stale
    object gets `Conflict` and never overwrites another owner's finalizer list.
    """
    if "/" not in name:
        # Unqualified names collide across owners; the API server warns about them.
        raise ValueError(f"a finalizer name is domain-qualified ('example.com/{name}')")
    meta = to_json_object(obj).get("metadata") or {}
    finalizers = list(meta.get("finalizers") or ())
    if not meta.get("deletionTimestamp"):
        if name in finalizers:
            return obj
        return await _write_finalizers(client, kind, obj, meta, [*finalizers, name])
    if name not in finalizers:
        return None
    done = (str(meta.get("uid") or ""), name)
    if done not in memory:
        await cleanup(obj)
        memory.add(done)
    with contextlib.suppress(NotFound):  # the deletion finished meanwhile
        await _write_finalizers(client, kind, obj, meta, [f for f in finalizers if f != name])
    return None


async def _write_finalizers(client: CachedClient, kind: ResourceKind, obj: T,
                            meta: dict[str, Any], finalizers: list[str]) -> T:
    written = await client.patch(
        kind, str(meta.get("name")), {"metadata": {"finalizers": finalizers}},
        namespace=meta.get("namespace") or None,
        resource_version=str(meta.get("resourceVersion") or ""))
    if isinstance(obj, BaseModel):
        result: Any = type(obj).model_validate(written)
        return result  # type: ignore[no-any-return]
    return written  # type: ignore[no-any-return]

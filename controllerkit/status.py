"""Writing status: only through the status subresource, only from the resourceVersion read.

`.spec` belongs to the user and `.status` to the controller. A `StatusWriter` can only send a
status: a merge patch holding nothing but `status` (`patch`), or the object as read with a new
status (`update`), both preconditioned on the resourceVersion the caller read. It guarantees:

- a write that would change nothing is not sent (the object read is returned as it is);
- a lost race raises `controllerkit.errors.Conflict`, always the same way: the kind, namespace,
  name and the resourceVersion sent, the same message, the server's Status kept in `.status`;
- every accepted write is one request, so it is one MODIFIED watch event.

A conflict is normal: re-read, recompute the status from what is observed now, and write again.
`retry_on_conflict` does that loop with bounded, jittered backoff.
"""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from .client.protocol import Client, PatchType
from .errors import Conflict
from .merge_patch import merge_patch
from .meta import JSONObject, ResourceKind, object_key, resource_version

__all__ = ["ConflictBackoff", "StatusWriter", "merge_patch", "retry_on_conflict"]

ResultT = TypeVar("ResultT")

CONFLICT_MESSAGE = ("the object changed after it was read; re-read it, recompute the status "
                    "and write again")


class StatusWriter:
    """Writes an object's status through its status subresource, never its spec.

    `field_manager` names the writer in managedFields. Both methods take the object as it was
    read (its name, namespace, resourceVersion and current status) and the desired status.
    """

    def __init__(self, client: Client, *, field_manager: str = "") -> None:
        self.client = client
        self.field_manager = field_manager

    async def patch(self, kind: ResourceKind, obj: Mapping[str, Any],
                    status: Mapping[str, Any]) -> JSONObject:
        """Merge-patch `status` over the read object's status; the stored object is returned.

        Only the fields that differ are sent (a field missing from `status` is removed), under
        `status` alone, so a spec change cannot be sent. Raises `Conflict` if the object moved
        past the resourceVersion read, ValueError if `obj` has no resourceVersion.
        """
        namespace, name, sent = self._target(kind, obj)
        current = obj.get("status") or {}
        difference = merge_patch(current, status)
        if not difference:
            return dict(obj)
        try:
            return await self.client.patch_status(
                kind, name, {"status": difference}, namespace=namespace or None,
                patch_type=PatchType.MERGE, resource_version=sent,
                field_manager=self.field_manager,
            )
        except Conflict as conflict:
            raise _conflict(kind, namespace, name, sent, conflict) from conflict

    async def update(self, kind: ResourceKind, obj: Mapping[str, Any],
                     status: Mapping[str, Any]) -> JSONObject:
        """Replace the status (PUT to the status subresource) of the object as read.

        The body is `obj` with `status` swapped in; the server refuses a changed spec with
        `Invalid`. Skips the request when the status is unchanged; raises `Conflict` as `patch`.
        """
        namespace, name, sent = self._target(kind, obj)
        if (obj.get("status") or {}) == dict(status):
            return dict(obj)
        body = copy.deepcopy(dict(obj))
        body["status"] = copy.deepcopy(dict(status))
        try:
            return await self.client.update_status(kind, body, field_manager=self.field_manager)
        except Conflict as conflict:
            raise _conflict(kind, namespace, name, sent, conflict) from conflict

    @staticmethod
    def _target(kind: ResourceKind, obj: Mapping[str, Any]) -> tuple[str, str, str]:
        namespace, name = object_key(obj)
        sent = resource_version(obj)
        if not name or not sent:
            raise ValueError(
                f"a status write needs the {kind.kind} as read from the server (with "
                f"metadata.name and metadata.resourceVersion); got name={name!r}, "
                f"resourceVersion={sent!r}"
            )
        return namespace, name, sent


def _conflict(kind: ResourceKind, namespace: str, name: str, sent: str,
              cause: Conflict) -> Conflict:
    # The server words a stale write differently for PUT and PATCH; callers get one shape.
    return Conflict(CONFLICT_MESSAGE, code=409, reason="Conflict", status=cause.status,
                    kind=kind.kind, namespace=namespace, name=name, resource_version=sent)


@dataclass(frozen=True)
class ConflictBackoff:
    """Delays between conflict retries: exponential from `initial`, capped at `maximum`, each
    stretched by a random fraction up to `jitter` so racing writers spread out.

    `rng` is injectable for exact tests.
    """

    initial: float = 0.01
    factor: float = 2.0
    maximum: float = 1.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, retry: int) -> float:
        """The pause before retry number `retry` (1 for the first retry)."""
        base = min(self.maximum, self.initial * self.factor ** max(0, retry - 1))
        return base * (1.0 + self.jitter * self.rng.random())


async def retry_on_conflict(
    write: Callable[[], Awaitable[ResultT]],
    *,
    attempts: int = 5,
    backoff: ConflictBackoff | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> ResultT:
    """Await `write` until it does not raise `Conflict`, at most `attempts` times.

    `write` must re-read the object and recompute the status on every call: retrying a write
    built from a stale read conflicts forever. Other errors propagate at once; after the last
    attempt the last `Conflict` propagates unchanged. `sleep` is injectable for tests.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    policy = backoff or ConflictBackoff()

    def wait(state: RetryCallState) -> float:
        return policy.delay(state.attempt_number)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts), wait=wait, sleep=sleep,
        retry=retry_if_exception_type(Conflict), reraise=True,
    )
    return await retrying(write)

"""What changed in a cache: one `Delta` per added, updated or deleted object.

A reflector turns watch events and relists into deltas; an informer hands them to its event
handlers. A delete the cache only inferred (the object vanished between two lists, so its final
state was never seen) is marked `final_state_unknown` and reaches handlers as a
`DeletedFinalStateUnknown` tombstone carrying the last state the cache knew.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from ..meta import JSONObject, ObjectKey, object_key


class DeltaType(StrEnum):
    ADDED = "ADDED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


class Delta(NamedTuple):
    """One change of the cache (a named tuple: one is built per event, so it must be cheap).

    `object` is the new state (ADDED, UPDATED) or the last state (DELETED); `old` is the state
    it replaced (UPDATED only). `final_state_unknown` marks a DELETED inferred from a relist:
    the object may have changed again before it was deleted.
    """

    type: DeltaType
    object: JSONObject
    old: JSONObject | None = None
    final_state_unknown: bool = False

    @property
    def key(self) -> ObjectKey:
        return object_key(self.object)


@dataclass(frozen=True, slots=True)
class DeletedFinalStateUnknown:
    """A tombstone: `key` was deleted while the watch was not looking.

    `object` is the last state the cache held, which may be older than the state the object
    had when it was deleted. Handlers that need the object's identity (uid, owner references)
    read it from here; handlers that need only the key use `key`.
    """

    key: ObjectKey
    object: JSONObject

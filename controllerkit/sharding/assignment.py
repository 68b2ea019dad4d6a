"""`Assignment`: the keys one replica may reconcile, given the views that count right now.

A replica may reconcile a key only if it owns the key (rendezvous hashing) under *every*
view that counts: each view its own Lease may hold at the moment, and the published view of
every peer it knows of. When those views disagree, a key some view gives to another replica
is reconciled by nobody until they agree again; that pause is the price of never having two
owners (the handoff protocol in `controllerkit.sharding` says why it is enough).

Views change together with the membership, and each change asks every cached key again:
`Weights` keeps each member's weight for each key, so a key is hashed once per member, not
once per view and change.
"""

from __future__ import annotations

from collections.abc import Iterable

from .peers import View
from .rendezvous import weight

__all__ = ["Assignment", "Weights"]


class Weights:
    """Rendezvous weights memoized per member; `retain` drops the members that left."""

    def __init__(self) -> None:
        self._by_member: dict[str, dict[str, int]] = {}

    def owner(self, key: str, view: View) -> str | None:
        """The member of `view` with the highest weight for `key` (as `owner_of`)."""
        best: tuple[int, str] | None = None
        for member in view:
            weights = self._by_member.get(member)
            if weights is None:
                weights = self._by_member[member] = {}
            value = weights.get(key)
            if value is None:
                value = weights[key] = weight(member, key)
            if best is None or (value, member) > best:
                best = (value, member)
        return None if best is None else best[1]

    def retain(self, members: Iterable[str]) -> None:
        """Forget the weights of every member not in `members`."""
        keep = set(members)
        for member in self._by_member.keys() - keep:
            del self._by_member[member]


class Assignment:
    """The keys `identity` owns under every one of `views`; no views: no keys at all.

    Immutable apart from a memo of the answers, so two assignments can be compared to find
    the keys a change gained. Two assignments are equal when identity and views are.
    """

    __slots__ = ("_memo", "_weights", "identity", "views")

    def __init__(self, identity: str, views: Iterable[View] = (),
                 weights: Weights | None = None) -> None:
        self.identity = identity
        self.views: frozenset[View] = frozenset(views)
        self._weights = weights if weights is not None else Weights()
        self._memo: dict[str, bool] = {}

    def __repr__(self) -> str:
        shown = ", ".join(str(sorted(view)) for view in self.views)
        return f"Assignment({self.identity!r}, [{shown}])"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Assignment):
            return NotImplemented
        return self.identity == other.identity and self.views == other.views

    def __hash__(self) -> int:
        return hash((self.identity, self.views))

    @property
    def is_empty(self) -> bool:
        """True when it grants nothing (no views count yet, or work was stopped)."""
        return not self.views

    def narrows(self, other: Assignment) -> bool:
        """True when this one can only grant fewer keys than `other`: same identity, and
        every view of `other` counts here too (with at least one view)."""
        return (self.identity == other.identity and bool(other.views)
                and self.views >= other.views)

    def owns(self, key: str) -> bool:
        """Whether `identity` owns `key` (`namespace/name`) under every view."""
        owned = self._memo.get(key)
        if owned is None:
            owner = self._weights.owner
            owned = bool(self.views) and all(
                owner(key, view) == self.identity for view in self.views)
            self._memo[key] = owned
        return owned

"""The other replicas of a ring as one replica sees them, from their shard Leases.

For each peer Lease: its holder, the view it published (the members its holder shares keys
with), and when *this* replica last saw it change, on this replica's own clock. A peer
that stops renewing is judged expired `lease_duration` after that moment, as client-go
judges a leader's Lease: clocks of different machines are never compared.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from ..meta import JSONObject
from .config import SHARD_VIEW_ANNOTATION

__all__ = ["PeerLease", "PeerLeases", "View", "decode_view", "encode_view"]

logger = logging.getLogger(__name__)

View = frozenset[str]
"""The identities of the replicas a replica shares keys with, itself included."""


def encode_view(view: View) -> str:
    """The view as its annotation holds it: a sorted JSON list of identities."""
    return json.dumps(sorted(view), separators=(",", ":"))


def decode_view(text: str | None) -> View | None:
    """The view in an annotation; None when there is none or it is not a list of strings.

    A replica without a readable view takes no part yet: it reconciles nothing, and its
    view constrains nobody.
    """
    if not text:
        return None
    try:
        members = json.loads(text)
    except ValueError:
        return None
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        return None
    return frozenset(members)


@dataclass(frozen=True, slots=True)
class PeerLease:
    """One peer's shard Lease as last seen: `observed_at` is when it last changed here.

    `not_before` holds back another attempt to delete it after one failed.
    """

    lease_name: str
    holder: str
    resource_version: str
    view: View | None
    observed_at: float
    duration: float
    not_before: float = 0.0

    @property
    def expires_at(self) -> float:
        """When, on this replica's clock, the peer counts as gone if nothing changes."""
        return self.observed_at + self.duration

    @property
    def due_at(self) -> float:
        """When to look at it next: its expiry, or later after a failed delete."""
        return max(self.expires_at, self.not_before)


class PeerLeases:
    """The ring's Leases other than this replica's own, refreshed from a cache listing.

    A Lease counts as changed when its resourceVersion does (every renewal changes it). The
    duration a peer is given is the one its Lease records, else `default_duration`.
    """

    def __init__(self, own_lease_name: str, default_duration: float) -> None:
        self.own_lease_name = own_lease_name
        self.default_duration = default_duration
        self._peers: dict[str, PeerLease] = {}
        # Leases deleted here, by (name, resourceVersion), until the cache stops showing them.
        self._deleted: set[tuple[str, str]] = set()

    @property
    def peers(self) -> Mapping[str, PeerLease]:
        """The peer Leases by name (a live view: do not keep it across awaits)."""
        return self._peers

    def refresh(self, leases: Iterable[JSONObject], now: float) -> None:
        """Take the cache's current Leases: new or changed ones are observed `now`, the
        missing ones are forgotten."""
        seen: set[str] = set()
        still_shown: set[tuple[str, str]] = set()
        for lease in leases:
            metadata = lease.get("metadata") or {}
            name = str(metadata.get("name") or "")
            resource_version = str(metadata.get("resourceVersion") or "")
            if (name, resource_version) in self._deleted:
                still_shown.add((name, resource_version))
                continue
            if not name or name == self.own_lease_name:
                continue
            seen.add(name)
            known = self._peers.get(name)
            if known is not None and known.resource_version == resource_version:
                continue
            spec = lease.get("spec") or {}
            seconds = spec.get("leaseDurationSeconds")
            annotations = metadata.get("annotations") or {}
            self._peers[name] = PeerLease(
                lease_name=name,
                holder=str(spec.get("holderIdentity") or ""),
                resource_version=resource_version,
                view=decode_view(annotations.get(SHARD_VIEW_ANNOTATION)),
                observed_at=now,
                duration=float(seconds) if seconds else self.default_duration,
            )
        for name in self._peers.keys() - seen:
            del self._peers[name]
        self._deleted = still_shown

    def forget(self, lease_name: str) -> None:
        """Drop a peer whose Lease this replica deleted (at the version last seen), and
        ignore that version while the cache still shows it."""
        peer = self._peers.pop(lease_name, None)
        if peer is not None:
            self._deleted.add((lease_name, peer.resource_version))

    def postpone(self, lease_name: str, until: float) -> None:
        """Report the peer as expired again only from `until` on (a delete failed)."""
        peer = self._peers.get(lease_name)
        if peer is not None:
            self._peers[lease_name] = replace(peer, not_before=until)

    def expired(self, now: float) -> list[PeerLease]:
        """The peers unchanged for their whole duration by `now`, and not postponed."""
        return [peer for peer in self._peers.values() if peer.due_at <= now]

    def next_expiry(self) -> float | None:
        """The earliest moment `expired` may return more, if there is a peer."""
        return min((peer.due_at for peer in self._peers.values()), default=None)

    def views(self) -> dict[str, View]:
        """The published view of every peer that has one, by holder identity."""
        return {peer.holder: peer.view for peer in self._peers.values()
                if peer.holder and peer.view is not None}

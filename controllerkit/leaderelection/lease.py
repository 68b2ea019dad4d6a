"""`LeaseLock`: read and write one coordination.k8s.io/v1 Lease as a `LeaseRecord`.

The lock is the only place that knows the Lease's wire shape. Every write is guarded by the
resourceVersion the caller read, so two candidates writing at once cannot both succeed: the
loser gets `controllerkit.errors.Conflict` (or `AlreadyExists` when both create), re-reads and
decides again. That is the whole of the coordination: the API server is the referee.

```python
lock = LeaseLock(client, "default", "my-controller")
found = await lock.get()
if found is None:
    await lock.create(LeaseRecord(holder_identity="me", lease_duration_seconds=15, ...))
```

Times on the wire are MicroTime: RFC 3339 in UTC with exactly six fractional digits
(`format_micro_time`, `parse_micro_time`). Remote times are informative only: a candidate
judges expiry by its own clock (when *it* saw the record change), never by `renew_time`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..client.protocol import Client
from ..errors import NotFound
from ..meta import LEASE, JSONObject

__all__ = ["LeaseLock", "LeaseRecord", "format_micro_time", "parse_micro_time"]

_MICRO_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_micro_time(moment: datetime) -> str:
    """`moment` as a Kubernetes MicroTime: UTC, six fractional digits, a `Z` suffix.

    A naive datetime is taken to be UTC already.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(_MICRO_TIME_FORMAT)


def parse_micro_time(text: str) -> datetime:
    """An aware UTC datetime from a MicroTime or any RFC 3339 time (`Z` or an offset).

    Raises `ValueError` naming the text when it is not an RFC 3339 time.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an RFC 3339 time: {text!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"an RFC 3339 time needs a zone (Z or an offset): {text!r}")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class LeaseRecord:
    """What a Lease says: who holds it, for how long, since when, how often it changed hands.

    The fields mirror the Lease's `spec` (and the labels and annotations of its metadata);
    `holder_identity` None or "" means nobody holds it. Two records are equal when every
    field is, which is how a candidate notices that the holder renewed.
    """

    holder_identity: str | None
    lease_duration_seconds: int | None
    acquire_time: datetime | None
    renew_time: datetime | None
    lease_transitions: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_lease(cls, lease: Mapping[str, Any]) -> LeaseRecord:
        """The record of a Lease object as the API server returns it."""
        spec = lease.get("spec") or {}
        metadata = lease.get("metadata") or {}
        acquire = spec.get("acquireTime")
        renew = spec.get("renewTime")
        duration = spec.get("leaseDurationSeconds")
        return cls(
            holder_identity=spec.get("holderIdentity"),
            lease_duration_seconds=int(duration) if duration is not None else None,
            acquire_time=parse_micro_time(acquire) if acquire else None,
            renew_time=parse_micro_time(renew) if renew else None,
            lease_transitions=int(spec.get("leaseTransitions") or 0),
            annotations=dict(metadata.get("annotations") or {}),
            labels=dict(metadata.get("labels") or {}),
        )

    def to_spec(self) -> JSONObject:
        """The Lease `spec` for this record; unset fields are left out."""
        spec: JSONObject = {"leaseTransitions": self.lease_transitions}
        if self.holder_identity is not None:
            spec["holderIdentity"] = self.holder_identity
        if self.lease_duration_seconds is not None:
            spec["leaseDurationSeconds"] = self.lease_duration_seconds
        if self.acquire_time is not None:
            spec["acquireTime"] = format_micro_time(self.acquire_time)
        if self.renew_time is not None:
            spec["renewTime"] = format_micro_time(self.renew_time)
        return spec

    @property
    def is_held(self) -> bool:
        """Whether the record names a holder (expiry is the reader's judgement, not this)."""
        return bool(self.holder_identity)


class LeaseLock:
    """Get, create, update and delete one Lease (`namespace`/`name`) through a `Client`.

    Guarantees: `update` and `delete` with a resourceVersion succeed only if the Lease is
    still at that version (else `Conflict`); `create` fails with `AlreadyExists` if the Lease
    exists. Every write returns the Lease's new resourceVersion. Other `ApiError`s (and
    transport errors) propagate unchanged. Not guaranteed: anything about time; the lock
    neither renews nor judges expiry.
    """

    def __init__(self, client: Client, namespace: str, name: str) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name

    def describe(self) -> str:
        """`namespace/name`, for logs and errors."""
        return f"{self.namespace}/{self.name}"

    async def get(self) -> tuple[LeaseRecord, str] | None:
        """The current record and the Lease's resourceVersion, or None if there is no Lease."""
        try:
            lease = await self.client.get(LEASE, self.name, namespace=self.namespace)
        except NotFound:
            return None
        return LeaseRecord.from_lease(lease), _resource_version(lease)

    async def create(self, record: LeaseRecord) -> str:
        """Create the Lease holding `record`; `AlreadyExists` if it exists."""
        created = await self.client.create(
            LEASE, self._lease(record, resource_version=None), namespace=self.namespace)
        return _resource_version(created)

    async def update(self, record: LeaseRecord, resource_version: str) -> str:
        """Replace the Lease's record if it is still at `resource_version`; else `Conflict`."""
        updated = await self.client.update(
            LEASE, self._lease(record, resource_version=resource_version))
        return _resource_version(updated)

    async def delete(self, resource_version: str | None = None) -> None:
        """Delete the Lease (only at `resource_version`, if given: else `Conflict`).

        A Lease that is already gone is not an error.
        """
        try:
            await self.client.delete(
                LEASE, self.name, namespace=self.namespace,
                precondition_resource_version=resource_version or "")
        except NotFound:
            return

    def _lease(self, record: LeaseRecord, *, resource_version: str | None) -> JSONObject:
        metadata: JSONObject = {"name": self.name, "namespace": self.namespace}
        if resource_version is not None:
            metadata["resourceVersion"] = resource_version
        if record.labels:
            metadata["labels"] = dict(record.labels)
        if record.annotations:
            metadata["annotations"] = dict(record.annotations)
        return {
            "apiVersion": LEASE.api_version,
            "kind": LEASE.kind,
            "metadata": metadata,
            "spec": record.to_spec(),
        }


def _resource_version(lease: Mapping[str, Any]) -> str:
    return str((lease.get("metadata") or {}).get("resourceVersion") or "")

"""Idempotency records, kept in the API server so they outlive the process that wrote them.

A caller retries a request with the same idempotency key until it gets an answer; the first
attempt may have died half-way, in this process or in another replica. So the record of a key
is a ConfigMap, not process memory:

- its name is derived from (scope, key), so every replica finds the same object and two
  concurrent first attempts race on one `create` that only one wins;
- it holds the request's fingerprint: the same key with a different request is refused
  (`IdempotencyKeyReused`, answered 409);
- it is `reserved` until the operation is done, then `completed` with the outcome the caller
  was told (for `:replace`, which runtime is the replacement). An operation that finds its
  record still `reserved` redoes its steps; each step is idempotent (deterministic names,
  AlreadyExists and NotFound tolerated), so a crash between steps leaves nothing doubled.

Records are labelled `spritz.sh/idempotency-record=true` and are not collected: delete old ones
by that label (`kubectl delete configmap -l spritz.sh/idempotency-record=true`) once callers no
longer retry them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controllerkit.client import Client
from controllerkit.errors import AlreadyExists, NotFound
from controllerkit.meta import CONFIG_MAP, JSONObject
from controllerkit.status import retry_on_conflict

IDEMPOTENCY_RECORD_LABEL = "spritz.sh/idempotency-record"
RECORD_NAME_PREFIX = "idempotency-"
RESERVED = "reserved"
COMPLETED = "completed"


class IdempotencyKeyReused(Exception):
    """The idempotency key was already used with a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotencyKey {key!r} was already used with a different request")
        self.key = key


@dataclass(frozen=True)
class IdempotencyRecord:
    """What is stored for one (scope, key): the request's fingerprint and, once the operation
    is done, its outcome."""

    namespace: str
    name: str
    scope: str
    key: str
    fingerprint: str
    completed: bool
    outcome: Mapping[str, str] = field(default_factory=dict)
    resource_version: str = ""


def record_name(scope: str, key: str) -> str:
    """The ConfigMap name of the record of `key` within `scope` (a hash: keys are free text)."""
    digest = hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()
    return RECORD_NAME_PREFIX + digest[:40]


def request_fingerprint(request: Mapping[str, Any]) -> str:
    """A digest of a request's meaningful content, independent of key order and whitespace."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class IdempotencyStore:
    """Reserve, look up and complete idempotency records in a namespace of the API server.

    `scope` separates key spaces (for `:replace`, the source runtime), so two callers may use
    the same key for different subjects. The client needs get, create and update on
    ConfigMaps.
    """

    def __init__(self, client: Client, *, now: Callable[[], datetime] = _utc_now) -> None:
        self.client = client
        self.now = now

    async def find(self, namespace: str, scope: str, key: str) -> IdempotencyRecord | None:
        """The record of `key` in `scope`, or None if the key was never used there."""
        try:
            stored = await self.client.get(CONFIG_MAP, record_name(scope, key),
                                           namespace=namespace)
        except NotFound:
            return None
        return _record(stored)

    async def reserve(self, namespace: str, scope: str, key: str, fingerprint: str, *,
                      outcome: Mapping[str, str] | None = None) -> IdempotencyRecord:
        """The record of `key`, created `reserved` (with a planned `outcome`) if it is new.

        An existing record with the same fingerprint is returned as it is (reserved or
        completed); with another fingerprint `IdempotencyKeyReused` is raised. Concurrent
        reservations of one key get the same record.
        """
        name = record_name(scope, key)
        body = {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {IDEMPOTENCY_RECORD_LABEL: "true"}},
            "data": {
                "scope": scope, "key": key, "fingerprint": fingerprint, "state": RESERVED,
                "outcome": json.dumps(dict(outcome or {}), sort_keys=True),
                "reservedAt": self.now().isoformat(),
            },
        }
        while True:
            try:
                return _record(await self.client.create(CONFIG_MAP, body, namespace=namespace))
            except AlreadyExists:
                pass
            existing = await self.find(namespace, scope, key)
            if existing is None:
                continue  # deleted between our create and our read: try to create it again
            _check_same_request(existing, scope, key, fingerprint)
            return existing

    async def complete(self, record: IdempotencyRecord,
                       outcome: Mapping[str, str]) -> IdempotencyRecord:
        """Mark the record completed with `outcome` (what the caller is told).

        A record completed meanwhile (a concurrent attempt of the same request) is returned as
        it is: the first outcome stored is the one every later attempt replays.
        """

        async def write() -> IdempotencyRecord:
            stored = await self.client.get(CONFIG_MAP, record.name, namespace=record.namespace)
            current = _record(stored)
            _check_same_request(current, record.scope, record.key, record.fingerprint)
            if current.completed:
                return current
            data = dict(stored.get("data") or {})
            data.update({"state": COMPLETED, "completedAt": self.now().isoformat(),
                         "outcome": json.dumps(dict(outcome), sort_keys=True)})
            return _record(await self.client.update(CONFIG_MAP, {**stored, "data": data}))

        try:
            return await retry_on_conflict(write)
        except NotFound:
            # Someone removed the record while we worked: keep the answer, store it again.
            reserved = await self.reserve(record.namespace, record.scope, record.key,
                                          record.fingerprint, outcome=outcome)
            return await self.complete(reserved, outcome)


def require_same_request(record: IdempotencyRecord, fingerprint: str) -> None:
    """Raise `IdempotencyKeyReused` unless `record` was made for a request with
    `fingerprint`."""
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused(record.key)


def _check_same_request(record: IdempotencyRecord, scope: str, key: str,
                        fingerprint: str) -> None:
    # The scope and key are compared too: two (scope, key) pairs could share a record name
    # only by a hash collision, and then they must not share an outcome either.
    if (record.scope, record.key) != (scope, key):
        raise IdempotencyKeyReused(key)
    require_same_request(record, fingerprint)


def _record(stored: JSONObject) -> IdempotencyRecord:
    metadata = stored.get("metadata") or {}
    data = stored.get("data") or {}
    try:
        outcome = json.loads(data.get("outcome") or "{}")
    except ValueError:
        outcome = {}
    return IdempotencyRecord(
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or ""),
        scope=str(data.get("scope") or ""),
        key=str(data.get("key") or ""),
        fingerprint=str(data.get("fingerprint") or ""),
        completed=data.get("state") == COMPLETED,
        outcome={str(k): str(v) for k, v in outcome.items()} if isinstance(outcome, dict)
        else {},
        resource_version=str(metadata.get("resourceVersion") or ""),
    )

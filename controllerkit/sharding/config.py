"""`ShardingConfig`: which ring of replicas this one joins, as whom, and the three timings."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from hashlib import blake2b

from ..leaderelection.config import default_identity, validate_lease_timings

__all__ = ["SHARD_OF_LABEL", "SHARD_VIEW_ANNOTATION", "ShardingConfig"]

SHARD_OF_LABEL = "controllerkit.io/shard-of"
"""Label of every shard Lease: the ring's `name`. Replicas find each other by it."""

SHARD_VIEW_ANNOTATION = "controllerkit.io/shard-view"
"""Annotation of a shard Lease: the members its holder shares keys with (a JSON list).

Absent until the holder has read the ring: it reconciles nothing until then.
"""

_MAX_NAME = 253  # a Lease name is a DNS subdomain
_NOT_IN_NAME = re.compile(r"[^a-z0-9.-]+")


@dataclass(frozen=True)
class ShardingConfig:
    """One replica's place in a ring of replicas that share the keys of their controllers.

    - `name`: the ring. Every replica of one controller process uses the same name; its shard
      Lease is `<name>-shard-<identity>` in `namespace`, labelled `controllerkit.io/shard-of
      =<name>`.
    - `identity`: unique per process (the default `<hostname>_<uuid4>` is). Two live processes
      must never share one: each would take the other's reconciles for its own.
    - `lease_duration`: how long the others wait, after they last *saw* this replica's Lease
      change, before they treat it as gone and take its keys. Measured on their own clocks.
    - `renew_deadline`: how long this replica keeps trying to renew before it stops all work
      on its keys and gives up (`ShardLeaseLost`); shorter than `lease_duration`, and the
      difference is the time its reconciles have to end.
    - `retry_period`: how often the Lease is renewed (and a failed renewal retried).

    Validated as leader election is: every duration positive, `lease_duration >
    renew_deadline > 1.2 * retry_period`, name, namespace and identity not empty;
    `ValueError` says which rule was broken. The Lease records `lease_duration` rounded up
    to whole seconds, and the others wait that long.
    """

    name: str
    namespace: str
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not self.name or not self.namespace:
            raise ValueError(f"sharding needs a ring name and a namespace, not "
                             f"{self.namespace!r}/{self.name!r}")
        if not self.identity:
            raise ValueError("sharding needs a non-empty identity")
        validate_lease_timings(
            self.lease_duration, self.renew_deadline, self.retry_period,
            why_stop="a replica must stop working on its keys before the others may take them",
            why_retry="so a failed renewal is retried before the deadline")

    @property
    def lease_duration_seconds(self) -> int:
        """`lease_duration` as the Lease records it: whole seconds, rounded up."""
        return max(1, math.ceil(self.lease_duration))

    @property
    def lease_name(self) -> str:
        """`<name>-shard-<identity>`, made a valid Lease name.

        The identity is lowercased and every run of characters a name may not hold becomes
        `-` (`host_1A` -> `host-1a`); a name that would pass 253 characters is cut and ends
        in a hash of the identity. Identities that differ only in such characters (`a_b`,
        `a-b`) get the same name: the second one waits for the first's Lease to go.
        """
        identity = _NOT_IN_NAME.sub("-", self.identity.lower()).strip("-.")
        name = f"{self.name}-shard-{identity}"
        if len(name) <= _MAX_NAME and identity:
            return name
        digest = blake2b(self.identity.encode(), digest_size=8).hexdigest()
        return f"{name[:_MAX_NAME - len(digest) - 1].rstrip('-.')}-{digest}"

    def describe(self) -> str:
        """`namespace/<lease name>`, for logs and errors."""
        return f"{self.namespace}/{self.lease_name}"

"""Rendezvous (highest random weight) hashing: which member of a set owns a key.

Every member gets a pseudo-random weight for each key; the member with the highest weight
owns it. Two properties follow, and sharding relies on both:

- *Agreement without coordination*: any process that knows the same members computes the same
  owner. The weight is a BLAKE2b digest of the member and the key, so it is the same in every
  process, on every machine and across restarts (Python's `hash` is salted per process and
  would not do).
- *Minimal movement*: when a member joins, only the keys it now wins move (to it, about
  1/n of them); when a member leaves, only its own keys move, each to the member with the
  next-highest weight. No other key changes owner.

```python
owner_of("default/settings", {"replica-a", "replica-b"})   # the same answer everywhere
```
"""

from __future__ import annotations

from collections.abc import Iterable
from hashlib import blake2b

__all__ = ["owner_of", "weight"]


def weight(member: str, key: str) -> int:
    """The member's weight for the key: a stable 64-bit integer, uniform over members.

    The NUL separator keeps `("ab", "c")` and `("a", "bc")` apart.
    """
    digest = blake2b(f"{member}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner_of(key: str, members: Iterable[str]) -> str | None:
    """The member with the highest weight for `key`; None when there are no members.

    A tie of weights (a 64-bit collision) goes to the greater member name, so the answer never
    depends on the order in which the members are given.
    """
    best: tuple[int, str] | None = None
    for member in members:
        candidate = (weight(member, key), member)
        if best is None or candidate > best:
            best = candidate
    return None if best is None else best[1]

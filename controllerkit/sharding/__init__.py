"""Sharded controllers: replicas share the keys of a controller through Leases.

Each replica of a controller process holds a shard Lease, `<name>-shard-<identity>`,
labelled `controllerkit.io/shard-of=<name>`. Every key (`namespace/name`) belongs to one
live replica by rendezvous hashing over the replicas' identities, and each replica
reconciles only its own keys. When a replica joins or leaves, about 1/n of the keys move.

```python
coordinator = ShardCoordinator(client, ShardingConfig("widgets", "default"))
coordinator.attach(controller)
async with informers, controller:
    await coordinator.run()
```

With the `Manager`, pass `sharding=ShardingConfig(...)` instead.

## Why a key never has two owners

Each replica publishes, in its Lease, the *view* it works under: the set of replicas it
shares keys with, itself included. A replica X starts a reconcile of key k only if

- k is X's under every view X's own Lease may hold right now, and
- k is X's under the published view of every peer whose Lease X's cache shows, and
- X's cache shows a state at least as new as X's own first published view.

Before X publishes a new view, it stops starting the keys that view gives away, cancels
its running reconciles of them and waits for their end. So at any moment, X reconciles only
keys that are X's under the view its Lease holds.

Suppose X and Y both reconcile k at time t.

- If X, when it started k, saw Y's view V, then k was X's under V: X is in V and outweighs
  Y for k. At t, k is Y's under the view Y's Lease holds, which contains Y; so it cannot
  contain X, and Y has dropped X from its view since. A replica drops a peer only when the
  peer's Lease is gone, and a Lease goes only (a) when its holder released it after
  stopping all work, or (b) when another replica deleted it at the resourceVersion it saw
  after that version had been unchanged for the Lease's duration: then the holder's last
  successful renewal was sent before it was seen, its renew deadline (shorter than the
  duration) has passed, and it stopped all work at that deadline. Either way X stopped
  before t, which contradicts X reconciling at t. The same holds with X and Y swapped.
- Otherwise neither saw the other's view when it started k: X's cache then reflected the
  server at a time before Y's first view, and Y's cache a time before X's first view. But
  each cache reflects a time after its own replica's first view, which orders X's first
  view before Y's and Y's before X's: impossible.

A joining replica therefore starts nothing until every peer has adopted a view with it,
and a peer adopts it only after handing its keys over. A replica that died keeps its keys
for `lease_duration` after the others last saw its Lease change (plus the time to notice);
a replica that stops cleanly deletes its Lease after stopping, and its keys move at once.

## Limits

- Every replica still lists and watches every object: sharding divides the reconciling,
  not the cache. Label-based assignment (a sharder writing each object's shard into a label,
  so that each replica watches only `shard=<itself>`, as in kubernetes-controller-sharding)
  would fit on top: the coordinator's views would drive the labels, and the handoff rule
  above would become "relabel only after the old owner acknowledged the drain".
- The safety argument assumes what Lease-based leader election assumes: the clocks of the
  replicas advance at about the same rate, and no replica is paused (GC, CPU starvation)
  for longer than `lease_duration - renew_deadline` without noticing.
- Shard Leases are the protocol's state: never edit one by hand. Deleting one makes the
  others take its keys at once while its holder may still be finishing reconciles until it
  notices (one watch event, at most one renewal later): delete the Lease of a replica
  only once its process is gone. Changing a view annotation breaks the argument above.
"""

from .config import SHARD_OF_LABEL, SHARD_VIEW_ANNOTATION, ShardingConfig
from .coordinator import ShardCoordinator, ShardLeaseLost
from .rendezvous import owner_of, weight

__all__ = [
    "SHARD_OF_LABEL",
    "SHARD_VIEW_ANNOTATION",
    "ShardCoordinator",
    "ShardLeaseLost",
    "ShardingConfig",
    "owner_of",
    "weight",
]

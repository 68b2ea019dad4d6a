"""Between a store and its checkpoints: the snapshot a save writes, and restoring a loaded one.

A default store's snapshot is a list of its (shared, immutable) dicts, encoded by the save on
its worker thread; a compact store's is its bytes, as they are. Restoring runs every decode or
encode off the event loop, and adopts a compact snapshot's bytes without decoding them when
they went through the store's own transform (`transform_identity`); otherwise every object is
decoded and transformed again, as a default store always does. A snapshot still in its file
(`Checkpoint.lazy`) that a compact store can adopt stays there: the store reads each object when
it is first needed (see `Store.restore_lazy`); otherwise it is read whole here, off the loop.
"""

from __future__ import annotations

import asyncio
import logging

from .checkpoint import Checkpoint
from .compact_table import SnapshotDamaged
from .gc_pause import paused_gc
from .store import Store

logger = logging.getLogger("controllerkit.cache.reflector")


def snapshot(store: Store, transform: str | None, *, objects: bool) -> Checkpoint:
    """The store's checkpoint now (cheap: references, no encoding); `objects=False`: only the
    resourceVersion. `transform` is the identity of the store's transform."""
    if not objects:
        return Checkpoint(store.resource_version, None)
    if store.compact:
        return Checkpoint(store.resource_version, encoded=store.encoded(), transform=transform)
    return Checkpoint(store.resource_version, store.list(), transform=transform)


async def restore(store: Store, checkpoint: Checkpoint, transform: str | None,
                  what: str, on_damage: SnapshotDamaged | None = None) -> bool:
    """Fill `store` from `checkpoint` (which holds objects); False if its snapshot is unreadable.

    `transform` is the identity of the store's transform; `what` names the scope in logs.
    A lazy snapshot is adopted lazily only with an `on_damage` to report damage to.
    """
    trusted = (store.compact and checkpoint.transform is not None
               and checkpoint.transform == transform)
    if store.compact and not trusted:
        logger.info("%s: the checkpoint's objects went through another transform (%s, now %s); "
                    "decoding and transforming them again", what, checkpoint.transform,
                    transform)
    lazy = checkpoint.lazy
    if trusted and lazy is not None and on_damage is not None:
        store.restore_lazy(lazy, checkpoint.resource_version, on_damage)
        return True
    try:
        # Converting (decoding, or encoding decoded objects) runs off the event loop.
        objects = await asyncio.to_thread(
            lambda: checkpoint.encoded if trusted else checkpoint.objects)
    except Exception:
        logger.exception("%s: reading the checkpoint snapshot failed; starting cold", what)
        return False
    finally:
        if lazy is not None:
            lazy.close()
    assert objects is not None
    # The collector would only walk the fresh snapshot again and again (see gc_pause).
    with paused_gc():
        store.restore(objects, checkpoint.resource_version)
    return True

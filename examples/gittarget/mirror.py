"""Shared informers for mirrored kinds, added and removed at run time, and the task group the
targets' event streams run in.

WatchRules change while the controller runs, so the kinds it watches do too. `MirrorHub` asks
the manager's `InformerFactory` for one informer per `MirrorSource` (kind, namespace, label
selector) and counts its users: targets mirroring the same objects share one watch and one
cache, and the informer is removed when its last user lets go. Informers the hub did not create
(the controller's own, when a rule mirrors GitTargets themselves) are shared but never removed.

`run()` is a manager runnable: every stream consumer task is created in its task group, so
each has an owner and ends when the manager stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from controllerkit.cache import InformerFactory, SharedInformer

from .rules import MirrorSource

logger = logging.getLogger(__name__)


class MirrorHub:
    """Counts the users of mirrored-kind informers and owns the stream tasks.

    Guarantees: at most one informer per source; `release` of the last user removes an
    informer the hub created (its watch stops); tasks from `spawn` are cancelled when `run()`
    ends. `spawn` waits until `run()` has started.
    """

    def __init__(self, informers: InformerFactory) -> None:
        self.informers = informers
        self._users: dict[MirrorSource, int] = {}
        self._created: dict[MirrorSource, SharedInformer] = {}
        self._group: asyncio.TaskGroup | None = None
        self._running = asyncio.Event()

    def acquire(self, source: MirrorSource) -> SharedInformer:
        """The shared informer of `source`, counted as one more user (created if needed)."""
        existing = {(i.kind, i.namespace, i.label_selector, i.field_selector)
                    for i in self.informers.informers()}
        wanted = (source.kind, source.namespace if source.kind.namespaced else None,
                  source.label_selector, "")
        informer = self.informers.informer(source.kind, namespace=source.namespace,
                                           label_selector=source.label_selector)
        if source not in self._users and wanted not in existing:
            self._created[source] = informer
        self._users[source] = self._users.get(source, 0) + 1
        return informer

    async def release(self, source: MirrorSource) -> None:
        """One user less; the last one removes the informer if the hub created it."""
        users = self._users.get(source, 0) - 1
        if users > 0:
            self._users[source] = users
            return
        self._users.pop(source, None)
        informer = self._created.pop(source, None)
        if informer is not None:
            await self.informers.remove(informer)
            logger.info("stopped watching %s: no target mirrors it any more", source.describe())

    def users(self, source: MirrorSource) -> int:
        """How many users share the informer of `source`."""
        return self._users.get(source, 0)

    async def spawn(self, coroutine: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]:
        """Run `coroutine` as a task owned by the hub (see `run`)."""
        try:
            await self._running.wait()
        except BaseException:
            coroutine.close()
            raise
        assert self._group is not None
        return self._group.create_task(coroutine, name=name)

    async def run(self) -> None:
        """Own the stream tasks until cancelled (a manager runnable)."""
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                self._running.set()
                await asyncio.Event().wait()
        finally:
            self._running.clear()
            self._group = None

"""`InformerFactory`: one shared informer per (kind, namespace, selectors), owned and stopped
together.

```python
async with InformerFactory(client, transform=drop_managed_fields) as informers:
    config_maps = informers.informer(CONFIG_MAP, namespace="default")
    config_maps.add_handler(handler)
    await informers.wait_for_sync(timeout=60)
    ...
    await informers.remove(config_maps)    # stop watching at run time
```
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from types import TracebackType

from prometheus_client import CollectorRegistry

from ..client.protocol import Client
from ..meta import ResourceKind
from .checkpoint import CheckpointStore
from .clock import SYSTEM_CLOCK, Clock
from .informer import SharedInformer
from .options import ReflectorOptions
from .transforms import Transform

InformerKey = tuple[ResourceKind, str | None, str, str]
"""(kind, namespace or None for all, label selector, field selector)."""


class InformerFactory:
    """Creates, shares, runs and stops informers; every informer task is owned by the factory.

    `informer(...)` returns the existing informer for the same kind, namespace and selectors,
    so every controller watching the same thing shares one watch and one cache. Informers
    asked for before the factory is entered start when it is entered; later ones start at
    once. Leaving the `async with` block stops them all (saving checkpoints) before it returns.
    `compact=True` gives every informer a compact cache (`Store(compact=True)`: objects kept
    as JSON bytes, decoded on each read). With a `registry` (a `Manager` passes its own), every
    informer's reflector and checkpoint metrics are exported there, labelled by kind and by
    checkpoint scope; without one they are only counted in each `reflector.stats`.
    Guarantees: at most one running informer per key. Not guaranteed: that an informer removed
    and asked for again gets its old cache back (it is a new informer, possibly warm-started
    from the checkpoint store).
    """

    def __init__(
        self,
        client: Client,
        *,
        transform: Transform | None = None,
        resync_period: float | None = None,
        checkpoint_store: CheckpointStore | None = None,
        options: ReflectorOptions | None = None,
        clock: Clock = SYSTEM_CLOCK,
        random: Callable[[], float] = random.random,
        compact: bool = False,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.client = client
        self.compact = compact
        self.transform = transform
        self.resync_period = resync_period
        self.checkpoint_store = checkpoint_store
        self.options = options
        self.registry = registry
        self._clock = clock
        self._random = random
        self._informers: dict[InformerKey, SharedInformer] = {}
        self._tasks: dict[InformerKey, asyncio.Task[None]] = {}
        self._group: asyncio.TaskGroup | None = None
        self._closed = False

    def informer(
        self,
        kind: ResourceKind,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> SharedInformer:
        """The shared informer for this kind and scope, created (and started) if needed."""
        if self._closed:
            raise RuntimeError("the informer factory is closed")
        key = _key(kind, namespace, label_selector, field_selector)
        informer = self._informers.get(key)
        if informer is None:
            informer = SharedInformer(
                self.client, kind, namespace=namespace, label_selector=label_selector,
                field_selector=field_selector, transform=self.transform,
                resync_period=self.resync_period, checkpoint_store=self.checkpoint_store,
                options=self.options, clock=self._clock, random=self._random,
                compact=self.compact, registry=self.registry,
            )
            self._informers[key] = informer
            if self._group is not None:
                self._start(key, informer)
        return informer

    def informers(self) -> list[SharedInformer]:
        return list(self._informers.values())

    async def remove(self, informer: SharedInformer) -> None:
        """Stop an informer and forget it; its handlers get nothing more. Idempotent."""
        key = _key(informer.kind, informer.namespace, informer.label_selector,
                   informer.field_selector)
        if self._informers.get(key) is not informer:
            return
        del self._informers[key]
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()
            await asyncio.wait({task})

    # One deadline shared by all informers; the error names the one that did not sync.
    async def wait_for_sync(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait until every current informer has synced (`CacheSyncTimeout` names the first
        one that did not)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        for informer in list(self._informers.values()):
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            await informer.wait_for_sync(remaining)

    def _start(self, key: InformerKey, informer: SharedInformer) -> None:
        assert self._group is not None
        self._tasks[key] = self._group.create_task(informer.run(), name=repr(informer))

    async def __aenter__(self) -> InformerFactory:
        if self._group is not None or self._closed:
            raise RuntimeError("an informer factory runs once")
        group = asyncio.TaskGroup()
        await group.__aenter__()
        self._group = group
        for key, informer in self._informers.items():
            self._start(key, informer)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        group, self._group = self._group, None
        self._closed = True
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()
        if group is not None:
            await group.__aexit__(exc_type, exc, traceback)


def _key(
    kind: ResourceKind, namespace: str | None, label_selector: str, field_selector: str
) -> InformerKey:
    return (kind, (namespace or None) if kind.namespaced else None, label_selector,
            field_selector)

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

Or `await task_group.start(informers.run)` and `informers.stop()` (see `controllerkit.lifecycle`).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import anyio
from anyio.abc import TaskGroup, TaskStatus
from prometheus_client import CollectorRegistry

from ..client.protocol import Client
from ..lifecycle import Lifecycle, task_group
from ..meta import ResourceKind
from .checkpoint import CheckpointStore
from .clock import SYSTEM_CLOCK, Clock
from .informer import SharedInformer
from .options import ReflectorOptions
from .transforms import Transform

InformerKey = tuple[ResourceKind, str | None, str, str]
"""(kind, namespace or None for all, label selector, field selector)."""


class InformerFactory(Lifecycle):
    """Creates, shares, runs and stops informers; every informer task is owned by the factory.

    Lifecycle (`controllerkit.lifecycle`): `run()` until `stop()`, or `async with factory:`.
    Started means every informer asked for so far has started (its tasks exist; none has
    necessarily synced: `wait_for_sync`). `stop()` stops every informer (each saves its
    checkpoint) and closes the factory: `informer()` raises from then on, and `run()` returns
    once every informer has ended. Cancelling `run()` cancels the informers (they still save
    their checkpoints). Runs once.

    `informer(...)` returns the existing informer for the same kind, namespace and selectors,
    so every controller watching the same thing shares one watch and one cache. Informers
    asked for before the factory runs start when it starts; later ones start at once, in the
    factory's task group. Leaving the `async with` block stops them all (saving checkpoints)
    before it returns.
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
        # Set when the run of a started informer has ended, by key.
        self._ended: dict[InformerKey, anyio.Event] = {}
        self._group: TaskGroup | None = None
        self._started = False
        self._closed = False
        self._stopping: anyio.Event | None = None

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
        """Stop an informer and forget it; its handlers get nothing more. Idempotent.

        Returns once a running informer has stopped (its checkpoint saved).
        """
        key = _key(informer.kind, informer.namespace, informer.label_selector,
                   informer.field_selector)
        if self._informers.get(key) is not informer:
            return
        del self._informers[key]
        ended = self._ended.pop(key, None)
        if ended is not None:
            informer.stop()
            await ended.wait()

    # One deadline shared by all informers; the error names the one that did not sync.
    async def wait_for_sync(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait until every current informer has synced (`CacheSyncTimeout` names the first
        one that did not)."""
        deadline = None if timeout is None else anyio.current_time() + timeout
        for informer in list(self._informers.values()):
            remaining = None if deadline is None else max(0.0, deadline - anyio.current_time())
            await informer.wait_for_sync(remaining)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run every informer, and those asked for later, until `stop()` (see the class).

        Reports started once every informer asked for so far has started.
        """
        if self._started:
            raise RuntimeError("an informer factory runs once")
        self._started = True
        stopping = self._stopping = anyio.Event()
        if self._closed:
            stopping.set()
        try:
            async with task_group() as group:
                self._group = group
                for key, informer in list(self._informers.items()):
                    ended = self._ended[key] = anyio.Event()
                    await group.start(self._run_informer, informer, ended,
                                      name=repr(informer))
                task_status.started()
                await stopping.wait()
                self._group = None
                for informer in self._informers.values():
                    informer.stop()
        finally:
            self._group = None
            self._closed = True

    def stop(self) -> None:
        """Stop every informer and close the factory (see the class). Idempotent; returns
        at once."""
        self._closed = True
        if self._stopping is not None:
            self._stopping.set()

    def _start(self, key: InformerKey, informer: SharedInformer) -> None:
        assert self._group is not None
        ended = self._ended[key] = anyio.Event()
        self._group.start_soon(self._run_informer, informer, ended, name=repr(informer))

    @staticmethod
    async def _run_informer(
        informer: SharedInformer, ended: anyio.Event, *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        try:
            await informer.run(task_status=task_status)
        finally:
            ended.set()


def _key(
    kind: ResourceKind, namespace: str | None, label_selector: str, field_selector: str
) -> InformerKey:
    return (kind, (namespace or None) if kind.namespaced else None, label_selector,
            field_selector)

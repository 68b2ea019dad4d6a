"""Handlers enqueue initial-list objects at low priority, live changes at normal priority,
and flag only real changes of the object itself."""

from __future__ import annotations

from controllerkit.cache import SharedInformer
from controllerkit.client import KubeClient
from controllerkit.controller import EnqueueHandler
from controllerkit.meta import CONFIG_MAP, resource_version
from controllerkit.reconcile import Request
from controllerkit.testing import eventually
from controllerkit.workqueue import LOW_PRIORITY, NORMAL_PRIORITY


class RecordingSink:
    def __init__(self) -> None:
        self.enqueued: list[tuple[Request, int, bool]] = []

    def enqueue(self, request: Request, *, priority: int = NORMAL_PRIORITY,
                object_changed: bool = False) -> None:
        self.enqueued.append((request, priority, object_changed))


async def test_initial_list_enqueues_at_low_priority_and_live_changes_at_normal(
    kube: KubeClient,
) -> None:
    await kube.create(CONFIG_MAP, {"metadata": {"name": "listed"}}, namespace="default")
    sink = RecordingSink()
    informer = SharedInformer(kube, CONFIG_MAP, namespace="default")
    informer.add_handler(EnqueueHandler(informer, sink, own_object=True))
    async with informer:
        await informer.wait_for_sync(timeout=30)
        assert sink.enqueued == [(Request("default", "listed"), LOW_PRIORITY, True)]
        written = await kube.create(CONFIG_MAP, {"metadata": {"name": "live"}},
                                    namespace="default")
        await informer.store.wait_for_resource_version(resource_version(written), timeout=30)
        await eventually(lambda: len(sink.enqueued) == 2)
        assert sink.enqueued[1] == (Request("default", "live"), NORMAL_PRIORITY, True)

        informer.resync()  # not a change: low priority, no fresh start
        assert set(sink.enqueued[2:]) == {
            (Request("default", name), LOW_PRIORITY, False) for name in ("listed", "live")}


async def test_related_objects_never_count_as_a_change_of_the_request(
    kube: KubeClient,
) -> None:
    sink = RecordingSink()
    informer = SharedInformer(kube, CONFIG_MAP, namespace="default")
    informer.add_handler(EnqueueHandler(
        informer, sink, lambda obj: [Request("default", "target")], own_object=False))
    async with informer:
        await informer.wait_for_sync(timeout=30)
        await kube.create(CONFIG_MAP, {"metadata": {"name": "related"}}, namespace="default")
        await kube.delete(CONFIG_MAP, "related", namespace="default")
        await eventually(lambda: len(sink.enqueued) == 2)
    assert sink.enqueued == [(Request("default", "target"), NORMAL_PRIORITY, False)] * 2

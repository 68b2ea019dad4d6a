"""`QuarantineEvents`: a Warning Event on each object whose key a controller quarantines, so
`kubectl describe` shows why the controller stopped retrying it."""

from __future__ import annotations

from ..controller import Controller, QuarantinedItem, ReconcileHooks, ReconcileInfo
from ..events import EventRecorder

__all__ = ["QUARANTINE_EVENT_REASON", "QuarantineEvents"]

QUARANTINE_EVENT_REASON = "ReconcileQuarantined"


class QuarantineEvents(ReconcileHooks):
    """Records the Event from the controller's cache (it carries the uid `kubectl describe`
    matches on); an object already gone gets none: its key leaves the quarantine anyway."""

    def __init__(self, recorder: EventRecorder, controller: Controller) -> None:
        self._recorder = recorder
        self._controller = controller

    def quarantined(self, info: ReconcileInfo, item: QuarantinedItem) -> None:
        obj = self._controller.primary_object(item.request)
        if obj is None:
            return
        self._recorder.warning(
            obj, QUARANTINE_EVENT_REASON,
            f"controller {self._controller.name} stopped retrying after {item.failures} "
            f"failed reconciles; it retries when the object changes or is requeued. Last "
            f"error: {item.last_error}")

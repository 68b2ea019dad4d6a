"""`Trigger`: wake controllers from outside the cluster.

Not every reason to reconcile is a change of a Kubernetes object: a webhook from a git host,
a message on a queue, a timer in another system. A `Trigger` is a source of requests the
program fires itself:

```python
pushes = Trigger()

@manager.controller(Website, triggers=[pushes])
async def reconcile(site: Website | None, ctx: Context) -> Result | None: ...

pushes.fire(Request("default", "blog"))    # from a web handler, a queue consumer, ...
```
"""

from __future__ import annotations

from ..reconcile import Request
from ..workqueue import NORMAL_PRIORITY
from .handlers import RequestSink

__all__ = ["Trigger"]


class Trigger:
    """Requests fired by the program, delivered to every controller the trigger is given to.

    `fire` must be called on the event loop the controllers run on (from another thread, use
    `loop.call_soon_threadsafe(trigger.fire, request)`). A request fired before a controller
    runs waits in its queue; one fired after it stopped is dropped. Like any enqueue, fired
    requests are coalesced with others for the same key.
    """

    def __init__(self) -> None:
        self._sinks: list[RequestSink] = []

    def attach(self, sink: RequestSink) -> None:
        """Deliver fired requests to `sink` (a `Controller`) from now on."""
        self._sinks.append(sink)

    def fire(self, *requests: Request, priority: int = NORMAL_PRIORITY) -> None:
        """Ask every attached controller to reconcile `requests`."""
        for sink in self._sinks:
            for request in requests:
                sink.enqueue(request, priority=priority)

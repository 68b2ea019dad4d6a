"""Pausing the cyclic garbage collector while a bulk load fills a cache.

Decoding a large snapshot allocates millions of containers (every object's dicts and lists).
Each 700 allocations trigger a young-generation collection, and every few hundred of those a
full collection that walks every tracked object in the process, the growing cache included: a
100k-object checkpoint decodes about five times faster with the collector paused, and nothing
it would have found is garbage (the decoded objects are all kept).

`paused_gc()` disables automatic collection for the block and restores it afterwards. Pauses
nest and may overlap across threads: the collector is re-enabled when the last pause ends, and
only if it was enabled when the first one began (an application that runs with the collector
disabled keeps it disabled). Nothing leaks: cyclic garbage made by other code meanwhile is
collected by the first automatic collection after the pause. Not guaranteed: the application's
own `gc.disable()` calls made while a pause is active are overridden when it ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active_pauses = 0
_enabled_before = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """No automatic cyclic collection inside the block (see the module docstring)."""
    global _active_pauses, _enabled_before
    with _lock:
        if _active_pauses == 0:
            _enabled_before = gc.isenabled()
            gc.disable()
        _active_pauses += 1
    try:
        yield
    finally:
        with _lock:
            _active_pauses -= 1
            if _active_pauses == 0 and _enabled_before:
                gc.enable()

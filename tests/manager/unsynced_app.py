"""A manager whose cache never syncs, for `controllerkit run --cache-sync-timeout`.

Its one informer watches ConfigMaps with a label selector the server refuses (400), so the
reflector retries its list until the manager's `cache_sync_timeout` (left at the default,
120 s) runs out.
"""

from __future__ import annotations

from controllerkit.client import Client
from controllerkit.manager import Manager
from controllerkit.meta import CONFIG_MAP

REFUSED_SELECTOR = "app in ("


def build(client: Client) -> Manager:
    manager = Manager(client, metrics_bind_address="", health_probe_bind_address="")
    manager.informers.informer(CONFIG_MAP, label_selector=REFUSED_SELECTOR)
    return manager

"""Talking to an API server: the `Client` protocol, `KubeClient`, configuration, typed access.

```python
from controllerkit.client import KubeClient

async with KubeClient.from_kubeconfig() as client:
    settings = await client.get(CONFIG_MAP, "settings", namespace="default")
```
"""

from .config import ClientConfig, ClientTimeouts, ConfigError
from .credentials import Credentials, LoaderCredentials, StaticCredentials, TokenFileCredentials
from .kube import KubeClient
from .mapper import RestMapper
from .protocol import Client, ObjectList, PatchType, WatchEvent, WatchOptions
from .transport import RequestStats, TransportError
from .typed import TypedClient

__all__ = [
    "Client",
    "ClientConfig",
    "ClientTimeouts",
    "ConfigError",
    "Credentials",
    "KubeClient",
    "LoaderCredentials",
    "ObjectList",
    "PatchType",
    "RequestStats",
    "RestMapper",
    "StaticCredentials",
    "TokenFileCredentials",
    "TransportError",
    "TypedClient",
    "WatchEvent",
    "WatchOptions",
]

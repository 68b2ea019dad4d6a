"""The embedded Kubernetes-compatible API server.

```python
from controllerkit.apiserver import EmbeddedApiServer

async with EmbeddedApiServer() as server:
    ...  # point kubectl at server.kubeconfig_path, clients at server.url
```
"""

from .engine import ApiServerOptions
from .server import EmbeddedApiServer, ThreadedApiServer

__all__ = ["ApiServerOptions", "EmbeddedApiServer", "ThreadedApiServer"]

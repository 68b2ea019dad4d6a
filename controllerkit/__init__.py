"""controllerkit: level-triggered Kubernetes controllers for Python."""

from .apiserver import ApiServerOptions, EmbeddedApiServer, ThreadedApiServer

__version__ = "0.1.0"

__all__ = ["ApiServerOptions", "EmbeddedApiServer", "ThreadedApiServer", "__version__"]

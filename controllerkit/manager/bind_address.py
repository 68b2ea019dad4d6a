"""Where the manager's HTTP servers listen: `host:port`, `:port`, `0` or off.

Kept apart from the servers themselves so that a manager with both servers off never loads
the HTTP server framework.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLUSTER_SCOPE", "BindAddress", "parse_bind_address"]

CLUSTER_SCOPE = "_"
"""The `{namespace}` path segment that names a cluster-scoped object."""


@dataclass(frozen=True, slots=True)
class BindAddress:
    """Where a server listens; port 0 picks a free port."""

    host: str
    port: int


def parse_bind_address(value: str) -> BindAddress | None:
    """Parse `host:port`, `:port` (all interfaces), or `0` (loopback, a free port); `""` is off.

    Raises `ValueError` naming the value when it is none of these.
    """
    if value == "":
        return None
    if value == "0":
        return BindAddress("127.0.0.1", 0)
    host, separator, port = value.rpartition(":")
    if not separator or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"bind address {value!r} is not host:port, :port, 0 or empty")
    return BindAddress(host.strip("[]") or "0.0.0.0", int(port))

"""What the real server answers for a path that nothing serves: it depends on who owns the path.

A path under a prefix that API handlers own (`/api/...`, `/version/...`, and
`/apis/{group}/...` for a built-in group) gets a `NotFound` `Status` with empty details
(`the server could not find the requested resource`). Every other path falls through the real
server's chain of handlers to Go's plain 404: `404 page not found` as `text/plain`. That
includes unknown groups and unknown versions or resources of a custom resource group, whose
handler passes what it does not serve down the chain.
"""

from __future__ import annotations

from aiohttp import web

from .errors import StatusError, resource_not_found
from .resources import Registry

PAGE_NOT_FOUND = "404 page not found\n"


def page_not_found() -> web.Response:
    """Go's `http.NotFound` answer, headers included."""
    return web.Response(status=404, text=PAGE_NOT_FOUND, charset="utf-8",
                        content_type="text/plain",
                        headers={"X-Content-Type-Options": "nosniff"})


def owned_by_api_handlers(path: str, registry: Registry) -> bool:
    """Whether an unknown `path` is answered with a `Status` rather than a plain 404."""
    parts = [part for part in path.split("/") if part]
    if not parts:
        return False
    if parts[0] in ("api", "version"):
        return True
    if parts[0] == "apis" and len(parts) >= 2:
        return any(rtype.group == parts[1] and not rtype.is_custom for rtype in registry)
    return False


def unknown_path(path: str, registry: Registry) -> web.Response:
    """The answer to a request for `path`, which nothing serves: raises the `Status`, or
    returns the plain 404, whichever the real server sends for a path of that shape."""
    if owned_by_api_handlers(path, registry):
        raise resource_not_found()
    return page_not_found()


def is_unknown_path(error: StatusError) -> bool:
    """Whether `error` says that nothing serves the path (not that an object is missing)."""
    return error.code == 404 and not error.name and not error.kind

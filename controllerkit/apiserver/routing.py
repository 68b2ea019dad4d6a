"""Turning a request path and method into what is asked: group, version, resource, verb.

The same rules as the real server's request-info parsing: `/api/v1/...` is the core group,
`/apis/{group}/{version}/...` the others; `namespaces/{ns}/{resource}` scopes a request unless
the third segment is a namespace subresource (`namespaces/{name}/status`); a legacy `watch/`
prefix turns a GET into a watch.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True)
class RequestInfo:
    group: str
    version: str
    plural: str
    namespace: str
    name: str
    subresource: str
    verb: str

    @property
    def is_collection(self) -> bool:
        return not self.name


def parse_resource_path(path: str, method: str, *, watch_param: bool) -> RequestInfo | None:
    """The request info of a resource URL, or None when the path is not one."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    legacy_watch = bool(rest) and rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    if not rest:
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    verb = _verb(method, bool(name), watch_param or legacy_watch)
    if verb is None:
        return None
    return RequestInfo(group, version, plural, namespace, name, subresource, verb)


def _verb(method: str, has_name: bool, watch: bool) -> str | None:
    if method == "GET":
        if watch:
            return "watch"
        return "get" if has_name else "list"
    if method == "POST":
        return None if has_name else "create"
    if method == "PUT":
        return "update" if has_name else None
    if method == "PATCH":
        return "patch" if has_name else None
    if method == "DELETE":
        return "delete" if has_name else "deletecollection"
    return None

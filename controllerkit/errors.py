"""Errors from the API server, one class per `Status` reason a caller acts on.

Every failure the server answers with becomes an `ApiError` subclass carrying the server's
`Status` body, the HTTP code, and what the caller asked about (kind, namespace, name, and for
writes the resourceVersion it sent), so a retry loop can act without parsing messages:

```python
try:
    await client.patch_status(kind, name, patch, namespace=ns, resource_version=rv)
except Conflict as conflict:
    ...  # re-read, recompute, retry: conflict.resource_version is what we sent
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StatusCause:
    """One cause of a failure, usually a field of an `Invalid` object."""

    reason: str
    message: str
    field: str = ""


class ApiError(Exception):
    """The API server refused a request; `status` is its `Status` body."""

    code: int = 0

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        reason: str = "",
        status: Mapping[str, Any] | None = None,
        kind: str = "",
        namespace: str = "",
        name: str = "",
        resource_version: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.reason = reason
        self.status: dict[str, Any] = dict(status or {})
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.resource_version = resource_version
        self.retry_after = retry_after

    @property
    def causes(self) -> list[StatusCause]:
        details = self.status.get("details") or {}
        return [
            StatusCause(
                str(c.get("reason", "")), str(c.get("message", "")), str(c.get("field", ""))
            )
            for c in details.get("causes") or ()
            if isinstance(c, Mapping)
        ]

    def __str__(self) -> str:
        where = "/".join(p for p in (self.namespace, self.name) if p)
        subject = f"{self.kind} {where}".strip()
        sent = f" (resourceVersion {self.resource_version})" if self.resource_version else ""
        prefix = f"{subject}{sent}: " if subject else ""
        return f"{prefix}{self.code} {self.reason}: {self.message}"


class BadRequest(ApiError):
    code = 400


class Unauthorized(ApiError):
    code = 401


class Forbidden(ApiError):
    code = 403


class NotFound(ApiError):
    code = 404


class MethodNotAllowed(ApiError):
    code = 405


class AlreadyExists(ApiError):
    code = 409


class Conflict(ApiError):
    """A write lost an optimistic-concurrency race: re-read, recompute, retry."""

    code = 409


class Expired(ApiError):
    """410: a resourceVersion or continue token is older than the server remembers."""

    code = 410


class RequestEntityTooLarge(ApiError):
    code = 413


class UnsupportedMediaType(ApiError):
    code = 415


class Invalid(ApiError):
    """422: the object (or request options) failed validation; see `causes`."""

    code = 422


class TooManyRequests(ApiError):
    """429: back off for `retry_after` seconds (from the Retry-After header) before retrying."""

    code = 429


class InternalError(ApiError):
    code = 500


class ServerTimeout(ApiError):
    code = 504


_BY_REASON: dict[str, type[ApiError]] = {
    "BadRequest": BadRequest,
    "Unauthorized": Unauthorized,
    "Forbidden": Forbidden,
    "NotFound": NotFound,
    "MethodNotAllowed": MethodNotAllowed,
    "AlreadyExists": AlreadyExists,
    "Conflict": Conflict,
    "Expired": Expired,
    "Gone": Expired,
    "RequestEntityTooLarge": RequestEntityTooLarge,
    "UnsupportedMediaType": UnsupportedMediaType,
    "Invalid": Invalid,
    "TooManyRequests": TooManyRequests,
    "InternalError": InternalError,
    "ServerTimeout": ServerTimeout,
    "Timeout": ServerTimeout,
}

_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 405: MethodNotAllowed,
    409: Conflict, 410: Expired, 413: RequestEntityTooLarge, 415: UnsupportedMediaType,
    422: Invalid, 429: TooManyRequests, 500: InternalError, 504: ServerTimeout,
}


def api_error(
    code: int,
    status: Mapping[str, Any] | None,
    *,
    kind: str = "",
    namespace: str = "",
    name: str = "",
    resource_version: str = "",
    retry_after: float | None = None,
) -> ApiError:
    """The `ApiError` subclass for a failed response: by the Status reason, else by HTTP code."""
    body = dict(status or {})
    reason = str(body.get("reason") or "")
    cls = _BY_REASON.get(reason) or _BY_CODE.get(code) or ApiError
    details = body.get("details") or {}
    if retry_after is None and isinstance(details, Mapping) and details.get("retryAfterSeconds"):
        retry_after = float(details["retryAfterSeconds"])
    message = str(body.get("message") or f"HTTP {code}")
    return cls(
        message,
        code=code,
        reason=reason,
        status=body,
        kind=kind,
        namespace=namespace,
        name=name or str(details.get("name") or "") if isinstance(details, Mapping) else name,
        resource_version=resource_version,
        retry_after=retry_after,
    )


class WatchStalled(Exception):
    """A watch stream delivered no event or bookmark within its stall timeout.

    Half-open connections (a dead peer, a load balancer that dropped the flow) never fail by
    themselves; the caller treats this like a dropped connection and re-watches from the last
    resourceVersion it saw.
    """


class NoKindMatch(LookupError):
    """The server does not serve a kind: its group/version is unknown, or lacks the kind.

    `api_version` and `kind` name what was asked for; `served` lists the kinds the group/version
    does serve (empty when the group/version itself is not served).
    """

    def __init__(self, api_version: str, kind: str, served: tuple[str, ...] = (),
                 detail: str = "") -> None:
        if detail:
            message = f"no kind {kind} in {api_version}: {detail}"
        elif served:
            message = (f"no kind {kind} in {api_version}: the server serves "
                       f"{', '.join(sorted(served))} there")
        else:
            message = (f"no kind {kind} in {api_version}: the server does not serve "
                       f"{api_version} (is the CustomResourceDefinition installed and "
                       f"established, and the group spelled right?)")
        super().__init__(message)
        self.api_version = api_version
        self.kind = kind
        self.served = served

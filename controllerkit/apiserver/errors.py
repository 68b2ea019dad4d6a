"""Kubernetes `Status` failures raised by the embedded API server.

Every error the server returns is a `Status` object with the reason and code the real
kube-apiserver uses, so clients that branch on `reason` (client-go, kubernetes-asyncio, kopf,
kubectl) behave the same against both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cause:
    """One field-level cause of an `Invalid` (or other) failure."""

    reason: str
    message: str
    field: str = ""

    def to_json(self) -> dict[str, str]:
        out = {"reason": self.reason, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


@dataclass
class StatusError(Exception):
    """A failure answered to the client as a `Status` body with `code`."""

    code: int
    reason: str
    message: str
    name: str = ""
    group: str = ""
    kind: str = ""
    causes: list[Cause] = field(default_factory=list)
    retry_after_seconds: int | None = None
    # Send `details: {}` even when there are none (some real answers carry the empty object).
    empty_details: bool = False

    def __str__(self) -> str:
        return self.message

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.to_json() for c in self.causes]
        if self.retry_after_seconds is not None:
            details["retryAfterSeconds"] = self.retry_after_seconds
        if details or self.empty_details:
            status["details"] = details
        return status


def qualified(plural: str, group: str) -> str:
    """`widgets.example.com`, or `configmaps` for the core group, as the real server prints."""
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> StatusError:
    return StatusError(
        404, "NotFound", f'{qualified(plural, group)} "{name}" not found',
        name=name, group=group, kind=plural,
    )


def already_exists(plural: str, group: str, name: str) -> StatusError:
    return StatusError(
        409, "AlreadyExists", f'{qualified(plural, group)} "{name}" already exists',
        name=name, group=group, kind=plural,
    )


def conflict(plural: str, group: str, name: str, detail: str | None = None) -> StatusError:
    detail = detail or (
        "the object has been modified; please apply your changes to the latest version "
        "and try again"
    )
    return StatusError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": {detail}',
        name=name, group=group, kind=plural,
    )


def invalid(kind: str, group: str, name: str, causes: list[Cause]) -> StatusError:
    """422 Invalid; `kind` is the object's Kind (the real server says `Widget.example.com`)."""
    qualified_kind = f"{kind}.{group}" if group else kind
    joined = ", ".join(f"{c.field}: {c.message}" if c.field else c.message for c in causes)
    if len(causes) > 1:
        joined = f"[{joined}]"
    return StatusError(
        422, "Invalid", f'{qualified_kind} "{name}" is invalid: {joined}',
        name=name, group=group, kind=kind, causes=causes,
    )


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def forbidden(message: str, *, plural: str = "", group: str = "", name: str = "") -> StatusError:
    return StatusError(403, "Forbidden", message, name=name, group=group, kind=plural)


def unauthorized() -> StatusError:
    return StatusError(401, "Unauthorized", "Unauthorized")


def expired(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def gone(message: str) -> StatusError:
    return StatusError(410, "Gone", message)


def unsupported_media_type(content_type: str) -> StatusError:
    return StatusError(
        415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
        f"accepted media types include: application/json-patch+json, "
        f"application/merge-patch+json, application/apply-patch+yaml (got {content_type!r})",
    )


def method_not_allowed(method: str) -> StatusError:
    return StatusError(405, "MethodNotAllowed", f"the server does not allow this method on the "
                       f"requested resource ({method})")


def too_large(limit: int) -> StatusError:
    return StatusError(413, "RequestEntityTooLarge",
                       f"the request body is larger than the limit of {limit} bytes")


def resource_not_found() -> StatusError:
    """Nothing serves the path: the real server's API handlers answer with empty details."""
    return StatusError(404, "NotFound", "the server could not find the requested resource",
                       empty_details=True)

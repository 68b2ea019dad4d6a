"""JSend bodies: every answer of the internal API is `{"status": ..., ...}`.

- `success(data)`: the request did what it asked; `data` is the result.
- `fail(data)`: the caller must change something before retrying (a bad body, an unknown
  binding, a reused idempotency key); `data` maps each offending field, or the subject that
  failed, to a message, so clients can point at it.
- `error(message)`: the request was fine but the service could not answer (the API server was
  unreachable or refused us); retrying later may help.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from pydantic import ValidationError


def success(data: Any, *, status: int = 200) -> web.Response:
    """A `success` body with `data`, answered with HTTP `status` (2xx)."""
    return web.json_response({"status": "success", "data": data}, status=status)


def fail(data: Mapping[str, str], *, status: int = 400,
         headers: Mapping[str, str] | None = None) -> web.Response:
    """A `fail` body: `data` names what the caller got wrong (field or subject -> message)."""
    return web.json_response({"status": "fail", "data": dict(data)}, status=status,
                             headers=headers)


def error(message: str, *, status: int = 500, code: str | None = None) -> web.Response:
    """An `error` body: the service could not handle a valid request."""
    body: dict[str, Any] = {"status": "error", "message": message}
    if code:
        body["code"] = code
    return web.json_response(body, status=status)


class RequestRejected(Exception):
    """Raised by a handler to answer `fail(data)` with `status`; the app's middleware turns
    it into the response, so validation can live in plain functions."""

    def __init__(self, data: Mapping[str, str], *, status: int = 400) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in data.items()))
        self.data = dict(data)
        self.status = status


def field_errors(invalid: ValidationError) -> dict[str, str]:
    """Each failing field of a body as its dotted JSON path (by alias) -> pydantic's message.

    The root of a body that is not an object at all is reported as `body`.
    """
    errors: dict[str, str] = {}
    for problem in invalid.errors():
        path = ".".join(str(part) for part in problem["loc"]) or "body"
        errors.setdefault(path, problem["msg"])
    return errors


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's body as a JSON object; `RequestRejected` (400) naming `body` otherwise."""
    try:
        body = await request.json()
    except ValueError:
        raise RequestRejected({"body": "must be a JSON object"}) from None
    if not isinstance(body, dict):
        raise RequestRejected({"body": "must be a JSON object"})
    return body

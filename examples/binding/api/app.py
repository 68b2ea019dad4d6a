"""The internal API of the binding example as an aiohttp application.

```python
app = create_app(client, tokens=["s3cret"])   # then serve it: web.run_app(app), AppRunner...
```

Routes (all behind `Authorization: Bearer <token>`, all answering JSend bodies):

| Method | Path | |
| --- | --- | --- |
| PUT | `/api/internal/v1/bindings/{namespace}/{bindingKey}` | upsert a binding (`bindings.py`) |
| GET | `/api/internal/v1/bindings/{namespace}/{bindingKey}` | read it |
| POST | `/api/internal/v1/bindings/{namespace}/{bindingKey}/reconcile` | ask for a reconcile |
| POST | `/api/internal/v1/spritzes/{namespace}/{name}:replace` | replace a runtime (`replace.py`) |

Status codes: 200/201/202 `success`; 400 bad body or path, 401 no valid token, 404 unknown
binding or runtime, 409 idempotency key reused (or a name taken by something else) — all
`fail` with `data` naming the field or subject; 502 the API server refused us, 503 it is
unreachable or the object kept changing under us — `error`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime

from aiohttp import web

from controllerkit.client import Client, TransportError
from controllerkit.errors import ApiError, Conflict

from .auth import BearerTokens
from .bindings import BindingNotFound, BindingRoutes, Bindings
from .idempotency import IdempotencyKeyReused, IdempotencyStore
from .jsend import RequestRejected, error, fail
from .replace import Replacer, ReplaceRoutes

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(client: Client, *, tokens: Collection[str],
               now: Callable[[], datetime] = _utc_now) -> web.Application:
    """The internal API over `client` (an open client; the app does not close it).

    `tokens`: the bearer tokens accepted (at least one; ValueError otherwise). `now`: the
    clock of reconcile stamps and idempotency records.
    """
    app = web.Application(middlewares=[_jsend_errors, BearerTokens(tokens).middleware()])
    BindingRoutes(Bindings(client, now=now)).register(app.router)
    ReplaceRoutes(Replacer(client, IdempotencyStore(client, now=now), now=now)).register(
        app.router)
    return app


@web.middleware
async def _jsend_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turns what handlers raise into JSend answers, so every body has the same shape."""
    try:
        return await handler(request)
    except RequestRejected as rejected:
        return fail(rejected.data, status=rejected.status)
    except BindingNotFound as missing:
        return fail({"binding": str(missing)}, status=404)
    except IdempotencyKeyReused as reused:
        return fail({"idempotencyKey": str(reused)}, status=409)
    except Conflict as conflict:
        # Retries on conflict ran out: the object is contended; the caller may retry.
        return error(f"the object kept changing while we wrote it: {conflict}", status=503,
                     code="Conflict")
    except ApiError as refused:
        return error(f"the API server refused the request: {refused}", status=502,
                     code=refused.reason or None)
    except TransportError as unreachable:
        return error(f"the API server is unreachable: {unreachable}", status=503,
                     code="Unavailable")
    except web.HTTPException as http:
        if http.status < 400:
            raise
        headers = {"Allow": http.headers["Allow"]} if "Allow" in http.headers else None
        return fail({"request": http.reason}, status=http.status, headers=headers)
    except Exception:
        logger.exception("internal API request %s %s failed", request.method, request.path)
        return error("internal error", status=500)


__all__ = ["create_app"]

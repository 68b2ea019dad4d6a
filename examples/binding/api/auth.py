"""Bearer-token authentication of the internal API.

Every request must carry `Authorization: Bearer <token>` with one of the tokens the app was
created with; anything else is answered 401 with a JSend `fail` body and a
`WWW-Authenticate: Bearer` challenge, before any handler runs. Tokens are compared in constant
time, so response timing does not reveal how much of a guess was right.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from .jsend import fail

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="spritz-internal"'}


class BearerTokens:
    """The set of tokens that may call the API."""

    def __init__(self, tokens: Collection[str]) -> None:
        """Raises ValueError for an empty set (an API nobody can call is a misconfiguration,
        and one everybody can call is worse) or a blank token."""
        cleaned = [token.strip() for token in tokens]
        if not cleaned:
            raise ValueError("the internal API needs at least one bearer token")
        if any(not token for token in cleaned):
            raise ValueError("a bearer token must not be blank")
        self._tokens = [token.encode() for token in cleaned]

    def accepts(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header value presents one of the tokens."""
        if not authorization:
            return False
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return False
        candidate = presented.strip().encode()
        # Compare against every token (no early exit) so timing says nothing about which.
        matches = [hmac.compare_digest(candidate, token) for token in self._tokens]
        return any(matches)

    def middleware(self) -> Middleware:
        """An aiohttp middleware that refuses requests without an accepted token."""

        @web.middleware
        async def require_bearer_token(request: web.Request,
                                       handler: Handler) -> web.StreamResponse:
            if not self.accepts(request.headers.get("Authorization")):
                return fail({"authorization": "a valid bearer token is required"},
                            status=401, headers=_CHALLENGE)
            return await handler(request)

        return require_bearer_token


def read_token_file(path: Path) -> list[str]:
    """The tokens of a file: one per line; blank lines and lines starting with `#` skipped."""
    tokens = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            tokens.append(stripped)
    return tokens

"""Where the `Authorization` header comes from, and when it is fetched again.

A client asks its `Credentials` for the header value before every request. Static tokens are
returned as they are; a rotated service-account token file is re-read once its refresh period
has passed; kubeconfig users with an exec plugin ask it again, which runs the plugin only when
its credential is about to expire (an auth provider re-runs kubernetes-asyncio's loader). After a
401, the client calls `invalidate()` and retries once if a fresh credential may differ, as
client-go does for exec credentials.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

# client-go and kubernetes-asyncio re-read a projected service-account token every minute; the
# kubelet rotates it well before it expires (at 80% of its lifetime, at least an hour).
DEFAULT_REFRESH_PERIOD = 60.0

Clock = Callable[[], float]


class Credentials(Protocol):
    """The `Authorization` header value for the next request."""

    async def authorization(self) -> str | None:
        """The header value (`Bearer ...`, `Basic ...`), or None to send none.

        May fetch a fresh credential (re-read a file, run a plugin) when the cached one is due.
        """
        ...

    async def invalidate(self) -> bool:
        """The server answered 401: drop the cached credential.

        Returns True when a fresh credential was obtained that differs from the rejected one, so
        one retry is worthwhile; False when nothing can change (a static token).
        """
        ...


class StaticCredentials:
    """A fixed header value (or none): an explicit token, a kubeconfig `token` field."""

    def __init__(self, header: str | None) -> None:
        self._header = header

    @classmethod
    def bearer(cls, token: str | None) -> StaticCredentials:
        return cls(f"Bearer {token}" if token else None)

    async def authorization(self) -> str | None:
        return self._header

    async def invalidate(self) -> bool:
        return False


class TokenFileCredentials:
    """A bearer token read from a file and re-read every `refresh_period` seconds.

    Bound service-account tokens are rotated in place by the kubelet; reading the file again
    picks up the new token before the old one expires. A file that is missing or empty when
    re-read keeps the last good token (the kubelet replaces it atomically, so this is a
    transient state) and is tried again on the next request.
    """

    def __init__(
        self,
        path: Path,
        *,
        refresh_period: float = DEFAULT_REFRESH_PERIOD,
        clock: Clock = time.monotonic,
    ) -> None:
        self._path = path
        self._refresh_period = refresh_period
        self._clock = clock
        self._token = self._read()
        if not self._token:
            raise ValueError(f"token file {path} is empty")
        self._read_at = clock()

    def _read(self) -> str:
        return self._path.read_text(encoding="utf-8").strip()

    async def authorization(self) -> str | None:
        if self._clock() - self._read_at >= self._refresh_period:
            self._reload()
        return f"Bearer {self._token}"

    async def invalidate(self) -> bool:
        rejected = self._token
        self._reload()
        return self._token != rejected

    def _reload(self) -> None:
        try:
            token = self._read()
        except OSError:
            return
        if token:
            self._token = token
            self._read_at = self._clock()


class LoaderCredentials:
    """Credentials produced by a kubeconfig loader that can run again (exec plugin, auth provider).

    `load` returns the header value; it is called again when `refresh_period` has passed
    (the loader itself skips the plugin while the credential is not about to expire) and
    after a 401 (with `force=True`, so an unexpired but revoked credential is replaced too).
    Concurrent requests share one refresh.
    """

    def __init__(
        self,
        load: Callable[[bool], Awaitable[str | None]],
        initial: str | None,
        *,
        refresh_period: float = DEFAULT_REFRESH_PERIOD,
        clock: Clock = time.monotonic,
    ) -> None:
        self._load = load
        self._header = initial
        self._refresh_period = refresh_period
        self._clock = clock
        self._loaded_at = clock()
        self._generation = 0
        self._lock = asyncio.Lock()

    async def authorization(self) -> str | None:
        if self._due():
            generation = self._generation
            async with self._lock:
                # Concurrent requests share one refresh: only the first one through reloads.
                if generation == self._generation:
                    await self._reload(force=False)
        return self._header

    async def invalidate(self) -> bool:
        rejected, generation = self._header, self._generation
        async with self._lock:
            if generation == self._generation:
                await self._reload(force=True)
        return self._header != rejected

    def _due(self) -> bool:
        return self._clock() - self._loaded_at >= self._refresh_period

    async def _reload(self, *, force: bool) -> None:
        self._header = await self._load(force)
        self._loaded_at = self._clock()
        self._generation += 1

"""HTTP to one API server: one aiohttp session, JSON bodies via orjson, errors as `ApiError`.

`Transport` is the layer under `KubeClient`: it sends a request with fresh credentials, decodes
the answer, maps every non-2xx answer to its `ApiError` subclass (with the kind, namespace,
name and resourceVersion the request was about), retries a read answered 429 after the
server's Retry-After (a bounded number of times), and retries any request once after a 401 when
the credentials could be refreshed. Failures without an HTTP answer raise `TransportError`.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from ..errors import ApiError, TooManyRequests, WatchStalled, api_error
from ..meta import JSONObject
from .config import ClientConfig

log = logging.getLogger(__name__)

# A 429 without a Retry-After header waits this long, as client-go does.
DEFAULT_RETRY_AFTER = 1.0
# Error bodies that are not a Status (a proxy's HTML page) are quoted up to this length.
MAX_QUOTED_BODY = 500

Sleep = Callable[[float], Awaitable[None]]

# aiohttp >= 3.10 tells a connect timeout from a read timeout; both are ServerTimeoutErrors.
_CONNECT_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    getattr(aiohttp, name) for name in ("ConnectionTimeoutError",) if hasattr(aiohttp, name)
)


class TransportError(ConnectionError):
    """A request got no HTTP answer: connection refused or reset, TLS failure, read timeout.

    Nothing is known about whether a write took effect. `method` and `url` say which request.
    """

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(f"{method} {url}: {message}")
        self.method = method
        self.url = url


@dataclass(frozen=True, slots=True)
class Subject:
    """What a request is about, copied into the errors it raises."""

    kind: str = ""
    namespace: str = ""
    name: str = ""
    # For writes: the resourceVersion sent as the precondition.
    resource_version: str = ""


@dataclass
class RequestStats:
    """Counters of what a client sent: requests by HTTP method, 429 answers, retries made."""

    requests: Counter[str] = field(default_factory=Counter)
    throttled: int = 0
    retries: int = 0


class Transport:
    """One aiohttp session to one API server; `open()` before use, `close()` after."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        read_retries: int = 5,
        max_retry_wait: float = 30.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.config = config
        self.stats = RequestStats()
        self._read_retries = read_retries
        self._max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self._streams: set[aiohttp.ClientResponse] = set()
        timeouts = config.timeouts
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeouts.connect, sock_connect=timeouts.connect,
            sock_read=timeouts.read,
        )
        self._extra: dict[str, Any] = {}
        if config.tls_server_name:
            self._extra["server_hostname"] = config.tls_server_name
        if config.proxy:
            self._extra["proxy"] = config.proxy

    @property
    def is_open(self) -> bool:
        return self._session is not None and not self._session.closed

    async def open(self) -> None:
        if self._session is not None:
            return
        connector = aiohttp.TCPConnector(
            ssl=self.config.ssl_context if self.config.ssl_context is not None else True,
            # Each watch holds a connection for minutes; a cap would make the watch after the
            # cap wait forever for a free connection, so connections are not pooled-limited.
            limit=0,
        )
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)

    async def close(self) -> None:
        """Close open watch streams and the session; idempotent."""
        for response in list(self._streams):
            response.close()
        self._streams.clear()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            raise RuntimeError("the client is not open: use `async with` or `await open()`")
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        subject: Subject,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> JSONObject:
        """Send one request and return the decoded JSON answer (`{}` for an empty body).

        GETs answered 429 are retried after Retry-After (each wait capped at `max_retry_wait`)
        up to `read_retries` times, then `TooManyRequests` is raised; other methods raise it at
        once with `retry_after` set.
        """
        if method != "GET" or self._read_retries <= 0:
            return await self._send(method, path, subject, params, body, content_type)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._read_retries + 1),
            retry=retry_if_exception_type(TooManyRequests),
            wait=self._wait_retry_after,
            sleep=self._sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._send(method, path, subject, params, body, content_type)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _wait_retry_after(self, state: Any) -> float:
        error = state.outcome.exception() if state.outcome else None
        wait = getattr(error, "retry_after", None)
        return min(self._max_retry_wait, DEFAULT_RETRY_AFTER if wait is None else float(wait))

    def _count_retry(self, state: Any) -> None:
        self.stats.retries += 1

    async def _send(
        self,
        method: str,
        path: str,
        subject: Subject,
        params: Mapping[str, str] | None,
        body: bytes | None,
        content_type: str,
    ) -> JSONObject:
        session = self._require_session()
        url = self.config.server + path
        for attempt in (1, 2):
            headers = await self.config.headers()
            if body is not None:
                headers["Content-Type"] = content_type
            self.stats.requests[method] += 1
            try:
                async with session.request(
                    method, url, params=params, data=body, headers=headers, **self._extra
                ) as response:
                    payload = await response.read()
                    status = response.status
                    if 200 <= status < 300:
                        return _decode_object(payload, method, url)
                    retry_after = response.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise TransportError(_describe(exc), method=method, url=url) from exc
            if status == 401 and attempt == 1 and await self.config.credentials.invalidate():
                log.info("401 from %s %s: retrying with refreshed credentials", method, url)
                continue
            raise self.error(status, payload, retry_after, subject)
        raise AssertionError("unreachable: the second attempt returns or raises")

    @asynccontextmanager
    async def stream(
        self,
        path: str,
        *,
        subject: Subject,
        params: Mapping[str, str],
        stall_timeout: float,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """A GET whose 200 response body is read by the caller (a watch).

        `stall_timeout` bounds every wait for the peer, the headers included: silence that long
        raises `WatchStalled` here or from the caller's reads (as aiohttp's
        `ServerTimeoutError`, which the caller converts). The response is closed on exit and when
        the transport closes.
        """
        session = self._require_session()
        url = self.config.server + path
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self.config.timeouts.connect,
            sock_connect=self.config.timeouts.connect, sock_read=stall_timeout,
        )
        for attempt in (1, 2):
            headers = await self.config.headers()
            self.stats.requests["GET"] += 1
            try:
                response = await session.get(
                    url, params=params, headers=headers, timeout=timeout, **self._extra
                )
            except aiohttp.ServerTimeoutError as exc:
                if isinstance(exc, _CONNECT_TIMEOUT):
                    raise TransportError(_describe(exc), method="GET", url=url) from exc
                raise WatchStalled(
                    f"watch of {subject.kind or url}: no response within {stall_timeout}s"
                ) from exc
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise TransportError(_describe(exc), method="GET", url=url) from exc
            if response.status == 200:
                break
            try:
                payload = await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise TransportError(_describe(exc), method="GET", url=url) from exc
            finally:
                response.release()
            if (
                response.status == 401
                and attempt == 1
                and await self.config.credentials.invalidate()
            ):
                continue
            raise self.error(
                response.status, payload, response.headers.get("Retry-After"), subject
            )
        self._streams.add(response)
        try:
            yield response
        finally:
            self._streams.discard(response)
            if response.content.at_eof():
                response.release()  # the server ended the stream: the connection is reusable
            else:
                # The caller stopped early; a half-read body makes the connection unusable.
                response.close()

    def error(
        self, status: int, payload: bytes, retry_after: str | None, subject: Subject
    ) -> ApiError:
        """The `ApiError` for a non-2xx answer (a Status body, or any body quoted)."""
        if status == 429:
            self.stats.throttled += 1
        return api_error(
            status,
            _status_body(status, payload),
            kind=subject.kind,
            namespace=subject.namespace,
            name=subject.name,
            resource_version=subject.resource_version,
            retry_after=_parse_retry_after(retry_after),
        )


def _decode_object(payload: bytes, method: str, url: str) -> JSONObject:
    if not payload:
        return {}
    try:
        decoded = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise TransportError(f"answer is not JSON: {exc}", method=method, url=url) from exc
    if not isinstance(decoded, dict):
        raise TransportError("answer is not a JSON object", method=method, url=url)
    return decoded


def _status_body(status: int, payload: bytes) -> JSONObject:
    try:
        decoded = orjson.loads(payload) if payload else None
    except orjson.JSONDecodeError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("kind") == "Status":
        return decoded
    text = payload[:MAX_QUOTED_BODY].decode("utf-8", "replace").strip()
    return {"kind": "Status", "status": "Failure", "code": status,
            "message": text or f"HTTP {status} without a Status body"}


def _parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: an integer, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

"""429 Too Many Requests: reads wait for Retry-After and retry (bounded); writes report it.

The embedded server never throttles, so these tests answer from a small local HTTP server that
throttles a set number of times before answering like the API server would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from controllerkit.client import KubeClient
from controllerkit.errors import ApiError, InternalError, TooManyRequests
from controllerkit.meta import CONFIG_MAP

from .kinds import configmap

THROTTLED = {
    "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "TooManyRequests",
    "code": 429, "message": "too many requests, please try again later",
    "details": {"retryAfterSeconds": 2},
}


@dataclass
class ThrottlingServer:
    """Answers 429 (Retry-After: 2) to the first `throttle` requests, then a ConfigMap."""

    throttle: int = 0
    retry_after: str = "2"
    seen: list[str] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(request.method)
        if len(self.seen) <= self.throttle:
            return web.json_response(
                THROTTLED, status=429, headers={"Retry-After": self.retry_after}
            )
        return web.json_response(configmap("settings"), status=201 if request.method == "POST"
                                 else 200)


@pytest.fixture
async def throttling() -> AsyncIterator[ThrottlingServer]:
    state = ThrottlingServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


class RecordedSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_read_answered_429_waits_retry_after_and_succeeds(
    throttling: ThrottlingServer,
) -> None:
    throttling.throttle = 2
    sleep = RecordedSleep()
    async with KubeClient.from_url(throttling.url, sleep=sleep) as kube:
        answer = await kube.get(CONFIG_MAP, "settings", namespace="default")
        assert answer["metadata"]["name"] == "settings"
        assert (kube.stats.throttled, kube.stats.retries) == (2, 2)
    assert sleep.waits == [2.0, 2.0]
    assert throttling.seen == ["GET", "GET", "GET"]


async def test_read_retries_are_bounded_then_too_many_requests_is_raised(
    throttling: ThrottlingServer,
) -> None:
    throttling.throttle = 100
    sleep = RecordedSleep()
    async with KubeClient.from_url(throttling.url, sleep=sleep, read_retries=3) as kube:
        with pytest.raises(TooManyRequests) as caught:
            await kube.list(CONFIG_MAP, namespace="default")
    assert caught.value.retry_after == 2.0
    assert len(throttling.seen) == 4
    assert sleep.waits == [2.0, 2.0, 2.0]


async def test_retry_after_wait_is_capped(throttling: ThrottlingServer) -> None:
    throttling.throttle = 1
    throttling.retry_after = "3600"
    sleep = RecordedSleep()
    async with KubeClient.from_url(throttling.url, sleep=sleep, max_retry_wait=5.0) as kube:
        await kube.get(CONFIG_MAP, "settings", namespace="default")
    assert sleep.waits == [5.0]


async def test_write_answered_429_raises_with_retry_after_and_is_not_retried(
    throttling: ThrottlingServer,
) -> None:
    throttling.throttle = 1
    sleep = RecordedSleep()
    async with KubeClient.from_url(throttling.url, sleep=sleep) as kube:
        with pytest.raises(TooManyRequests) as caught:
            await kube.create(CONFIG_MAP, configmap("settings"))
    assert caught.value.retry_after == 2.0
    assert caught.value.name == "settings"
    assert throttling.seen == ["POST"]
    assert sleep.waits == []


async def test_error_without_a_status_body_is_quoted() -> None:
    async def gateway(request: web.Request) -> web.Response:
        return web.Response(status=500, text="<html>upstream unavailable</html>",
                            content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with KubeClient.from_url(url) as kube:
            with pytest.raises(ApiError) as caught:
                await kube.get(CONFIG_MAP, "settings", namespace="default")
    finally:
        await runner.cleanup()
    assert isinstance(caught.value, InternalError)
    assert "upstream unavailable" in caught.value.message

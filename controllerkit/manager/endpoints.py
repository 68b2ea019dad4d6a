"""The manager's HTTP endpoints: probes, Prometheus metrics and the quarantine.

| Method and path | Answer |
| --- | --- |
| `GET /healthz` | 200 `ok` while the manager runs |
| `GET /readyz` | 200 `ok` once every cache has synced, 503 before (and while stopping) |
|  | then `key: value` lines: the Lease, its leader, whether this replica leads, its shard |
| `GET /metrics` | the manager's registry in Prometheus text format |
| `GET /controllers/{controller}/quarantine` | JSON list of the quarantined keys |
| `POST /controllers/{controller}/quarantine/{namespace}/{name}/requeue` | release one key |

Cluster-scoped objects use `_` as `{namespace}`. The probes and the quarantine are served on
the health-probe address, `/metrics` on the metrics address; when both addresses are the
same, one server answers all of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from ..clock import Clock
from ..controller import Controller
from ..reconcile import Request
from .bind_address import CLUSTER_SCOPE, BindAddress, parse_bind_address

__all__ = ["CLUSTER_SCOPE", "BindAddress", "Endpoints", "Servers", "parse_bind_address",
           "serve"]

logger = logging.getLogger(__name__)


class Endpoints:
    """Builds the aiohttp routes over a manager's state; the manager runs the servers."""

    def __init__(
        self,
        *,
        registry: CollectorRegistry,
        controllers: Mapping[str, Controller],
        ready: Callable[[], bool],
        clock: Clock,
        details: Callable[[], list[str]] = list,
    ) -> None:
        """`details` gives the lines `/readyz` adds after its verdict."""
        self._registry = registry
        self._controllers = controllers
        self._ready = ready
        self._clock = clock
        self._details = details

    def metrics_routes(self) -> list[web.RouteDef]:
        return [web.get("/metrics", self._metrics)]

    def probe_routes(self) -> list[web.RouteDef]:
        return [
            web.get("/healthz", self._healthz),
            web.get("/readyz", self._readyz),
            web.get("/controllers/{controller}/quarantine", self._quarantine),
            web.post("/controllers/{controller}/quarantine/{namespace}/{name}/requeue",
                     self._requeue),
        ]

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _readyz(self, request: web.Request) -> web.Response:
        details = "".join(f"\n{line}" for line in self._details())
        if self._ready():
            return web.Response(text="ok" + details)
        return web.Response(status=503,
                            text="not ready: caches not synced, or stopping" + details)

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    def _controller(self, request: web.Request) -> Controller:
        name = request.match_info["controller"]
        controller = self._controllers.get(name)
        if controller is None:
            raise web.HTTPNotFound(
                text=f"no controller named {name!r}; controllers: "
                f"{', '.join(sorted(self._controllers)) or 'none'}")
        return controller

    async def _quarantine(self, request: web.Request) -> web.Response:
        controller = self._controller(request)
        now = self._clock.monotonic()
        return web.json_response([
            {
                "namespace": item.request.namespace,
                "name": item.request.name,
                "failures": item.failures,
                "lastError": item.last_error,
                "quarantinedSeconds": round(now - item.since, 3),
            }
            for item in controller.quarantined()
        ])

    async def _requeue(self, request: web.Request) -> web.Response:
        controller = self._controller(request)
        namespace = request.match_info["namespace"]
        key = Request("" if namespace == CLUSTER_SCOPE else namespace,
                      request.match_info["name"])
        if not controller.requeue(key):
            raise web.HTTPNotFound(text=f"{key} is not quarantined by {controller.name}")
        return web.json_response({"requeued": {"namespace": key.namespace,
                                               "name": key.name}})


@dataclass(frozen=True, slots=True)
class Servers:
    """The HTTP servers `serve` started, and where they listen (None: that one is off)."""

    runners: list[web.AppRunner]
    metrics_url: str | None
    health_probe_url: str | None

    async def close(self) -> None:
        for runner in self.runners:
            await runner.cleanup()


async def serve(endpoints: Endpoints, *, metrics_bind_address: str,
                health_probe_bind_address: str) -> Servers:
    """Serve `/metrics` and the probes on their addresses (one server when both are the same
    fixed address). Raises `OSError` when an address cannot be bound (nothing is left
    running then)."""
    metrics_at = parse_bind_address(metrics_bind_address)
    probes_at = parse_bind_address(health_probe_bind_address)
    shared = metrics_at is not None and metrics_at == probes_at and metrics_at.port != 0
    servers: list[tuple[BindAddress, list[web.RouteDef], str]] = []
    if shared:
        assert metrics_at is not None
        routes = endpoints.metrics_routes() + endpoints.probe_routes()
        servers.append((metrics_at, routes, "both"))
    else:
        if metrics_at is not None:
            servers.append((metrics_at, endpoints.metrics_routes(), "metrics"))
        if probes_at is not None:
            servers.append((probes_at, endpoints.probe_routes(), "probes"))
    runners: list[web.AppRunner] = []
    urls: dict[str, str] = {}
    try:
        for address, routes, role in servers:
            runner, url = await _serve(address, routes)
            runners.append(runner)
            urls[role] = url
            logger.info("serving %s on %s", role, url)
    except BaseException:
        for runner in runners:
            await runner.cleanup()
        raise
    return Servers(runners, urls.get("metrics", urls.get("both")),
                   urls.get("probes", urls.get("both")))


async def _serve(address: BindAddress, routes: list[web.RouteDef]) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, address.host, address.port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    server = site._server
    assert isinstance(server, asyncio.base_events.Server)
    host, port = server.sockets[0].getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return runner, f"http://{shown}:{port}"

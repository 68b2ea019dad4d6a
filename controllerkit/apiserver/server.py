"""Starting and stopping the embedded API server, in the caller's event loop or in a thread.

```python
async with EmbeddedApiServer() as server:
    print(server.url, server.kubeconfig_path)
```

`ThreadedApiServer` runs the same server on its own event loop in a background thread, for
synchronous code (and for tests that call `kubectl` with blocking subprocess calls).
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .access_log import AccessLogger, access_logger
from .engine import ApiEngine, ApiServerOptions
from .handlers import ApiHandlers
from .kubeconfig import write_kubeconfig
from .tls import ClientCertificate, TLSMaterial, generate_self_signed, issue_client_certificate

# Any token is accepted without a tokens file; the kubeconfig still carries one so clients that
# insist on credentials are satisfied.
OPEN_ACCESS_TOKEN = "controllerkit"


class EmbeddedApiServer:
    """A Kubernetes-compatible API server on loopback, for tests, demos and local development."""

    def __init__(self, options: ApiServerOptions | None = None, **overrides: Any) -> None:
        base = options or ApiServerOptions()
        options = dataclasses.replace(base, **overrides) if overrides else base
        # Accept str paths too; everything below works on Path.
        client_ca = Path(options.client_ca_file) if options.client_ca_file is not None else None
        client_certificates = options.client_certificates or client_ca is not None
        self.options = dataclasses.replace(
            options,
            data_dir=Path(options.data_dir) if options.data_dir is not None else None,
            tokens_file=Path(options.tokens_file) if options.tokens_file is not None else None,
            kubeconfig_out=(
                Path(options.kubeconfig_out) if options.kubeconfig_out is not None else None
            ),
            client_ca_file=client_ca,
            client_certificates=client_certificates,
            # Client certificates travel only in the TLS handshake.
            tls=options.tls or client_certificates,
        )
        self._runner: web.AppRunner | None = None
        self._engine: ApiEngine | None = None
        self._scratch: Path | None = None
        self._url = ""
        self._kubeconfig: Path | None = None
        self.tls: TLSMaterial | None = None
        # The certificate of the kubeconfig the server wrote, with client certificates on.
        self.client_certificate: ClientCertificate | None = None

    @property
    def url(self) -> str:
        if not self._url:
            raise RuntimeError("the server is not running")
        return self._url

    @property
    def kubeconfig_path(self) -> Path:
        if self._kubeconfig is None:
            raise RuntimeError("the server is not running")
        return self._kubeconfig

    @property
    def engine(self) -> ApiEngine:
        if self._engine is None:
            raise RuntimeError("the server is not running")
        return self._engine

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def token(self) -> str:
        return self.engine.access.first_token() or OPEN_ACCESS_TOKEN

    async def start(self) -> None:
        options = self.options
        self._scratch = Path(tempfile.mkdtemp(prefix="controllerkit-apiserver-"))
        self._engine = ApiEngine(options)
        app = ApiHandlers(self._engine).application()
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=2.0,
            access_log=access_logger() if options.log_requests else None,
            access_log_class=AccessLogger)
        await self._runner.setup()
        ssl_context = None
        if options.tls:
            pki = (options.data_dir / "pki") if options.data_dir else (self._scratch / "pki")
            self.tls = generate_self_signed(pki)
            client_cas = [self.tls.ca_cert_path] if options.client_certificates else []
            if options.client_ca_file is not None:
                client_cas.append(options.client_ca_file)
            ssl_context = self.tls.server_ssl_context(client_cas)
        site = web.TCPSite(self._runner, options.host, options.port, ssl_context=ssl_context)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        port = server.sockets[0].getsockname()[1]
        scheme = "https" if options.tls else "http"
        host = f"[{options.host}]" if ":" in options.host else options.host
        self._url = f"{scheme}://{host}:{port}"
        if options.client_certificates and self.tls is not None:
            identity = self._engine.access.first_identity()
            self.client_certificate = issue_client_certificate(
                self.tls, identity.name, identity.groups)
        self._kubeconfig = write_kubeconfig(
            options.kubeconfig_out or (self._scratch / "kubeconfig"),
            server=self._url,
            token=None if self.client_certificate else self.token,
            ca_pem=self.tls.ca_pem if self.tls else None,
            client_certificate=self.client_certificate,
        )

    async def stop(self) -> None:
        if self._engine is not None:
            self._engine.store.close_watchers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        self._url = ""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class ThreadedApiServer:
    """An `EmbeddedApiServer` on its own event loop in a daemon thread.

    ```python
    with ThreadedApiServer() as server:
        subprocess.run(["kubectl", "--kubeconfig", server.kubeconfig_path, "get", "ns"])
    ```
    """

    def __init__(self, options: ApiServerOptions | None = None, **overrides: Any) -> None:
        self.server = EmbeddedApiServer(options, **overrides)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def kubeconfig_path(self) -> Path:
        return self.server.kubeconfig_path

    @property
    def engine(self) -> ApiEngine:
        return self.server.engine

    def call(self, fn: Any, *args: Any) -> Any:
        """Run a plain function on the server's loop (to inspect the engine safely)."""
        assert self._loop is not None

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="controllerkit-apiserver",
                                        daemon=True)
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.server.start()
        except BaseException as exc:
            self._error = exc
            self._started.set()
            return
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await self.server.stop()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=30)
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""How to reach an API server: its URL, credentials, TLS settings and timeouts.

```python
config = await ClientConfig.from_kubeconfig()                 # $KUBECONFIG or ~/.kube/config
config = await ClientConfig.from_kubeconfig(path, context="staging")
config = ClientConfig.in_cluster()                             # a pod's service account
config = ClientConfig.from_url("https://10.0.0.1:6443", token="...", ca_file="ca.crt")
config = await ClientConfig.load()                             # kubeconfig, else in-cluster
```

Kubeconfig files are read with kubernetes-asyncio's loader, so exec plugins, auth providers
(gcp, oidc), client certificates, `tokenFile` and merged `$KUBECONFIG` lists behave as they do
there; the result is owned here: a base URL, a `Credentials` source asked before every request,
an `ssl.SSLContext`, and timeouts. Nothing global is modified (kubernetes-asyncio's default
`Configuration` is left alone).
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .credentials import (
    DEFAULT_REFRESH_PERIOD,
    Clock,
    Credentials,
    LoaderCredentials,
    StaticCredentials,
    TokenFileCredentials,
)

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_KUBECONFIG = "~/.kube/config"
USER_AGENT = "controllerkit/0.1"


class ConfigError(Exception):
    """No usable configuration: the message says what was tried and what was missing."""


@dataclass(frozen=True, slots=True)
class ClientTimeouts:
    """Timeouts in seconds.

    `connect`: establishing a connection (TCP and TLS). `read`: the longest silence while
    waiting for a response or its body on a non-watch request; a list of 100k objects streams
    continuously, so this bounds a dead server, not a big answer. `watch_stall`: the default
    longest silence on a watch stream (no event and no bookmark) before it raises
    `WatchStalled`; real API servers send a bookmark about every minute to watches that
    allow them, so 70 s (kopf's choice) separates a quiet resource from a dead connection.
    """

    connect: float = 10.0
    read: float = 60.0
    watch_stall: float = 70.0


DEFAULT_TIMEOUTS = ClientTimeouts()


@dataclass(frozen=True)
class ClientConfig:
    """Everything a `KubeClient` needs to talk to one API server.

    `server` is the base URL (`https://host:6443`, possibly with a path prefix); `ssl_context`
    is None for plain http; `tls_server_name` overrides the name the certificate must carry;
    `namespace` is the kubeconfig context's (or the pod's) namespace, informational: clients
    never default a missing namespace to it.
    """

    server: str
    credentials: Credentials = field(default_factory=lambda: StaticCredentials(None))
    ssl_context: ssl.SSLContext | None = None
    tls_server_name: str | None = None
    proxy: str | None = None
    namespace: str = "default"
    timeouts: ClientTimeouts = DEFAULT_TIMEOUTS
    user_agent: str = USER_AGENT

    def __post_init__(self) -> None:
        if not self.server.startswith(("http://", "https://")):
            raise ConfigError(f"server URL must start with http:// or https://: {self.server!r}")
        object.__setattr__(self, "server", self.server.rstrip("/"))

    async def headers(self) -> dict[str, str]:
        """Headers for the next request, with a fresh `Authorization` when one is due."""
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        authorization = await self.credentials.authorization()
        if authorization:
            headers["Authorization"] = authorization
        return headers

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        token: str | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        ca_data: bytes | str | None = None,
        client_cert_file: str | os.PathLike[str] | None = None,
        client_key_file: str | os.PathLike[str] | None = None,
        insecure_skip_tls_verify: bool = False,
        namespace: str = "default",
        timeouts: ClientTimeouts = DEFAULT_TIMEOUTS,
    ) -> ClientConfig:
        """A server by URL, with an optional bearer token and CA (PEM file or PEM data).

        Without a CA, https servers are verified against the system trust store.
        """
        context = None
        if url.startswith("https://"):
            context = _ssl_context(
                ca_file=ca_file,
                ca_data=ca_data,
                cert_file=client_cert_file,
                key_file=client_key_file,
                verify=not insecure_skip_tls_verify,
            )
        return cls(
            url,
            credentials=StaticCredentials.bearer(token),
            ssl_context=context,
            namespace=namespace,
            timeouts=timeouts,
        )

    @classmethod
    def in_cluster(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        service_account_dir: Path = SERVICE_ACCOUNT_DIR,
        timeouts: ClientTimeouts = DEFAULT_TIMEOUTS,
        refresh_period: float = DEFAULT_REFRESH_PERIOD,
        clock: Clock = time.monotonic,
    ) -> ClientConfig:
        """The pod's service account: `KUBERNETES_SERVICE_HOST`/`_PORT`, its token and CA.

        The token file is re-read every `refresh_period` seconds (the kubelet rotates it).
        Raises `ConfigError` naming what is missing when not running in a pod.
        """
        env = os.environ if environ is None else environ
        host = env.get("KUBERNETES_SERVICE_HOST", "")
        port = env.get("KUBERNETES_SERVICE_PORT", "")
        if not host or not port:
            raise ConfigError(
                "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                "are not both set"
            )
        token_path = service_account_dir / "token"
        ca_path = service_account_dir / "ca.crt"
        try:
            credentials = TokenFileCredentials(
                token_path, refresh_period=refresh_period, clock=clock
            )
            context = _ssl_context(ca_file=ca_path)
        except (OSError, ValueError, ssl.SSLError) as exc:
            raise ConfigError(f"service account in {service_account_dir} unusable: {exc}") from exc
        namespace_path = service_account_dir / "namespace"
        namespace = (
            namespace_path.read_text(encoding="utf-8").strip() if namespace_path.exists() else ""
        )
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return cls(
            f"https://{netloc}",
            credentials=credentials,
            ssl_context=context,
            namespace=namespace or "default",
            timeouts=timeouts,
        )

    @classmethod
    async def from_kubeconfig(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        context: str | None = None,
        timeouts: ClientTimeouts = DEFAULT_TIMEOUTS,
        refresh_period: float = DEFAULT_REFRESH_PERIOD,
    ) -> ClientConfig:
        """A kubeconfig context (default: the file's current context).

        `path` defaults to `$KUBECONFIG` (a list separated by `os.pathsep`, merged) or
        `~/.kube/config`. The user's credential is obtained now (running an exec plugin if the
        user has one) and again every `refresh_period` seconds and after a 401. Raises
        `ConfigError` when no file exists or the context is unusable.
        """
        paths = os.fspath(path) if path is not None else _default_kubeconfig_paths()
        existing = _existing_paths(paths)
        if not existing:
            raise ConfigError(f"no kubeconfig found at {paths}")
        # Imported here: the kubernetes-asyncio client package is large and only its config
        # loader is used, so importing controllerkit.client stays cheap.
        from kubernetes_asyncio.client import Configuration
        from kubernetes_asyncio.config import ConfigException, load_kube_config

        async def load(loader: Any | None = None, force: bool = False) -> tuple[Any, Any]:
            configuration = Configuration()
            if loader is None:
                loader = await load_kube_config(
                    config_file=os.pathsep.join(existing),
                    context=context,
                    client_configuration=configuration,
                    persist_config=False,
                )
            else:
                if force:
                    # The loader skips an exec plugin while its credential's expiry is in the
                    # future; after a 401 the credential is known bad, so forget the expiry.
                    vars(loader).pop("exec_plugin_expiry", None)
                await loader.load_and_set(configuration)
            return loader, configuration

        try:
            loader, configuration = await load()
        except (ConfigException, AssertionError, KeyError, TypeError, OSError) as exc:
            raise ConfigError(
                f"kubeconfig {paths} (context {context or 'current'}) unusable: {exc!r}"
            ) from exc

        async def reload(force: bool) -> str | None:
            _, fresh = await load(loader, force)
            return _authorization(fresh)

        server = str(configuration.host)
        ssl_context = None
        if server.startswith("https://"):
            try:
                ssl_context = _ssl_context(
                    ca_file=configuration.ssl_ca_cert,
                    cert_file=configuration.cert_file,
                    key_file=configuration.key_file,
                    verify=bool(configuration.verify_ssl),
                )
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                raise ConfigError(
                    f"kubeconfig {paths} (context {context or 'current'}): TLS settings "
                    f"unusable: {exc}"
                ) from exc
        current = loader.current_context or {}
        namespace = str((current.get("context") or {}).get("namespace") or "default")
        return cls(
            server,
            credentials=LoaderCredentials(
                reload, _authorization(configuration), refresh_period=refresh_period
            ),
            ssl_context=ssl_context,
            tls_server_name=getattr(configuration, "tls_server_name", None) or None,
            proxy=configuration.proxy or None,
            namespace=namespace,
            timeouts=timeouts,
        )

    @classmethod
    async def load(
        cls,
        *,
        context: str | None = None,
        timeouts: ClientTimeouts = DEFAULT_TIMEOUTS,
        environ: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """The kubeconfig if one exists (`$KUBECONFIG`, `~/.kube/config`), else in-cluster.

        Raises `ConfigError` saying both were tried when neither is available.
        """
        paths = _default_kubeconfig_paths(environ)
        if _existing_paths(paths):
            return await cls.from_kubeconfig(paths, context=context, timeouts=timeouts)
        try:
            return cls.in_cluster(environ=environ, timeouts=timeouts)
        except ConfigError as exc:
            raise ConfigError(f"no kubeconfig at {paths}, and {exc}") from None


def _default_kubeconfig_paths(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get("KUBECONFIG") or str(Path(DEFAULT_KUBECONFIG).expanduser())


def _existing_paths(paths: str) -> list[str]:
    return [p for p in paths.split(os.pathsep) if p and Path(p).expanduser().exists()]


def _authorization(configuration: Any) -> str | None:
    # kubernetes-asyncio stores the whole header value ("Bearer x", "Basic y") under this key.
    value = configuration.api_key.get("BearerToken")
    return str(value) if value else None


def _ssl_context(
    *,
    ca_file: str | os.PathLike[str] | None = None,
    ca_data: bytes | str | None = None,
    cert_file: str | os.PathLike[str] | None = None,
    key_file: str | os.PathLike[str] | None = None,
    verify: bool = True,
) -> ssl.SSLContext:
    """A client TLS context trusting the given CA (or the system store), with a client cert."""
    if isinstance(ca_data, bytes):
        ca_data = ca_data.decode("ascii")
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH,
        cafile=os.fspath(ca_file) if ca_file else None,
        cadata=ca_data or None,
    )
    if cert_file:
        context.load_cert_chain(os.fspath(cert_file), os.fspath(key_file) if key_file else None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context

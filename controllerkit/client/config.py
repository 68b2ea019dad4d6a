"""How to reach an API server: its URL, credentials, TLS settings and timeouts.

```python
config = await ClientConfig.from_kubeconfig()                 # $KUBECONFIG or ~/.kube/config
config = await ClientConfig.from_kubeconfig(path, context="staging")
config = ClientConfig.in_cluster()                             # a pod's service account
config = ClientConfig.from_url("https://10.0.0.1:6443", token="...", ca_file="ca.crt")
config = await ClientConfig.load()                             # kubeconfig, else in-cluster
```

Kubeconfig files are read here (`kubeconfig.py`), merging `$KUBECONFIG` lists and resolving
relative paths as kubectl does; users authenticate with a token, a `tokenFile` (re-read), a
client certificate, username and password, or an exec plugin (`exec_credential.py`). Only a
legacy `auth-provider` user (gcp, azure, oidc) goes through kubernetes-asyncio's loader, which
is then imported. The result is owned here: a base URL, a `Credentials` source asked before
every request, an `ssl.SSLContext`, and timeouts. Nothing global is modified.
"""

from __future__ import annotations

import base64
import os
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .auth_provider import auth_provider_credentials
from .credentials import (
    DEFAULT_REFRESH_PERIOD,
    Clock,
    Credentials,
    LoaderCredentials,
    StaticCredentials,
    TokenFileCredentials,
)
from .exec_credential import ExecCredential, ExecPlugin
from .kubeconfig import KubeconfigContext, KubeconfigError, load_kubeconfig
from .tls import client_ssl_context, load_client_certificate

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
        """A server by URL, with an optional bearer token and CA (PEM file or PEM data, which
        wins when both are given).

        Without a CA, https servers are verified against the system trust store.
        """
        context = None
        if url.startswith("https://"):
            ca = ca_data.encode("ascii") if isinstance(ca_data, str) else ca_data
            context = client_ssl_context(
                ca=ca or ca_file,
                certificate=client_cert_file,
                key=client_key_file,
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
            context = client_ssl_context(ca=ca_path)
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

        `path` defaults to `$KUBECONFIG` (a list separated by `os.pathsep`, merged; missing
        files are skipped) or `~/.kube/config`. The user authenticates with the first of: an
        auth provider; `tokenFile` (re-read every `refresh_period` seconds and after a 401)
        or `token`; username and password; a client certificate; an exec plugin, run now and
        again when its credential is about to expire or after a 401. Raises `ConfigError`
        when no file exists, the context is unusable or the exec plugin fails.
        """
        paths = os.fspath(path) if path is not None else _default_kubeconfig_paths()
        existing = _existing_paths(paths)
        if not existing:
            raise ConfigError(f"no kubeconfig found at {paths}")
        where = f"kubeconfig {paths} (context {context or 'current'})"
        try:
            settings = load_kubeconfig(existing, context)
        except KubeconfigError as exc:
            raise ConfigError(f"{where} unusable: {exc}") from exc
        cluster, user = settings.cluster, settings.user
        ssl_context = None
        if cluster.server.startswith("https://"):
            try:
                ssl_context = client_ssl_context(
                    ca=cluster.certificate_authority,
                    certificate=user.client_certificate,
                    key=user.client_key,
                    verify=not cluster.insecure_skip_tls_verify,
                )
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                raise ConfigError(f"{where}: TLS settings unusable: {exc}") from exc
        try:
            credentials = await _kubeconfig_credentials(
                settings, existing, ssl_context, where=where, refresh_period=refresh_period
            )
        except KubeconfigError as exc:
            raise ConfigError(f"{where} unusable: {exc}") from exc
        return cls(
            cluster.server,
            credentials=credentials,
            ssl_context=ssl_context,
            tls_server_name=cluster.tls_server_name,
            proxy=cluster.proxy_url,
            namespace=settings.namespace,
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


async def _kubeconfig_credentials(
    settings: KubeconfigContext,
    paths: list[str],
    ssl_context: ssl.SSLContext | None,
    *,
    where: str,
    refresh_period: float,
) -> Credentials:
    """The credential source of the context's user, in client-go's order of precedence: an
    explicit token, password or certificate means the exec plugin is not run."""
    user = settings.user
    if user.auth_provider:
        return await auth_provider_credentials(paths, settings.name, refresh_period=refresh_period)
    if user.token_file:
        try:
            return TokenFileCredentials(user.token_file, refresh_period=refresh_period)
        except (OSError, ValueError) as exc:
            raise KubeconfigError(f"tokenFile of user {user.name!r} unusable: {exc}") from exc
    if user.token:
        return StaticCredentials.bearer(user.token)
    if user.username is not None and user.password is not None:
        basic = base64.b64encode(f"{user.username}:{user.password}".encode()).decode("ascii")
        return StaticCredentials(f"Basic {basic}")
    if user.exec is None or user.client_certificate:
        return StaticCredentials(None)
    plugin = ExecPlugin(user.exec, cluster=settings.cluster, renew_before=refresh_period)
    return await _exec_credentials(plugin, ssl_context, where=where, refresh_period=refresh_period)


async def _exec_credentials(
    plugin: ExecPlugin,
    ssl_context: ssl.SSLContext | None,
    *,
    where: str,
    refresh_period: float,
) -> LoaderCredentials:
    """Bearer tokens from `plugin`; a client certificate it returns is loaded into
    `ssl_context`, again whenever the plugin returns a new one."""

    def present(credential: ExecCredential) -> None:
        if ssl_context is None or credential.client_certificate is None:
            return
        try:
            load_client_certificate(
                ssl_context, credential.client_certificate, credential.client_key
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{where}: exec plugin's client certificate unusable: {exc}") from exc

    current = await plugin.credential()
    present(current)

    async def reload(force: bool) -> str | None:
        nonlocal current
        try:
            fresh = await plugin.credential(force=force)
        except KubeconfigError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        if fresh is not current:
            present(fresh)
            current = fresh
        return fresh.authorization

    return LoaderCredentials(reload, current.authorization, refresh_period=refresh_period)

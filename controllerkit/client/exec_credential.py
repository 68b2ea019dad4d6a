"""Credentials from a kubeconfig user's exec plugin (`client.authentication.k8s.io` v1, v1beta1).

The plugin runs as kubectl runs it: the configured command and args, the process environment
plus the configured `env`, and `KUBERNETES_EXEC_INFO` holding an ExecCredential whose spec says
the run is not interactive (and, with `provideClusterInfo`, describes the cluster). It prints
an ExecCredential whose status holds a bearer `token`, a client certificate
(`clientCertificateData` and `clientKeyData`, PEM), or both, and optionally an
`expirationTimestamp`.

A credential is reused until it is about to expire; one without an expiry is reused until
the server rejects it (then the caller asks with `force=True`), as client-go does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .credentials import Clock
from .kubeconfig import ClusterSettings, ExecConfig, KubeconfigError

EXEC_API_VERSIONS = frozenset(
    {"client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"}
)
INTERACTIVE_MODES = frozenset({"Never", "IfAvailable", "Always"})
# How much of a failed plugin's stderr an error message quotes (its end, where errors are).
_STDERR_QUOTED = 800


class ExecPluginError(KubeconfigError):
    """The plugin could not be started, failed, or printed something other than an
    ExecCredential; the message names the command."""


@dataclass(frozen=True, slots=True)
class ExecCredential:
    """What a plugin returned: a bearer token and/or a client certificate and key (PEM), and
    when they expire (seconds since the epoch; None: until rejected)."""

    token: str | None = None
    client_certificate: bytes | None = None
    client_key: bytes | None = None
    expires_at: float | None = None

    @property
    def authorization(self) -> str | None:
        """The `Authorization` header value for the token, or None without one."""
        return f"Bearer {self.token}" if self.token else None


class ExecPlugin:
    """One user's exec plugin and the credential it last returned.

    `renew_before` seconds before a credential's expiry it counts as expired, so a caller that
    checks only periodically never sends an expired one. `clock` is the wall clock (expiry
    timestamps are absolute). Raises `ExecPluginError` at construction for an API version
    that is not v1 or v1beta1, or for `interactiveMode: Always`: the plugin is run without a
    terminal (stdin is empty), so one that insists on asking cannot work.
    """

    def __init__(
        self,
        config: ExecConfig,
        *,
        cluster: ClusterSettings | None = None,
        renew_before: float = 0.0,
        clock: Clock = time.time,
    ) -> None:
        self._config = config
        self._renew_before = renew_before
        self._clock = clock
        self._cached: ExecCredential | None = None
        if config.api_version not in EXEC_API_VERSIONS:
            raise self._error(
                f"uses apiVersion {config.api_version!r}; supported: "
                + ", ".join(sorted(EXEC_API_VERSIONS))
            )
        if config.interactive_mode not in INTERACTIVE_MODES:
            raise self._error(f"has an unknown interactiveMode {config.interactive_mode!r}")
        if config.interactive_mode == "Always":
            raise self._error("needs a terminal (interactiveMode: Always) and runs without one")
        spec: dict[str, Any] = {"interactive": False}
        if config.provide_cluster_info and cluster is not None:
            spec["cluster"] = self._cluster_info(cluster)
        self._exec_info = json.dumps(
            {"apiVersion": config.api_version, "kind": "ExecCredential", "spec": spec}
        )

    async def credential(self, *, force: bool = False) -> ExecCredential:
        """The cached credential, or a fresh one when there is none, it is about to expire,
        or `force` is set (the server rejected it). Raises `ExecPluginError`."""
        cached = self._cached
        if cached is None or force or self._expiring(cached):
            cached = self._cached = await self.run()
        return cached

    async def run(self) -> ExecCredential:
        """Run the plugin once and parse what it printed. Raises `ExecPluginError`."""
        environment = {**os.environ, **self._config.env, "KUBERNETES_EXEC_INFO": self._exec_info}
        try:
            process = await asyncio.create_subprocess_exec(
                self._config.command,
                *self._config.args,
                env=environment,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            hint = f" ({self._config.install_hint.strip()})" if self._config.install_hint else ""
            raise self._error(f"could not be started: {exc}{hint}") from exc
        try:
            stdout, stderr = await process.communicate()
        except BaseException:
            # A cancelled refresh must not leave the plugin running on its own.
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            raise
        if process.returncode != 0:
            raise self._error(f"exited with status {process.returncode}{_quoted(stderr)}")
        return self._parse(stdout)

    def _parse(self, stdout: bytes) -> ExecCredential:
        # Output that is not an ExecCredential is described, never quoted: it may be a secret.
        try:
            document = json.loads(stdout)
        except ValueError:
            raise self._error(
                f"printed {len(stdout)} bytes that are not JSON, not an ExecCredential"
            ) from None
        if not isinstance(document, dict) or document.get("kind") != "ExecCredential":
            raise self._error("printed JSON that is not an ExecCredential")
        if document.get("apiVersion") != self._config.api_version:
            raise self._error(
                f"answered with apiVersion {document.get('apiVersion')!r}, "
                f"not the configured {self._config.api_version!r}"
            )
        status = document.get("status")
        if not isinstance(status, dict):
            raise self._error("printed an ExecCredential without a status")
        token = _optional_string(status.get("token"))
        certificate = _optional_string(status.get("clientCertificateData"))
        key = _optional_string(status.get("clientKeyData"))
        if token is None and certificate is None and key is None:
            raise self._error("printed an ExecCredential with neither a token nor a certificate")
        if (certificate is None) != (key is None):
            raise self._error(
                "printed only one of clientCertificateData and clientKeyData; both are needed"
            )
        return ExecCredential(
            token=token,
            client_certificate=certificate.encode("utf-8") if certificate else None,
            client_key=key.encode("utf-8") if key else None,
            expires_at=self._expiry(status.get("expirationTimestamp")),
        )

    def _expiry(self, value: Any) -> float | None:
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise self._error(
                f"printed an expirationTimestamp that is not RFC 3339: {value!r}"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()

    def _expiring(self, credential: ExecCredential) -> bool:
        if credential.expires_at is None:
            return False
        return self._clock() >= credential.expires_at - self._renew_before

    def _cluster_info(self, cluster: ClusterSettings) -> dict[str, Any]:
        info: dict[str, Any] = {"server": cluster.server}
        authority = cluster.certificate_authority
        if isinstance(authority, Path):
            try:
                authority = authority.read_bytes()
            except OSError as exc:
                raise self._error(f"cannot be given the cluster's CA: {exc}") from exc
        if authority:
            info["certificate-authority-data"] = base64.b64encode(authority).decode("ascii")
        if cluster.tls_server_name:
            info["tls-server-name"] = cluster.tls_server_name
        if cluster.insecure_skip_tls_verify:
            info["insecure-skip-tls-verify"] = True
        if cluster.proxy_url:
            info["proxy-url"] = cluster.proxy_url
        if cluster.exec_extension is not None:
            info["config"] = cluster.exec_extension
        return info

    def _error(self, problem: str) -> ExecPluginError:
        return ExecPluginError(f"exec plugin {self._config.command!r} {problem}")


def _optional_string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _quoted(stderr: bytes) -> str:
    text = stderr.decode("utf-8", errors="replace").strip()
    if not text:
        return ""
    if len(text) > _STDERR_QUOTED:
        text = "..." + text[-_STDERR_QUOTED:]
    return f": {text}"

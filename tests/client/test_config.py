"""Configuration from kubeconfig files, the in-cluster service account, or a URL; TLS; tokens."""

from __future__ import annotations

import base64
import socket
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.apiserver.kubeconfig import kubeconfig_document
from controllerkit.client import (
    ClientConfig,
    ConfigError,
    KubeClient,
    TokenFileCredentials,
    TransportError,
)
from controllerkit.errors import Forbidden, Unauthorized
from controllerkit.meta import CONFIG_MAP

from .kinds import configmap
from .kubeconfigs import TOKENS


@pytest.fixture
async def guarded_tls(tmp_path: Path) -> AsyncIterator[EmbeddedApiServer]:
    """A TLS server that accepts only the tokens in `TOKENS`."""
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(textwrap.dedent(TOKENS))
    async with EmbeddedApiServer(tls=True, tokens_file=tokens) as embedded:
        yield embedded


def write_yaml(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document))
    return path


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- kubeconfig ----------------------------------------------------------------------------------


async def test_kubeconfig_of_the_embedded_server_round_trips(server: EmbeddedApiServer) -> None:
    config = await ClientConfig.from_kubeconfig(server.kubeconfig_path)
    assert config.server == server.url
    assert config.namespace == "default"
    assert (await config.headers())["Authorization"] == f"Bearer {server.token}"
    async with KubeClient.from_kubeconfig(str(server.kubeconfig_path)) as kube:
        created = await kube.create(CONFIG_MAP, configmap("c"))
        assert (await kube.get(CONFIG_MAP, "c", namespace="default")) == created


async def test_kubeconfig_over_tls_trusts_the_embedded_ca(guarded_tls: EmbeddedApiServer) -> None:
    assert guarded_tls.url.startswith("https://")
    async with KubeClient.from_kubeconfig(str(guarded_tls.kubeconfig_path)) as kube:
        assert kube.config.ssl_context is not None
        await kube.create(CONFIG_MAP, configmap("over-tls"))
        assert (await kube.get(CONFIG_MAP, "over-tls", namespace="default"))["data"] == {}


async def test_kubeconfig_context_is_selected_by_name(
    server: EmbeddedApiServer, tmp_path: Path
) -> None:
    live = kubeconfig_document(server=server.url, token=server.token, context="live",
                               namespace="team-a")
    dead = kubeconfig_document(server=f"http://127.0.0.1:{unused_port()}", token="x",
                               context="dead")
    merged = {**dead, "clusters": dead["clusters"] + live["clusters"],
              "users": dead["users"] + live["users"],
              "contexts": dead["contexts"] + live["contexts"]}
    path = write_yaml(tmp_path / "config", merged)

    assert (await ClientConfig.from_kubeconfig(path)).server != server.url
    config = await ClientConfig.from_kubeconfig(path, context="live")
    assert (config.server, config.namespace) == (server.url, "team-a")
    async with KubeClient(config) as kube:
        assert (await kube.list(CONFIG_MAP)).resource_version


async def test_kubeconfig_defaults_to_the_kubeconfig_environment_list(
    server: EmbeddedApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "missing"
    monkeypatch.setenv("KUBECONFIG", f"{missing}:{server.kubeconfig_path}")
    config = await ClientConfig.from_kubeconfig()
    assert config.server == server.url
    assert (await ClientConfig.load()).server == server.url


async def test_missing_kubeconfig_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no kubeconfig"):
        await ClientConfig.from_kubeconfig(tmp_path / "absent")


async def test_unknown_context_is_a_config_error(server: EmbeddedApiServer) -> None:
    with pytest.raises(ConfigError, match="nope"):
        await ClientConfig.from_kubeconfig(server.kubeconfig_path, context="nope")


async def test_exec_plugin_supplies_the_token_and_reruns_after_a_401(
    guarded_tls: EmbeddedApiServer, tmp_path: Path
) -> None:
    current_token = tmp_path / "current-token"
    current_token.write_text("revoked-token")
    runs = tmp_path / "runs"
    plugin = (
        "import json, pathlib; "
        f"pathlib.Path({str(runs)!r}).open('a').write('run\\n'); "
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
        "'kind': 'ExecCredential', "
        f"'status': {{'token': pathlib.Path({str(current_token)!r}).read_text()}}}}))"
    )
    document = yaml.safe_load(guarded_tls.kubeconfig_path.read_text())
    document["users"][0]["user"] = {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": sys.executable, "args": ["-c", plugin], "interactiveMode": "Never",
    }}
    path = write_yaml(tmp_path / "exec-config", document)

    async with KubeClient.from_kubeconfig(str(path)) as kube:
        assert runs.read_text().count("run") == 1
        current_token.write_text("admin-token")  # the credential was rotated meanwhile
        await kube.create(CONFIG_MAP, configmap("via-exec"))
        assert kube.stats.requests["POST"] == 2  # 401, then the retry with the new token
    assert runs.read_text().count("run") == 2


def with_client_certificate(server: EmbeddedApiServer, tmp_path: Path, cert: Path,
                            key: Path) -> Path:
    document = yaml.safe_load(server.kubeconfig_path.read_text())
    document["users"][0]["user"] = {
        "token": "admin-token",
        "client-certificate-data": base64.b64encode(cert.read_bytes()).decode(),
        "client-key-data": base64.b64encode(key.read_bytes()).decode(),
    }
    return write_yaml(tmp_path / "cert-config", document)


async def test_kubeconfig_client_certificate_is_loaded(
    guarded_tls: EmbeddedApiServer, tmp_path: Path
) -> None:
    tls = guarded_tls.tls
    assert tls is not None
    path = with_client_certificate(guarded_tls, tmp_path, tls.server_cert_path,
                                   tls.server_key_path)
    async with KubeClient.from_kubeconfig(str(path)) as kube:
        await kube.create(CONFIG_MAP, configmap("with-cert"))


async def test_client_certificate_not_matching_its_key_is_a_config_error(
    guarded_tls: EmbeddedApiServer, tmp_path: Path
) -> None:
    tls = guarded_tls.tls
    assert tls is not None
    path = with_client_certificate(guarded_tls, tmp_path, tls.ca_cert_path,
                                   tls.server_key_path)
    with pytest.raises(ConfigError, match="TLS"):
        await ClientConfig.from_kubeconfig(path)


# -- explicit URL --------------------------------------------------------------------------------


async def test_url_with_token_and_ca_data(guarded_tls: EmbeddedApiServer) -> None:
    assert guarded_tls.tls is not None
    async with KubeClient.from_url(
        guarded_tls.url, token="admin-token", ca_data=guarded_tls.tls.ca_pem
    ) as kube:
        await kube.create(CONFIG_MAP, configmap("c"))


async def test_untrusted_server_certificate_is_a_transport_error(
    guarded_tls: EmbeddedApiServer,
) -> None:
    async with KubeClient.from_url(guarded_tls.url, token="admin-token") as kube:
        with pytest.raises(TransportError, match="certificate"):
            await kube.list(CONFIG_MAP)


async def test_insecure_skip_tls_verify_accepts_any_certificate(
    guarded_tls: EmbeddedApiServer,
) -> None:
    async with KubeClient.from_url(
        guarded_tls.url, token="admin-token", insecure_skip_tls_verify=True
    ) as kube:
        assert (await kube.list(CONFIG_MAP)).items == []


def test_url_without_a_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="http"):
        ClientConfig.from_url("localhost:6443")


# -- in-cluster ----------------------------------------------------------------------------------


def service_account(directory: Path, server: EmbeddedApiServer, token: str) -> Path:
    assert server.tls is not None
    directory.mkdir()
    (directory / "token").write_text(token)
    (directory / "ca.crt").write_bytes(server.tls.ca_pem)
    (directory / "namespace").write_text("team-a\n")
    return directory


async def test_in_cluster_uses_the_service_account_token_ca_and_namespace(
    guarded_tls: EmbeddedApiServer, tmp_path: Path
) -> None:
    account = service_account(tmp_path / "sa", guarded_tls, "admin-token")
    environ = {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
               "KUBERNETES_SERVICE_PORT": str(guarded_tls.port)}
    config = ClientConfig.in_cluster(environ=environ, service_account_dir=account)
    assert config.server == guarded_tls.url
    assert config.namespace == "team-a"
    async with KubeClient(config) as kube:
        await kube.create(CONFIG_MAP, configmap("in-pod"))


async def test_rotated_service_account_token_is_read_after_the_refresh_period(
    guarded_tls: EmbeddedApiServer, tmp_path: Path
) -> None:
    account = service_account(tmp_path / "sa", guarded_tls, "admin-token")
    now = [0.0]
    environ = {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
               "KUBERNETES_SERVICE_PORT": str(guarded_tls.port)}
    config = ClientConfig.in_cluster(environ=environ, service_account_dir=account,
                                     refresh_period=60.0, clock=lambda: now[0])
    async with KubeClient(config) as kube:
        await kube.create(CONFIG_MAP, configmap("as-admin"))
        (account / "token").write_text("reader-token")
        now[0] = 59.0
        await kube.create(CONFIG_MAP, configmap("still-admin"))
        now[0] = 60.0
        with pytest.raises(Forbidden):
            await kube.create(CONFIG_MAP, configmap("as-reader"))


async def test_token_file_is_reread_after_a_401(
    guarded_tls: EmbeddedApiServer, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("expired-token")
    credentials = TokenFileCredentials(token, clock=lambda: 0.0)
    assert guarded_tls.tls is not None
    base = ClientConfig.from_url(guarded_tls.url, ca_data=guarded_tls.tls.ca_pem)
    config = ClientConfig(base.server, credentials=credentials, ssl_context=base.ssl_context)
    async with KubeClient(config) as kube:
        token.write_text("admin-token")
        await kube.list(CONFIG_MAP)
        assert kube.stats.requests["GET"] == 2


async def test_401_with_an_unchanged_token_file_is_not_retried(
    guarded_tls: EmbeddedApiServer, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("unknown-token")
    assert guarded_tls.tls is not None
    base = ClientConfig.from_url(guarded_tls.url, ca_data=guarded_tls.tls.ca_pem)
    config = ClientConfig(base.server, credentials=TokenFileCredentials(token),
                          ssl_context=base.ssl_context)
    async with KubeClient(config) as kube:
        with pytest.raises(Unauthorized):
            await kube.list(CONFIG_MAP)
        assert kube.stats.requests["GET"] == 1


def test_in_cluster_outside_a_pod_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="KUBERNETES_SERVICE_HOST"):
        ClientConfig.in_cluster(environ={}, service_account_dir=tmp_path)


def test_in_cluster_without_a_token_is_a_config_error(tmp_path: Path) -> None:
    environ = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    with pytest.raises(ConfigError, match="token"):
        ClientConfig.in_cluster(environ=environ, service_account_dir=tmp_path)


async def test_load_without_kubeconfig_or_pod_names_both(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no kubeconfig.*KUBERNETES_SERVICE_HOST"):
        await ClientConfig.load(environ={"KUBECONFIG": str(tmp_path / "absent")})

"""Reading kubeconfigs: merged files, contexts, relative paths, TLS fields, static credentials.

Exec plugins have their own tests (test_exec_credential.py).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import ClientConfig, ConfigError, KubeClient, TransportError
from controllerkit.errors import Forbidden
from controllerkit.meta import CONFIG_MAP

from .kinds import configmap
from .kubeconfigs import (
    ca_data,
    context_entry,
    entry,
    write_document,
    write_kubeconfig,
)
from .mutual_tls import ClientCertificateFront

# -- merging and contexts ------------------------------------------------------------------------


def write_pair(tmp_path: Path) -> str:
    """Two files defining some names twice; the second one sets current-context."""
    first = write_document(tmp_path / "first", {
        "clusters": [entry("shared", "cluster", {"server": "http://first.example"})],
        "users": [entry("shared", "user", {"token": "first-token"})],
        "contexts": [context_entry("main", "shared", "shared", namespace="from-first")],
    })
    second = write_document(tmp_path / "second", {
        "clusters": [entry("shared", "cluster", {"server": "http://second.example"}),
                     entry("own", "cluster", {"server": "http://own.example"})],
        "users": [entry("shared", "user", {"token": "second-token"})],
        "contexts": [context_entry("main", "own", "shared", namespace="from-second"),
                     context_entry("other", "own", "shared")],
        "current-context": "main",
    })
    return os.pathsep.join([str(first), str(second)])


async def test_merged_files_keep_the_first_definition_of_each_name(tmp_path: Path) -> None:
    config = await ClientConfig.from_kubeconfig(write_pair(tmp_path))
    assert (config.server, config.namespace) == ("http://first.example", "from-first")
    assert (await config.headers())["Authorization"] == "Bearer first-token"


async def test_a_context_of_a_later_file_uses_entries_of_earlier_ones(tmp_path: Path) -> None:
    config = await ClientConfig.from_kubeconfig(write_pair(tmp_path), context="other")
    assert (config.server, config.namespace) == ("http://own.example", "default")
    assert (await config.headers())["Authorization"] == "Bearer first-token"


async def test_current_context_comes_from_the_first_file_that_sets_it(tmp_path: Path) -> None:
    documents = [
        {"clusters": [entry(name, "cluster", {"server": f"http://{name}.example"})],
         "users": [entry(name, "user", {})],
         "contexts": [context_entry(name, name, name)],
         "current-context": name}
        for name in ("alpha", "beta")
    ]
    paths = [write_document(tmp_path / str(i), d) for i, d in enumerate(documents)]
    config = await ClientConfig.from_kubeconfig(os.pathsep.join(map(str, paths[::-1])))
    assert config.server == "http://beta.example"


async def test_kubeconfig_list_from_the_environment_skips_missing_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(tmp_path / "absent"),
                                                      write_pair(tmp_path)]))
    assert (await ClientConfig.from_kubeconfig()).server == "http://first.example"


@pytest.mark.parametrize(("document", "message"), [
    ({"contexts": []}, "current-context is not set"),
    ({"current-context": "ghost"}, "context 'ghost' is not defined"),
    ({"contexts": [context_entry("c", "nowhere", "")], "current-context": "c"},
     "cluster 'nowhere' of context 'c' is not defined"),
    ({"clusters": [entry("k", "cluster", {"server": "http://k.example"})],
      "contexts": [context_entry("c", "k", "nobody")], "current-context": "c"},
     "user 'nobody' of context 'c' is not defined"),
    ({"clusters": [entry("k", "cluster", {})],
      "contexts": [context_entry("c", "k", "")], "current-context": "c"},
     "cluster 'k' has no server"),
    ({"clusters": [entry("k", "cluster", {"server": "http://k.example",
                                          "certificate-authority-data": "not base64!"})],
      "contexts": [context_entry("c", "k", "")], "current-context": "c"},
     "certificate-authority-data is not base64"),
])
async def test_unusable_context_is_a_config_error_saying_why(
    tmp_path: Path, document: dict[str, object], message: str
) -> None:
    path = write_document(tmp_path / "config", document)
    with pytest.raises(ConfigError, match=message):
        await ClientConfig.from_kubeconfig(path)


async def test_file_that_is_not_yaml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("clusters: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot be read"):
        await ClientConfig.from_kubeconfig(path)


# -- clusters ------------------------------------------------------------------------------------


async def test_relative_certificate_authority_is_relative_to_the_kubeconfig(
    guarded_tls: EmbeddedApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert guarded_tls.tls is not None
    (tmp_path / "home" / "certs").mkdir(parents=True)
    (tmp_path / "home" / "certs" / "ca.crt").write_bytes(guarded_tls.tls.ca_pem)
    path = write_kubeconfig(tmp_path / "home" / "config", user={"token": "admin-token"},
                            cluster={"server": guarded_tls.url,
                                     "certificate-authority": "certs/ca.crt"})
    monkeypatch.chdir(tmp_path)
    async with KubeClient(await ClientConfig.from_kubeconfig(path)) as kube:
        await kube.create(CONFIG_MAP, configmap("trusted-by-file"))


async def test_insecure_skip_tls_verify_accepts_an_unknown_ca(
    guarded_tls: EmbeddedApiServer, tmp_path: Path
) -> None:
    path = write_kubeconfig(tmp_path / "config", user={"token": "admin-token"},
                            cluster={"server": guarded_tls.url, "insecure-skip-tls-verify": True})
    async with KubeClient(await ClientConfig.from_kubeconfig(path)) as kube:
        assert (await kube.list(CONFIG_MAP)).items == []


@pytest.mark.parametrize(("name", "accepted"), [("localhost", True), ("elsewhere.test", False)])
async def test_tls_server_name_is_the_name_the_certificate_must_carry(
    guarded_tls: EmbeddedApiServer, tmp_path: Path, name: str, accepted: bool
) -> None:
    cluster = {"server": guarded_tls.url, "certificate-authority-data": ca_data(guarded_tls),
               "tls-server-name": name}
    path = write_kubeconfig(tmp_path / "config", cluster=cluster, user={"token": "admin-token"})
    config = await ClientConfig.from_kubeconfig(path)
    assert config.tls_server_name == name
    async with KubeClient(config) as kube:
        if accepted:
            await kube.list(CONFIG_MAP)
        else:
            with pytest.raises(TransportError, match="certificate"):
                await kube.list(CONFIG_MAP)


async def test_proxy_url_becomes_the_client_proxy(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "config", user={}, cluster={
        "server": "http://cluster.test", "proxy-url": "http://proxy.test:3128"})
    assert (await ClientConfig.from_kubeconfig(path)).proxy == "http://proxy.test:3128"


# -- users ---------------------------------------------------------------------------------------


async def test_client_certificate_files_are_relative_to_the_kubeconfig(
    front: ClientCertificateFront, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate, key = front.issue_client_certificate("from-files")
    (tmp_path / "home" / "certs").mkdir(parents=True)
    (tmp_path / "home" / "certs" / "client.crt").write_bytes(certificate)
    (tmp_path / "home" / "certs" / "client.key").write_bytes(key)
    path = write_kubeconfig(tmp_path / "home" / "config", cluster=front.cluster(), user={
        "client-certificate": "certs/client.crt", "client-key": "certs/client.key"})
    monkeypatch.chdir(tmp_path)
    async with KubeClient(await ClientConfig.from_kubeconfig(path)) as kube:
        await kube.list(CONFIG_MAP)
    assert front.client_names == ["from-files"]


async def test_client_certificate_data_leaves_no_key_file_behind(
    front: ClientCertificateFront, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate, key = front.issue_client_certificate("from-data")
    path = write_kubeconfig(tmp_path / "config", cluster=front.cluster(), user={
        "client-certificate-data": base64.b64encode(certificate).decode(),
        "client-key-data": base64.b64encode(key).decode()})
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    config = await ClientConfig.from_kubeconfig(path)
    assert list(private_tmp.iterdir()) == []
    async with KubeClient(config) as kube:
        await kube.list(CONFIG_MAP)
    assert front.client_names == ["from-data"]


async def test_token_file_is_reread_on_refresh(
    guarded_tls: EmbeddedApiServer, tmp_path: Path
) -> None:
    (tmp_path / "home").mkdir()
    token = tmp_path / "home" / "token"
    token.write_text("admin-token\n")
    path = write_kubeconfig(tmp_path / "home" / "config", user={"tokenFile": "token"}, cluster={
        "server": guarded_tls.url, "certificate-authority-data": ca_data(guarded_tls)})
    config = await ClientConfig.from_kubeconfig(path, refresh_period=0.0)
    async with KubeClient(config) as kube:
        await kube.create(CONFIG_MAP, configmap("as-admin"))
        token.write_text("reader-token\n")
        with pytest.raises(Forbidden):
            await kube.create(CONFIG_MAP, configmap("as-reader"))


async def test_missing_token_file_is_a_config_error(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "config", user={"tokenFile": "absent"},
                            cluster={"server": "http://cluster.test"})
    with pytest.raises(ConfigError, match="tokenFile"):
        await ClientConfig.from_kubeconfig(path)


async def test_username_and_password_are_sent_as_basic_authorization(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "config", cluster={"server": "http://cluster.test"},
                            user={"username": "alice", "password": "s3:cret"})
    config = await ClientConfig.from_kubeconfig(path)
    expected = "Basic " + base64.b64encode(b"alice:s3:cret").decode()
    assert (await config.headers())["Authorization"] == expected


async def test_auth_provider_user_is_served_by_kubernetes_asyncio(tmp_path: Path) -> None:
    # An unsigned JWT without `exp`: the oidc provider uses it as it is, without an issuer.
    payload = base64.urlsafe_b64encode(b'{"sub": "alice"}').decode().rstrip("=")
    id_token = f"e30.{payload}.signature"
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(textwrap.dedent(f"""
        identities:
          - {{name: alice, token: "{id_token}", groups: [system:masters]}}
    """))
    async with EmbeddedApiServer(tokens_file=tokens) as embedded:
        path = write_kubeconfig(tmp_path / "config", cluster={"server": embedded.url}, user={
            "auth-provider": {"name": "oidc", "config": {"id-token": id_token}}})
        async with KubeClient(await ClientConfig.from_kubeconfig(path)) as kube:
            await kube.create(CONFIG_MAP, configmap("via-oidc"))


# -- end to end ----------------------------------------------------------------------------------


async def test_embedded_server_kubeconfig_connects(server: EmbeddedApiServer) -> None:
    async with KubeClient(await ClientConfig.from_kubeconfig(server.kubeconfig_path)) as kube:
        created = await kube.create(CONFIG_MAP, configmap("plain"))
        assert (await kube.get(CONFIG_MAP, "plain", namespace="default")) == created


async def test_tls_server_kubeconfig_with_a_token_connects(
    guarded_tls: EmbeddedApiServer,
) -> None:
    config = await ClientConfig.from_kubeconfig(guarded_tls.kubeconfig_path)
    assert config.ssl_context is not None
    async with KubeClient(config) as kube:
        await kube.create(CONFIG_MAP, configmap("over-tls"))


def test_reading_a_token_kubeconfig_does_not_import_kubernetes_asyncio(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "config", cluster={"server": "http://cluster.test"},
                            user={"token": "t"}, namespace="team-a")
    program = textwrap.dedent("""
        import asyncio, sys
        import controllerkit.client.config as config
        loaded = asyncio.run(config.ClientConfig.from_kubeconfig(sys.argv[1]))
        print(loaded.server, loaded.namespace)
        print(sorted(name for name in sys.modules if name.startswith("kubernetes_asyncio")))
    """)
    result = subprocess.run([sys.executable, "-c", program, str(path)], capture_output=True,
                            text=True, timeout=120, check=True)
    assert result.stdout.splitlines() == ["http://cluster.test team-a", "[]"]

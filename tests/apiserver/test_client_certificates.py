"""Client-certificate authentication: CN is the user, O the groups, as on a real API server."""

from __future__ import annotations

import base64
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.apiserver.client_certificates import CertificateUser, certificate_user
from controllerkit.apiserver.kubeconfig import write_kubeconfig
from controllerkit.apiserver.tls import (
    ClientCertificate,
    generate_self_signed,
    issue_client_certificate,
)
from controllerkit.client import ClientConfig, KubeClient
from controllerkit.errors import Forbidden
from controllerkit.meta import CONFIG_MAP, NAMESPACE
from controllerkit.testing import Kubectl, KubectlError

from .http_api import CONFIGMAPS, assert_status, core_path, ok, rest_client
from .server_process import ServerProcess, controllerkit_command

TOKENS = """
identities:
  - name: admin
    token: "admin-secret"
    groups: [system:masters]
  - name: config-reader
    token: "reader-secret"
    rules:
      - {verbs: [get, list], apiGroups: [""], resources: [configmaps]}
"""


def _config_map(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


def _client_context(server: EmbeddedApiServer, certificate: ClientCertificate | None,
                    directory: Path) -> ssl.SSLContext:
    """Trusts the server's CA and, when given, presents `certificate`."""
    assert server.tls is not None
    context = ssl.create_default_context(cafile=str(server.tls.ca_cert_path))
    if certificate is not None:
        cert_path, key_path = directory / "client.crt", directory / "client.key"
        cert_path.write_bytes(certificate.certificate_pem)
        key_path.write_bytes(certificate.key_pem)
        context.load_cert_chain(cert_path, key_path)
    return context


def _subject(certificate_pem: bytes) -> tuple[str, list[str]]:
    subject = x509.load_pem_x509_certificate(certificate_pem).subject
    common_names = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    organizations = subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return str(common_names[0].value), [str(o.value) for o in organizations]


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[EmbeddedApiServer]:
    """A server with the tokens file above and client certificates on."""
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(TOKENS)
    async with EmbeddedApiServer(tokens_file=tokens, client_certificates=True) as server:
        yield server


def test_kubeconfig_out_carries_a_client_certificate_kubectl_accepts(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    with ServerProcess("--client-certs", "--kubeconfig-out", str(kubeconfig)) as server:
        assert server.url.startswith("https://")
        kubectl = Kubectl(kubeconfig, tmp_path / "cache")
        kubectl.run("create", "configmap", "from-kubectl")
        names = kubectl.run("get", "configmaps", "-o", "name").stdout.split()
    assert names == ["configmap/from-kubectl"]
    user = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]
    assert set(user) == {"client-certificate-data", "client-key-data"}
    certificate_pem = base64.b64decode(user["client-certificate-data"])
    assert _subject(certificate_pem) == ("admin", ["system:masters"])


async def test_kube_client_authenticates_with_the_kubeconfig_certificate(
    guarded: EmbeddedApiServer,
) -> None:
    user = yaml.safe_load(guarded.kubeconfig_path.read_text())["users"][0]["user"]
    assert "token" not in user  # only the certificate can have let the client in
    async with KubeClient.from_kubeconfig(guarded.kubeconfig_path) as client:
        await client.create(CONFIG_MAP, _config_map("from-client"), namespace="default")
        namespaces = await client.list(NAMESPACE)
    assert "default" in {ns["metadata"]["name"] for ns in namespaces.items}
    assert guarded.client_certificate is not None
    assert _subject(guarded.client_certificate.certificate_pem) == ("admin", ["system:masters"])


async def test_certificate_user_gets_the_rules_of_the_identity_of_that_name(
    guarded: EmbeddedApiServer, tmp_path: Path,
) -> None:
    assert guarded.tls is not None
    certificate = issue_client_certificate(guarded.tls, "config-reader", ["readers"])
    context = _client_context(guarded, certificate, tmp_path)
    async with rest_client(guarded.url, None, ssl_context=context) as api:
        ok(await api.get(CONFIGMAPS))
        denied = assert_status(await api.post(CONFIGMAPS, _config_map("c")), 403, "Forbidden")
    assert denied["message"] == (
        'configmaps is forbidden: User "config-reader" cannot create resource "configmaps" '
        'in API group "" in the namespace "default"')


async def test_kubectl_is_refused_as_the_certificate_user(
    guarded: EmbeddedApiServer, tmp_path: Path,
) -> None:
    assert guarded.tls is not None
    kubeconfig = write_kubeconfig(
        tmp_path / "reader.kubeconfig", server=guarded.url, token=None,
        ca_pem=guarded.tls.ca_pem,
        client_certificate=issue_client_certificate(guarded.tls, "config-reader"))
    kubectl = Kubectl(kubeconfig, tmp_path / "cache")
    assert (await kubectl.arun("get", "configmaps")).returncode == 0
    with pytest.raises(KubectlError) as refused:
        await kubectl.arun("create", "configmap", "c")
    assert 'User "config-reader" cannot create resource "configmaps"' in refused.value.stderr


async def test_certificate_in_system_masters_may_do_anything(
    guarded: EmbeddedApiServer, tmp_path: Path,
) -> None:
    assert guarded.tls is not None
    certificate = issue_client_certificate(guarded.tls, "kubeadm-admin", ["system:masters"])
    context = _client_context(guarded, certificate, tmp_path)
    async with rest_client(guarded.url, None, ssl_context=context) as api:
        ok(await api.post(CONFIGMAPS, _config_map("by-master")), 201)
        ok(await api.delete(core_path("configmaps", "by-master")))


async def test_certificate_user_unknown_to_the_tokens_file_has_no_access(
    guarded: EmbeddedApiServer, tmp_path: Path,
) -> None:
    assert guarded.tls is not None
    certificate = issue_client_certificate(guarded.tls, "stranger", ["team"])
    config = ClientConfig.from_url(
        guarded.url, ca_data=guarded.tls.ca_pem, client_cert_file=_written(certificate, tmp_path),
        client_key_file=tmp_path / "client.key")
    async with KubeClient(config) as client:
        with pytest.raises(Forbidden, match='User "stranger" cannot list resource "configmaps"'):
            await client.list(CONFIG_MAP, namespace="default")


async def test_certificate_wins_over_a_bearer_token(
    guarded: EmbeddedApiServer, tmp_path: Path,
) -> None:
    assert guarded.tls is not None
    certificate = issue_client_certificate(guarded.tls, "config-reader")
    context = _client_context(guarded, certificate, tmp_path)
    async with rest_client(guarded.url, "admin-secret", ssl_context=context) as api:
        assert_status(await api.post(CONFIGMAPS, _config_map("c")), 403, "Forbidden")


async def test_bearer_tokens_keep_working_next_to_client_certificates(
    guarded: EmbeddedApiServer, tmp_path: Path,
) -> None:
    context = _client_context(guarded, None, tmp_path)
    async with rest_client(guarded.url, "reader-secret", ssl_context=context) as api:
        ok(await api.get(CONFIGMAPS))
        assert_status(await api.post(CONFIGMAPS, _config_map("c")), 403, "Forbidden")
    async with rest_client(guarded.url, None, ssl_context=context) as anonymous:
        assert_status(await anonymous.get(CONFIGMAPS), 401, "Unauthorized")


async def test_certificate_from_an_untrusted_ca_fails_the_handshake(
    guarded: EmbeddedApiServer, tmp_path: Path,
) -> None:
    stranger_ca = generate_self_signed(tmp_path / "stranger-ca")
    certificate = issue_client_certificate(stranger_ca, "admin", ["system:masters"])
    context = _client_context(guarded, certificate, tmp_path)
    async with rest_client(guarded.url, None, ssl_context=context) as api:
        with pytest.raises((aiohttp.ClientError, ssl.SSLError, ConnectionError)):
            await api.get(CONFIGMAPS)


async def test_client_ca_file_trusts_certificates_of_another_ca(tmp_path: Path) -> None:
    external_ca = generate_self_signed(tmp_path / "external-ca")
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(TOKENS)
    async with EmbeddedApiServer(tokens_file=tokens,
                                 client_ca_file=external_ca.ca_cert_path) as server:
        assert server.tls is not None
        kubeconfig = write_kubeconfig(
            tmp_path / "external.kubeconfig", server=server.url, token=None,
            ca_pem=server.tls.ca_pem,
            client_certificate=issue_client_certificate(external_ca, "config-reader"))
        kubectl = Kubectl(kubeconfig, tmp_path / "cache")
        listed = await kubectl.arun("get", "configmaps", "-o", "name")
        refused = await kubectl.arun("create", "configmap", "c", check=False)
        # The server's own CA is still trusted: its kubeconfig keeps working.
        async with KubeClient.from_kubeconfig(server.kubeconfig_path) as client:
            await client.create(CONFIG_MAP, _config_map("own-ca"), namespace="default")
    assert listed.stdout == ""
    assert refused.returncode != 0
    assert 'User "config-reader" cannot create resource "configmaps"' in refused.stderr


def test_unreadable_client_ca_stops_the_server_with_a_message(tmp_path: Path) -> None:
    not_a_ca = tmp_path / "ca.pem"
    not_a_ca.write_text("not a certificate\n")
    proc = subprocess.run(
        [*controllerkit_command(), "apiserver", "--port", "0", "--client-ca", str(not_a_ca)],
        capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"controllerkit apiserver: {not_a_ca}: not a PEM CA")


def test_certificate_user_reads_common_name_and_organizations() -> None:
    subject = ((("organizationName", "system:masters"),), (("organizationName", "dev"),),
               (("commonName", "alice"),))
    assert certificate_user({"subject": subject}) == CertificateUser(
        "alice", ("system:masters", "dev"))
    without_name = ((("organizationName", "system:masters"),),)
    assert certificate_user({"subject": without_name}) is None
    assert certificate_user(None) is None


def _written(certificate: ClientCertificate, directory: Path) -> Path:
    (directory / "client.key").write_bytes(certificate.key_pem)
    path = directory / "client.crt"
    path.write_bytes(certificate.certificate_pem)
    return path

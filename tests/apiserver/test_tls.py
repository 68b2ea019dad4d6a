from __future__ import annotations

import asyncio
import base64
import json
import shutil
import ssl
import stat
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client import Configuration

from controllerkit.apiserver.kubeconfig import kubeconfig_document, write_kubeconfig
from controllerkit.apiserver.tls import TLSMaterial, generate_self_signed

KUBECTL = shutil.which("kubectl")


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        writer.write(await reader.readline())
        await writer.drain()
    finally:
        writer.close()


async def _handshake(material: TLSMaterial, client: ssl.SSLContext, server_hostname: str) -> bytes:
    """Serve `material` on loopback and send one line through a client TLS connection."""
    server = await asyncio.start_server(_echo, "127.0.0.1", 0, ssl=material.server_ssl_context())
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client, server_hostname=server_hostname
        )
        writer.write(b"ping\n")
        await writer.drain()
        answer = await reader.readline()
        writer.close()
        return answer
    finally:
        server.close()
        await server.wait_closed()


def _client_trusting(ca_path: Path) -> ssl.SSLContext:
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_path))


def _san(cert_path: Path) -> x509.SubjectAlternativeName:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


@pytest.fixture
def material(tmp_path: Path) -> TLSMaterial:
    return generate_self_signed(tmp_path / "tls")


@pytest.mark.parametrize("server_hostname", ["localhost", "127.0.0.1"])
async def test_client_trusting_only_the_ca_verifies_the_server(
    material: TLSMaterial, server_hostname: str
) -> None:
    client = _client_trusting(material.ca_cert_path)
    assert await _handshake(material, client, server_hostname) == b"ping\n"


async def test_hostname_outside_the_certificate_is_rejected(material: TLSMaterial) -> None:
    client = _client_trusting(material.ca_cert_path)
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        await _handshake(material, client, "example.org")


async def test_client_trusting_another_ca_rejects_the_server(
    material: TLSMaterial, tmp_path: Path
) -> None:
    other = generate_self_signed(tmp_path / "other")
    client = _client_trusting(other.ca_cert_path)
    with pytest.raises(ssl.SSLCertVerificationError):
        await _handshake(material, client, "localhost")


def test_certificates_carry_the_requested_names_and_keys_are_private(
    material: TLSMaterial,
) -> None:
    san = _san(material.server_cert_path)
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    ca = x509.load_pem_x509_certificate(material.ca_pem)
    assert ca.subject.rfc4514_string() == "CN=controllerkit-ca"
    ca_public_key = ca.public_key()
    assert isinstance(ca_public_key, ec.EllipticCurvePublicKey)
    assert ca_public_key.curve.name == "secp256r1"
    lifetime = ca.not_valid_after_utc - ca.not_valid_before_utc
    assert timedelta(days=365) <= lifetime < timedelta(days=366)
    assert material.ca_cert_path.read_bytes() == material.ca_pem
    for key_path in (material.server_key_path, material.ca_key_path):
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_restart_reuses_ca_and_server_certificate(material: TLSMaterial) -> None:
    server_cert = material.server_cert_path.read_bytes()
    again = generate_self_signed(material.ca_cert_path.parent)
    assert again == material
    assert again.server_cert_path.read_bytes() == server_cert


def test_new_host_reissues_server_certificate_from_same_ca(material: TLSMaterial) -> None:
    directory = material.ca_cert_path.parent
    again = generate_self_signed(directory, ["127.0.0.1", "api.internal"])
    assert again.ca_pem == material.ca_pem
    assert _san(again.server_cert_path).get_values_for_type(x509.DNSName) == ["api.internal"]


def test_expiring_server_certificate_is_reissued_from_same_ca(material: TLSMaterial) -> None:
    ca_key = serialization.load_pem_private_key(material.ca_key_path.read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca = x509.load_pem_x509_certificate(material.ca_pem)
    old = x509.load_pem_x509_certificate(material.server_cert_path.read_bytes())
    now = datetime.now(UTC)
    expiring = (
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(ca.subject)
        .public_key(old.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=360))
        .not_valid_after(now + timedelta(days=5))
        .add_extension(_san(material.server_cert_path), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    material.server_cert_path.write_bytes(expiring.public_bytes(serialization.Encoding.PEM))

    again = generate_self_signed(material.ca_cert_path.parent)

    renewed = x509.load_pem_x509_certificate(again.server_cert_path.read_bytes())
    assert again.ca_pem == material.ca_pem
    assert renewed.not_valid_after_utc > now + timedelta(days=300)


@pytest.mark.parametrize("damaged", ["ca.crt", "ca.key"])
def test_unreadable_ca_regenerates_everything(material: TLSMaterial, damaged: str) -> None:
    directory = material.ca_cert_path.parent
    (directory / damaged).write_bytes(b"not pem")
    again = generate_self_signed(directory)
    assert again.ca_pem != material.ca_pem
    server = x509.load_pem_x509_certificate(again.server_cert_path.read_bytes())
    server.verify_directly_issued_by(x509.load_pem_x509_certificate(again.ca_pem))


@pytest.mark.parametrize("hosts", [[], ["has space"], [""]])
def test_invalid_hosts_are_rejected(tmp_path: Path, hosts: list[str]) -> None:
    with pytest.raises(ValueError):
        generate_self_signed(tmp_path, hosts)


# kubeconfig


def test_kubeconfig_document_embeds_ca_and_token() -> None:
    document = kubeconfig_document(
        server="https://127.0.0.1:6443", token="t0k", ca_pem=b"PEM", namespace="team"
    )
    assert document["current-context"] == "controllerkit"
    assert document["clusters"][0]["cluster"] == {
        "server": "https://127.0.0.1:6443",
        "certificate-authority-data": base64.b64encode(b"PEM").decode(),
    }
    assert document["users"][0]["user"] == {"token": "t0k"}
    assert document["contexts"][0]["context"]["namespace"] == "team"


def test_kubeconfig_without_token_or_ca_has_bare_user_and_cluster() -> None:
    document = kubeconfig_document(server="http://127.0.0.1:8080", token=None)
    assert document["users"][0]["user"] == {}
    assert document["clusters"][0]["cluster"] == {"server": "http://127.0.0.1:8080"}


def test_kubeconfig_is_private_and_replaced_without_leftovers(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "kubeconfig"
    write_kubeconfig(path, server="http://127.0.0.1:1", token="old")
    written = write_kubeconfig(path, server="http://127.0.0.1:2", token="new")
    assert written == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["kubeconfig"]
    assert yaml.safe_load(path.read_text())["users"][0]["user"] == {"token": "new"}


async def test_kubernetes_asyncio_loads_the_kubeconfig(
    material: TLSMaterial, tmp_path: Path
) -> None:
    path = write_kubeconfig(
        tmp_path / "kubeconfig",
        server="https://127.0.0.1:6443",
        token="s3cret",
        ca_pem=material.ca_pem,
    )
    configuration = Configuration()
    await kube_config.load_kube_config(config_file=str(path), client_configuration=configuration)
    assert configuration.host == "https://127.0.0.1:6443"
    assert configuration.api_key["BearerToken"] == "Bearer s3cret"
    assert configuration.ssl_ca_cert is not None
    ca_file = Path(configuration.ssl_ca_cert)
    assert await asyncio.to_thread(ca_file.read_bytes) == material.ca_pem


async def test_kubernetes_asyncio_loads_a_kubeconfig_without_token(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", server="http://127.0.0.1:8080", token=None)
    configuration = Configuration()
    await kube_config.load_kube_config(config_file=str(path), client_configuration=configuration)
    assert configuration.host == "http://127.0.0.1:8080"
    assert not configuration.api_key


def _kubectl(*args: str) -> str:
    assert KUBECTL is not None, "kubectl must be on PATH"
    result = subprocess.run(
        [KUBECTL, *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_kubectl_reads_the_kubeconfig(material: TLSMaterial, tmp_path: Path) -> None:
    path = write_kubeconfig(
        tmp_path / "kubeconfig",
        server="https://127.0.0.1:6443",
        token="s3cret",
        ca_pem=material.ca_pem,
        namespace="team",
    )
    view = json.loads(_kubectl("config", "view", "--raw", "--kubeconfig", str(path), "-o", "json"))
    assert view["current-context"] == "controllerkit"
    cluster = view["clusters"][0]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:6443"
    assert base64.b64decode(cluster["certificate-authority-data"]) == material.ca_pem
    assert view["users"][0]["user"]["token"] == "s3cret"
    assert view["contexts"][0]["context"]["namespace"] == "team"


@pytest.fixture
async def version_server(material: TLSMaterial) -> AsyncIterator[tuple[int, list[str]]]:
    """An HTTPS server using the generated material that answers /version and records the
    Authorization headers it saw."""
    seen: list[str] = []

    async def version(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response({"major": "1", "minor": "32", "gitVersion": "v1.32.0"})

    app = web.Application()
    app.router.add_get("/version", version)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=material.server_ssl_context())
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port, seen
    finally:
        await runner.cleanup()


async def test_kubectl_verifies_the_server_through_the_kubeconfig(
    material: TLSMaterial, tmp_path: Path, version_server: tuple[int, list[str]]
) -> None:
    port, seen = version_server
    path = write_kubeconfig(
        tmp_path / "kubeconfig",
        server=f"https://127.0.0.1:{port}",
        token="s3cret",
        ca_pem=material.ca_pem,
    )
    assert KUBECTL is not None, "kubectl must be on PATH"
    process = await asyncio.create_subprocess_exec(
        KUBECTL,
        "--kubeconfig",
        str(path),
        "get",
        "--raw",
        "/version",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert json.loads(stdout)["gitVersion"] == "v1.32.0"
    # kubectl may probe /version itself before the request it was asked for.
    assert seen
    assert set(seen) == {"Bearer s3cret"}

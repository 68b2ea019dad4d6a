"""A TLS front that admits only clients presenting a certificate from its CA.

It forwards every admitted connection to a plain-http embedded API server, and records the
common name of each client certificate it saw, so a test can tell which certificate a client
presented.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from controllerkit.apiserver.tls import TLSMaterial, generate_self_signed


@dataclass
class ClientCertificateFront:
    url: str
    material: TLSMaterial
    client_names: list[str] = field(default_factory=list)

    def cluster(self) -> dict[str, str]:
        """The front as a kubeconfig cluster entry, trusting its CA."""
        ca = base64.b64encode(self.material.ca_pem).decode("ascii")
        return {"server": self.url, "certificate-authority-data": ca}

    def issue_client_certificate(self, common_name: str) -> tuple[bytes, bytes]:
        """A client certificate signed by the front's CA, and its key, both PEM."""
        ca_certificate = x509.load_pem_x509_certificate(self.material.ca_cert_path.read_bytes())
        ca_key = serialization.load_pem_private_key(
            self.material.ca_key_path.read_bytes(), password=None
        )
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return certificate.public_bytes(serialization.Encoding.PEM), key_pem


@asynccontextmanager
async def client_certificate_front(
    upstream_port: int, directory: Path
) -> AsyncIterator[ClientCertificateFront]:
    """Serve the front on a free loopback port until the block exits."""
    material = generate_self_signed(directory)
    context = material.server_ssl_context()
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=material.ca_cert_path)
    connections: set[asyncio.Task[None]] = set()

    async def admit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        try:
            peer = writer.get_extra_info("peercert") or {}
            front.client_names.extend(
                value for rdn in peer.get("subject", ()) for key, value in rdn
                if key == "commonName"
            )
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", upstream_port
            )
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            connections.discard(task)

    listener = await asyncio.start_server(admit, "127.0.0.1", 0, ssl=context)
    port = listener.sockets[0].getsockname()[1]
    front = ClientCertificateFront(f"https://127.0.0.1:{port}", material)
    try:
        yield front
    finally:
        listener.close()
        for task in list(connections):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*connections, return_exceptions=True)
        await listener.wait_closed()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except (ConnectionError, ssl.SSLError):
        pass  # either side hung up; the other direction ends on its own
    finally:
        sink.close()

"""Self-signed TLS material for `--tls`: a private CA and a server certificate it signs.

`generate_self_signed` keeps its files in one directory and reuses them across restarts, so
kubeconfigs written earlier (which embed the CA) keep working: the CA is replaced only when it
is missing, unreadable or close to expiry, and the server certificate is re-issued by the same
CA when it no longer covers the requested hosts or is close to expiry.

Files: `ca.crt`, `ca.key` (kept so the server certificate can be re-issued by the same CA),
`server.crt`, `server.key`. Keys are written with mode 0600.

`issue_client_certificate` signs client certificates with the same CA, for client-certificate
authentication: the subject's common name is the user, each organization one of its groups.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("127.0.0.1", "localhost", "::1")
CA_COMMON_NAME = "controllerkit-ca"
SERVER_COMMON_NAME = "controllerkit"

VALIDITY = timedelta(days=365)
# Certificates closer than this to expiry are replaced at start-up rather than reused, so a
# server restarted now does not stop working a few days later.
RENEW_BEFORE = timedelta(days=30)
# Tolerates clients whose clocks are slightly behind the server's.
BACKDATE = timedelta(minutes=5)

CA_CERT_FILE = "ca.crt"
CA_KEY_FILE = "ca.key"
SERVER_CERT_FILE = "server.crt"
SERVER_KEY_FILE = "server.key"

SubjectAltName = x509.DNSName | x509.IPAddress


@dataclass(frozen=True)
class TLSMaterial:
    """Where the CA and server certificate live, and the CA certificate clients must trust."""

    ca_cert_path: Path
    ca_key_path: Path
    server_cert_path: Path
    server_key_path: Path
    ca_pem: bytes

    def server_ssl_context(self, client_cas: Sequence[Path] = ()) -> ssl.SSLContext:
        """A TLS 1.2+ server context presenting the server certificate.

        Without `client_cas` no client certificate is asked for. With them, clients may present
        one: a certificate a CA in those PEM files signed (with the clientAuth usage, within
        its validity) is verified and becomes the connection's peer certificate; any other
        fails the handshake. Only these CAs are trusted for clients, never the system store.
        Raises OSError when a file cannot be read, ValueError naming it when it holds no
        PEM certificate.
        """
        # For CLIENT_AUTH the default context loads no system CAs; only `client_cas` go in.
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_cert_path, self.server_key_path)
        if client_cas:
            context.verify_mode = ssl.CERT_OPTIONAL
            for path in client_cas:
                pem = path.read_text(encoding="ascii", errors="replace")
                try:
                    context.load_verify_locations(cadata=pem)
                except ssl.SSLError as exc:
                    raise ValueError(f"{path}: not a PEM CA certificate: {exc}") from exc
        return context


@dataclass(frozen=True)
class ClientCertificate:
    """A client certificate and its private key, PEM, as a kubeconfig embeds them."""

    certificate_pem: bytes
    key_pem: bytes


@dataclass(frozen=True)
class _Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def generate_self_signed(directory: Path, hosts: Sequence[str] = DEFAULT_HOSTS) -> TLSMaterial:
    """Ensure `directory` holds a valid CA and a server certificate for `hosts`; return them.

    `hosts` are IP addresses (IPv4 or IPv6) or DNS names, each becoming a subjectAltName of the
    server certificate. Valid existing files are reused; anything missing, unreadable, not
    matching, expired or within `RENEW_BEFORE` of expiry is regenerated (EC P-256 keys,
    `VALIDITY` long). Raises ValueError when `hosts` is empty.
    """
    if not hosts:
        raise ValueError("a server certificate needs at least one host")
    alt_names = [_alt_name(host) for host in hosts]
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = datetime.now(UTC)
    ca_cert_path = directory / CA_CERT_FILE
    ca_key_path = directory / CA_KEY_FILE
    server_cert_path = directory / SERVER_CERT_FILE
    server_key_path = directory / SERVER_KEY_FILE

    ca = _load_valid_ca(ca_cert_path, ca_key_path, now)
    if ca is None:
        ca = _issue_ca(now)
        _write_key(ca_key_path, ca.key)
        write_atomically(ca_cert_path, _cert_pem(ca.certificate), 0o644)
    if not _server_is_reusable(server_cert_path, server_key_path, ca, alt_names, now):
        server = _issue_server(ca, alt_names, now)
        _write_key(server_key_path, server.key)
        write_atomically(server_cert_path, _cert_pem(server.certificate), 0o644)
    return TLSMaterial(
        ca_cert_path=ca_cert_path,
        ca_key_path=ca_key_path,
        server_cert_path=server_cert_path,
        server_key_path=server_key_path,
        ca_pem=_cert_pem(ca.certificate),
    )


def issue_client_certificate(
    material: TLSMaterial, user: str, groups: Sequence[str] = ()
) -> ClientCertificate:
    """A certificate signed by `material`'s CA that authenticates `user` in `groups`.

    The subject carries `user` as its common name and each group as an organization, in
    order, the way Kubernetes reads client certificates. EC P-256 key, extended key usage
    clientAuth, valid for `VALIDITY` but never past the CA. Raises ValueError when `user` is
    empty or the CA's files cannot be read.
    """
    if not user:
        raise ValueError("a client certificate needs a user name")
    ca = _load_pair(material.ca_cert_path, material.ca_key_path)
    if ca is None:
        raise ValueError(f"cannot read the CA in {material.ca_cert_path.parent}")
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        *(x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups),
        x509.NameAttribute(NameOID.COMMON_NAME, user),
    ])
    ca_key_id = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    certificate = (
        _builder(subject, ca.certificate.subject, key.public_key(), now,
                 not_after=min(now + VALIDITY, ca.certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id.value),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    return ClientCertificate(_cert_pem(certificate), _key_pem(key))


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` with `data` so readers see the old or the new file, never a partial one.

    The temporary file is created with `mode` from the start (never more permissive), flushed
    to disk, then renamed over `path`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def _alt_name(host: str) -> SubjectAltName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        if not host or any(ch.isspace() for ch in host):
            raise ValueError(f"not an IP address or DNS name: {host!r}") from None
        return x509.DNSName(host)


def _load_valid_ca(cert_path: Path, key_path: Path, now: datetime) -> _Issued | None:
    issued = _load_pair(cert_path, key_path)
    if issued is None or not _within_validity(issued.certificate, now):
        return None
    try:
        constraints = issued.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return None
    return issued if constraints.value.ca else None


def _server_is_reusable(
    cert_path: Path,
    key_path: Path,
    ca: _Issued,
    alt_names: Sequence[SubjectAltName],
    now: datetime,
) -> bool:
    server = _load_pair(cert_path, key_path)
    if server is None or not _within_validity(server.certificate, now):
        return False
    try:
        server.certificate.verify_directly_issued_by(ca.certificate)
        san = server.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    return all(name in san.value for name in alt_names)


def _load_pair(cert_path: Path, key_path: Path) -> _Issued | None:
    """The certificate and its EC private key, or None if either is missing, unreadable or
    they do not belong together."""
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if _public_der(key.public_key()) != _public_der(certificate.public_key()):
        return None
    return _Issued(certificate, key)


def _within_validity(certificate: x509.Certificate, now: datetime) -> bool:
    return certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc - RENEW_BEFORE


def _issue_ca(now: datetime) -> _Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME)])
    certificate = (
        _builder(name, name, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            _key_usage(digital_signature=True, key_cert_sign=True, crl_sign=True), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    return _Issued(certificate, key)


def _issue_server(ca: _Issued, alt_names: Sequence[SubjectAltName], now: datetime) -> _Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_COMMON_NAME)])
    ca_key_id = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    certificate = (
        _builder(subject, ca.certificate.subject, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(list(alt_names)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id.value),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    return _Issued(certificate, key)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime,
    not_after: datetime | None = None,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after or now + VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(
    *, digital_signature: bool = False, key_cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    write_atomically(path, _key_pem(key), 0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _public_der(public_key: object) -> bytes:
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return b""
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

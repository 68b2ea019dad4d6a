"""Client TLS for API servers: the CA to trust and the client certificate to present.

Certificates and keys are given as PEM files (a path) or as PEM bytes. Python's `ssl` module
loads a client certificate chain only from files, so PEM bytes are written to files of mode
0600 inside a private temporary directory (mode 0700) and removed as soon as the context has
loaded them: no key outlives the call on disk.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from pathlib import Path

# A path to a PEM file, or the PEM itself.
PemSource = str | os.PathLike[str] | bytes


def client_ssl_context(
    *,
    ca: PemSource | None = None,
    certificate: PemSource | None = None,
    key: PemSource | None = None,
    verify: bool = True,
) -> ssl.SSLContext:
    """A client context trusting `ca` (or the system store when None), presenting `certificate`.

    `verify=False` accepts any server certificate and name (`insecure-skip-tls-verify`).
    Raises `ssl.SSLError` or `OSError` for unreadable or mismatched material, `ValueError`
    for PEM that is not ASCII.
    """
    if isinstance(ca, bytes):
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca.decode("ascii"))
    else:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=os.fspath(ca) if ca else None
        )
    if certificate:
        load_client_certificate(context, certificate, key)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def load_client_certificate(
    context: ssl.SSLContext, certificate: PemSource, key: PemSource | None
) -> None:
    """Make `context` present `certificate` (and `key`; None: the key is in the certificate).

    Replaces any certificate loaded before; connections opened afterwards present the new one.
    """
    with tempfile.TemporaryDirectory(prefix="controllerkit-tls-") as private:
        certificate_file = _as_file(certificate, Path(private) / "client.crt")
        key_file = None if key is None else _as_file(key, Path(private) / "client.key")
        context.load_cert_chain(certificate_file, key_file)


def _as_file(source: PemSource, path: Path) -> str:
    if not isinstance(source, bytes):
        return os.fspath(source)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(source)
    return str(path)

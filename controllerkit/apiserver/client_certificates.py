"""Who a verified TLS client certificate names, read the way Kubernetes reads it.

The subject's common name (CN) is the user name and each organization (O) one of the user's
groups, so `/O=system:masters/CN=admin` is user `admin` in group `system:masters`. A
certificate without a common name authenticates nobody (the request falls back to its bearer
token), as on a real API server.

The TLS layer has already verified the certificate against the trusted client CAs (see
`TLSMaterial.server_ssl_context`); this module only reads the subject of what it accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_COMMON_NAME = "commonName"
_ORGANIZATION = "organizationName"


@dataclass(frozen=True)
class CertificateUser:
    """The user and groups a client certificate's subject names."""

    name: str
    groups: tuple[str, ...] = ()


def certificate_user(peer_certificate: Mapping[str, Any] | None) -> CertificateUser | None:
    """The user of a verified peer certificate (`ssl.SSLSocket.getpeercert()`'s dict), or
    None when there is none or its subject has no common name.

    With several common names the last one counts, as Go's certificate parser keeps it;
    organizations keep their order.
    """
    if not peer_certificate:
        return None
    names: list[str] = []
    groups: list[str] = []
    for relative_name in peer_certificate.get("subject", ()):
        for attribute, value in relative_name:
            if attribute == _COMMON_NAME:
                names.append(value)
            elif attribute == _ORGANIZATION:
                groups.append(value)
    if not names or not names[-1]:
        return None
    return CertificateUser(names[-1], tuple(groups))

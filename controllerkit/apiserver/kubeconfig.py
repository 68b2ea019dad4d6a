"""A kubeconfig that points kubectl and Kubernetes clients at the embedded server.

The file has one cluster, one user and one context, all named after the context, and selects
that context, so `kubectl --kubeconfig PATH ...` and `load_kube_config(config_file=PATH)` work
without further flags.
"""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from controllerkit.apiserver.resources import JSONObject
from controllerkit.apiserver.tls import ClientCertificate, write_atomically


def kubeconfig_document(
    *,
    server: str,
    token: str | None,
    ca_pem: bytes | None = None,
    client_certificate: ClientCertificate | None = None,
    namespace: str = "default",
    context: str = "controllerkit",
) -> JSONObject:
    """The kubeconfig as a dict: `server` URL, bearer `token` (omitted when None), the CA
    certificate (PEM) clients should trust (omitted when None), the client certificate and
    key to authenticate with (omitted when None) and the default `namespace`."""
    cluster: JSONObject = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = _base64(ca_pem)
    user: JSONObject = {} if token is None else {"token": token}
    if client_certificate is not None:
        user["client-certificate-data"] = _base64(client_certificate.certificate_pem)
        user["client-key-data"] = _base64(client_certificate.key_pem)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": context, "user": user}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": context, "user": context, "namespace": namespace},
            }
        ],
        "current-context": context,
    }


def write_kubeconfig(
    path: Path,
    *,
    server: str,
    token: str | None,
    ca_pem: bytes | None = None,
    client_certificate: ClientCertificate | None = None,
    namespace: str = "default",
    context: str = "controllerkit",
) -> Path:
    """Write the kubeconfig described by `kubeconfig_document` to `path` and return `path`.

    The file is replaced atomically (readers never see a partial file) and has mode 0600,
    since it holds a credential. Parent directories are created as needed.
    """
    document = kubeconfig_document(
        server=server, token=token, ca_pem=ca_pem, client_certificate=client_certificate,
        namespace=namespace, context=context,
    )
    text = yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
    write_atomically(path, text.encode("utf-8"), 0o600)
    return path


def _base64(pem: bytes) -> str:
    return base64.b64encode(pem).decode("ascii")

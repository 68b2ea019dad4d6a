"""Secret `data` and ConfigMap `binaryData`: base64 read the way Go reads it, stored canonical.

The expected answers below are what a kube-apiserver (v1.20.2) gave for the same values.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from controllerkit.apiserver import EmbeddedApiServer, ThreadedApiServer
from controllerkit.testing import Kubectl

from .http_api import CONFIGMAPS, RestClient, assert_status, core_path, ok, rest_client

SECRETS = core_path("secrets")

# value sent -> value stored
ACCEPTED = [
    ("YWJj\r\nZGVm", "YWJjZGVm"),
    ("YWJj\rZGVm", "YWJjZGVm"),
    ("\nYWJj", "YWJj"),
    ("YWJj\n\n\n", "YWJj"),
    ("YWJjZA=\n=", "YWJjZA=="),
    ("YQ=\n=\n", "YQ=="),
    ("YWJ=", "YWI="),
    ("\n", ""),
    ("", ""),
]
# value sent -> offset Go's decoder reports
REFUSED = [
    (" YWJj", 0),
    ("YW Jj", 2),
    ("YWJj\tZGVm", 4),
    ("YWJjZA", 4),
    ("-_-_", 0),
    ("YQ==YWJj", 4),
    ("YQ=", 3),
    ("YQ=a", 2),
    ("YQ=\n", 4),
    ("YQ==\n\nx", 6),
    ("YWJj=", 4),
    ("é", 0),
]


@pytest.fixture
async def api() -> AsyncIterator[RestClient]:
    async with EmbeddedApiServer() as server, rest_client(server.url) as client:
        yield client


@pytest.fixture
def threaded() -> Iterator[ThreadedApiServer]:
    with ThreadedApiServer() as server:
        yield server


def _secret(value: str, name: str = "s") -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "data": {"k": value}}


def _wrapped(data: bytes, width: int = 64) -> str:
    """`data` in base64 broken into lines, as a YAML `|` block holds it."""
    encoded = base64.b64encode(data).decode()
    return "\n".join(encoded[i:i + width] for i in range(0, len(encoded), width)) + "\n"


@pytest.mark.parametrize(("sent", "stored"), ACCEPTED)
async def test_secret_data_with_line_breaks_is_stored_without_them(
    api: RestClient, sent: str, stored: str,
) -> None:
    created = ok(await api.post(SECRETS, _secret(sent)), 201)
    assert created["data"] == {"k": stored}
    assert ok(await api.get(core_path("secrets", "s")))["data"] == {"k": stored}


@pytest.mark.parametrize(("sent", "offset"), REFUSED)
async def test_secret_data_that_is_not_base64_is_a_bad_request(
    api: RestClient, sent: str, offset: int,
) -> None:
    status = assert_status(await api.post(SECRETS, _secret(sent)), 400, "BadRequest")
    assert status["message"] == (
        'Secret in version "v1" cannot be handled as a Secret: v1.Secret.Data: decode base64: '
        f"illegal base64 data at input byte {offset}")


async def test_configmap_binary_data_is_read_the_same_way(api: RestClient) -> None:
    payload = bytes(range(256))
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bin"},
                  "binaryData": {"blob": _wrapped(payload)}}
    created = ok(await api.post(CONFIGMAPS, config_map), 201)
    assert base64.b64decode(created["binaryData"]["blob"], validate=True) == payload
    config_map["binaryData"] = {"blob": "YW Jj"}
    status = assert_status(await api.put(core_path("configmaps", "bin"), config_map), 400,
                           "BadRequest")
    assert status["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: v1.ConfigMap.BinaryData: '
        "decode base64: illegal base64 data at input byte 2")


async def test_patched_data_is_stored_canonical_and_an_unchanged_value_is_a_no_op(
    api: RestClient,
) -> None:
    created = ok(await api.post(SECRETS, _secret("YWJj")), 201)
    same = ok(await api.patch(core_path("secrets", "s"), {"data": {"k": "YW\nJj\n"}}))
    assert same["data"] == {"k": "YWJj"}
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    changed = ok(await api.patch(core_path("secrets", "s"), {"data": {"k": "ZGVm\nZ2hp"}}))
    assert changed["data"] == {"k": "ZGVmZ2hp"}


def test_kubectl_applies_the_tls_secret_of_a_yaml_block(
    threaded: ThreadedApiServer, tmp_path: Path,
) -> None:
    certificate = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bytes(range(256)) * 3) \
        + b"-----END CERTIFICATE-----\n"
    block = "".join(f"    {line}\n" for line in _wrapped(certificate, 76).splitlines())
    manifest = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-tls\n"
                "type: kubernetes.io/tls\ndata:\n  tls.crt: |\n" + block
                + "  tls.key: |\n    " + _wrapped(b"key").strip() + "\n")
    kubectl = Kubectl(threaded.kubeconfig_path, tmp_path / "cache")
    assert "created" in kubectl.apply(manifest)
    stored = kubectl.json("get", "secret", "secret-tls")["data"]
    assert stored["tls.crt"] == base64.b64encode(certificate).decode()
    assert base64.b64decode(stored["tls.key"]) == b"key"

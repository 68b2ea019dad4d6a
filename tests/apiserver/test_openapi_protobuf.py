"""`/openapi/v2` as protobuf, the only form kubectl reads it in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controllerkit.apiserver import EmbeddedApiServer, ThreadedApiServer
from controllerkit.apiserver.openapi_protobuf import (
    OPENAPI_V2_PROTOBUF,
    encode_swagger_document,
    negotiate_v2_encoding,
)
from controllerkit.apiserver.protobuf_wire import LENGTH_DELIMITED, iter_fields
from controllerkit.testing import Kubectl

from .http_api import rest_client
from .manifests import widget_crd


@pytest.fixture
def threaded() -> Iterator[ThreadedApiServer]:
    with ThreadedApiServer() as server:
        yield server


# -- a reader for the parts of gnostic's messages the tests look at -------------------------


def _messages(data: bytes, number: int) -> list[bytes]:
    return [f.value for f in iter_fields(data)
            if f.number == number and f.wire_type == LENGTH_DELIMITED
            and isinstance(f.value, bytes)]


def _text(data: bytes, number: int) -> str:
    values = _messages(data, number)
    return values[-1].decode() if values else ""


def _named(data: bytes, number: int) -> dict[str, bytes]:
    """A repeated `Named<T>` field as {name: value message}."""
    return {_text(pair, 1): (_messages(pair, 2) or [b""])[0] for pair in _messages(data, number)}


def _extensions(data: bytes, number: int) -> dict[str, Any]:
    """Vendor extensions (`NamedAny`): their `Any.yaml` text, parsed."""
    return {name: yaml.safe_load(_text(value, 2)) for name, value in _named(data, number).items()}


def _query_parameter_names(operation: bytes) -> list[str]:
    names = []
    for item in _messages(operation, 8):  # Operation.parameters: ParametersItem
        for parameter in _messages(item, 1):  # ParametersItem.parameter
            for non_body in _messages(parameter, 2):  # Parameter.non_body_parameter
                for query in _messages(non_body, 3):  # NonBodyParameter.query_...
                    names.append(_text(query, 4))  # QueryParameterSubSchema.name
    return names


# -- the document ---------------------------------------------------------------------------


async def test_protobuf_request_gets_the_document_kubectl_looks_up_field_validation_in() -> None:
    async with EmbeddedApiServer() as server, rest_client(server.url) as api:
        reply = await api.session.get(server.url + "/openapi/v2",
                                      headers={"Accept": OPENAPI_V2_PROTOBUF})
        body = await reply.read()
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/octet-stream"
    assert _text(body, 1) == "2.0"
    paths = _named(_messages(body, 8)[0], 2)  # Document.paths -> Paths.path
    patch = _messages(paths["/api/v1/namespaces/{name}"], 8)[0]  # PathItem.patch
    assert _extensions(patch, 13)["x-kubernetes-group-version-kind"] == {
        "group": "", "kind": "Namespace", "version": "v1"}
    assert "fieldValidation" in _query_parameter_names(patch)


def test_definitions_keep_properties_types_and_extensions() -> None:
    document = {
        "swagger": "2.0",
        "definitions": {"com.example.v1.Widget": {
            "type": "object",
            "required": ["spec"],
            "properties": {
                "spec": {"type": "object", "properties": {
                    "size": {"type": "integer", "format": "int32", "minimum": 1,
                             "default": 3},
                    "tags": {"type": "array", "items": {"type": "string"},
                             "x-kubernetes-list-type": "set"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                }},
            },
            "x-kubernetes-group-version-kind": [
                {"group": "example.com", "kind": "Widget", "version": "v1"}],
        }},
    }
    encoded = encode_swagger_document(document)
    definitions = _named(_messages(encoded, 9)[0], 1)
    widget = definitions["com.example.v1.Widget"]
    assert _text(_messages(widget, 22)[0], 1) == "object"  # Schema.type: TypeItem
    assert [f.value for f in iter_fields(widget) if f.number == 19] == [b"spec"]
    assert _extensions(widget, 31)["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "kind": "Widget", "version": "v1"}]
    spec = _named(_messages(widget, 25)[0], 1)["spec"]
    fields = _named(_messages(spec, 25)[0], 1)
    size = fields["size"]
    assert _text(size, 2) == "int32"
    assert yaml.safe_load(_text(_messages(size, 5)[0], 2)) == 3  # default: Any.yaml
    minimum = next(f.value for f in iter_fields(size) if f.number == 9)
    assert minimum == 0x3FF0000000000000  # 1.0 as a little-endian double
    tags = fields["tags"]
    item = _messages(_messages(tags, 23)[0], 1)[0]  # ItemsItem.schema
    assert _text(_messages(item, 22)[0], 1) == "string"
    assert _extensions(tags, 31) == {"x-kubernetes-list-type": "set"}
    additional = _messages(_messages(fields["labels"], 21)[0], 1)[0]
    assert _text(_messages(additional, 22)[0], 1) == "string"


@pytest.mark.parametrize(("accept", "expected"), [
    (OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF),
    ("application/json", "application/json"),
    ("", "application/json"),
    ("*/*", "application/json"),
    (f"application/json;q=0.5, {OPENAPI_V2_PROTOBUF}", OPENAPI_V2_PROTOBUF),
    (f"*/*, {OPENAPI_V2_PROTOBUF}", OPENAPI_V2_PROTOBUF),
    ("text/html", None),
])
def test_accept_header_picks_the_encoding(accept: str, expected: str | None) -> None:
    assert negotiate_v2_encoding(accept) == expected


async def test_unacceptable_media_type_gets_406() -> None:
    async with EmbeddedApiServer() as server, rest_client(server.url) as api:
        reply = await api.session.get(server.url + "/openapi/v2",
                                      headers={"Accept": "text/html"})
    assert reply.status == 406


# -- kubectl ----------------------------------------------------------------------------------


def test_kubectl_apply_of_an_unknown_kind_says_no_matches(
    threaded: ThreadedApiServer, tmp_path: Path,
) -> None:
    kubectl = Kubectl(threaded.kubeconfig_path, tmp_path / "cache")
    manifest = {"apiVersion": "example.com/v1", "kind": "Gadget",
                "metadata": {"name": "g1"}, "spec": {}}
    proc = kubectl.run("apply", "-f", "-", input=yaml.safe_dump(manifest), check=False)
    assert proc.returncode == 1
    assert 'no matches for kind "Gadget" in version "example.com/v1"' in proc.stderr
    assert "proto" not in proc.stderr


def test_kubectl_client_side_apply_of_a_kind_with_an_undescribed_spec_still_patches(
    threaded: ThreadedApiServer, tmp_path: Path,
) -> None:
    # kubectl derives the patch of a built-in kind from the v2 schema when the v3 one fails,
    # and crashes descending into a field whose structure the schema does not describe.
    kubectl = Kubectl(threaded.kubeconfig_path, tmp_path / "cache")
    labels = {"app": "web"}
    deployment: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": dict(labels)},
            "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}},
    }
    kubectl.apply(deployment)
    deployment["spec"]["template"]["metadata"]["labels"]["tier"] = "front"
    assert "configured" in kubectl.apply(deployment)
    stored = kubectl.json("get", "deployment", "web")
    assert stored["spec"]["template"]["metadata"]["labels"] == {"app": "web", "tier": "front"}


def test_kubectl_explain_reads_fields_from_the_v2_document(
    threaded: ThreadedApiServer, tmp_path: Path,
) -> None:
    kubectl = Kubectl(threaded.kubeconfig_path, tmp_path / "cache")
    kubectl.apply(widget_crd())
    kubectl.run("wait", "--for=condition=Established", "crd/widgets.example.com")
    spec = kubectl.run("explain", "widgets.spec", "--output", "plaintext-openapiv2").stdout
    assert "size\t<integer> -required-" in spec
    assert "labels\t<map[string]string>" in spec
    labels = kubectl.run("explain", "configmap.metadata.labels",
                         "--output", "plaintext-openapiv2").stdout
    assert "FIELD:    labels <map[string]string>" in labels

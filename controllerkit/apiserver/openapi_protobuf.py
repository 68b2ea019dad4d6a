"""The swagger 2.0 document as protobuf: gnostic's `openapi.v2.Document` message.

kubectl reads `/openapi/v2` only as protobuf (`Accept:
application/com.github.proto-openapi.spec.v2@v1.0+protobuf`), and only parses it: for
client-side validation of kinds the server does not validate itself (every kind it cannot
find, so `kubectl apply` of an unknown kind needs it before it can say `no matches for kind`)
and for client-side apply's patches. A JSON answer there fails with `proto: cannot parse
invalid wire-format data`.

Field numbers are those of gnostic's `OpenAPIv2.proto`, which the real server marshals. Free
values (vendor extensions, `default`, `example`, `enum` items) travel as `Any.yaml` text; they
are written as JSON, which YAML parsers read as the same value. Keys the message has no field
for are left out, as a `null` or a zero value would be. Encoding is proto3's: zero scalars
are omitted, fields go in field-number order, vendor extensions last, in document order.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["OPENAPI_V2_PROTOBUF", "encode_swagger_document", "negotiate_v2_encoding"]

OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

_VARINT = 0
_FIXED64 = 1
_LENGTH_DELIMITED = 2

# (field number, value) -> the field's bytes, or b"" when proto3 omits it.
FieldEncoder = Callable[[int, Any], bytes]


def encode_swagger_document(document: Mapping[str, Any]) -> bytes:
    """The `openapi.v2.Document` message of a swagger 2.0 document given as parsed JSON."""
    return _DOCUMENT.encode(document)


# -- the wire format -----------------------------------------------------------------------


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 values take ten bytes, two's complement
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _tag(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _delimited(number: int, payload: bytes) -> bytes:
    return _tag(number, _LENGTH_DELIMITED) + _varint(len(payload)) + payload


# -- scalar fields ---------------------------------------------------------------------------


def _string(number: int, value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        return b""
    return _delimited(number, value.encode("utf-8"))


def _strings(number: int, value: Any) -> bytes:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        return b""
    return b"".join(_delimited(number, item.encode("utf-8"))
                    for item in items if isinstance(item, str))


def _bool(number: int, value: Any) -> bytes:
    return _tag(number, _VARINT) + b"\x01" if value is True else b""


def _int64(number: int, value: Any) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int) or value == 0:
        return b""
    return _tag(number, _VARINT) + _varint(value)


def _double(number: int, value: Any) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int | float) or value == 0:
        return b""
    return _tag(number, _FIXED64) + struct.pack("<d", float(value))


def _any(number: int, value: Any) -> bytes:
    """gnostic's `Any`: the value as YAML text in field 2 (`yaml`)."""
    text = json.dumps(value, ensure_ascii=False)
    return _delimited(number, _delimited(2, text.encode("utf-8")))


def _anys(number: int, value: Any) -> bytes:
    return b"".join(_any(number, item) for item in value) if isinstance(value, list) else b""


# -- messages --------------------------------------------------------------------------------


class _Message:
    """How one message's JSON object maps to its fields; `vendor` is the field number of its
    `repeated NamedAny vendor_extension` (for `x-` keys), if it has one."""

    def __init__(self, fields: Mapping[str, tuple[int, FieldEncoder]],
                 vendor: int | None = None) -> None:
        self._fields = sorted(fields.items(), key=lambda item: item[1][0])
        self._vendor = vendor

    def encode(self, value: Mapping[str, Any]) -> bytes:
        out = bytearray()
        for key, (number, field) in self._fields:
            if key in value and value[key] is not None:
                out += field(number, value[key])
        if self._vendor is not None:
            for key, item in value.items():
                if key.startswith("x-"):
                    out += _delimited(self._vendor, _string(1, key) + _any(2, item))
        return bytes(out)

    def field(self, number: int, value: Any) -> bytes:
        """This message as a field of another one (present even when empty)."""
        return _delimited(number, self.encode(value)) if isinstance(value, Mapping) else b""

    def repeated(self, number: int, value: Any) -> bytes:
        if not isinstance(value, list):
            return b""
        return b"".join(self.field(number, item) for item in value)


def _named(value_field: FieldEncoder) -> FieldEncoder:
    """A JSON object as gnostic's ordered `Named<T>` pairs: name in field 1, value in 2."""

    def encode(number: int, value: Any) -> bytes:
        if not isinstance(value, Mapping):
            return b""
        return b"".join(_delimited(number, _string(1, key) + value_field(2, item))
                        for key, item in value.items())

    return encode


def _wrapped(inner: FieldEncoder) -> FieldEncoder:
    """A message whose only field (1) holds the value: `Definitions`, `Properties`, ...."""
    return lambda number, value: _delimited(number, inner(1, value))


def _schema(number: int, value: Any) -> bytes:
    return _SCHEMA.field(number, value)


def _schemas(number: int, value: Any) -> bytes:
    return b"".join(_schema(number, item) for item in value) if isinstance(value, list) else b""


def _type_item(number: int, value: Any) -> bytes:
    return _delimited(number, _strings(1, value))


def _items_item(number: int, value: Any) -> bytes:
    schemas = value if isinstance(value, list) else [value]
    return _delimited(number, b"".join(_schema(1, schema) for schema in schemas))


def _additional_properties(number: int, value: Any) -> bytes:
    if isinstance(value, bool):  # a oneof member is written even when false
        return _delimited(number, _tag(2, _VARINT) + _varint(int(value)))
    return _delimited(number, _schema(1, value))


def _json_reference(number: int, value: Any) -> bytes:
    return _delimited(number, _string(1, value.get("$ref")) + _string(2, value.get("description")))


def _primitives_items(number: int, value: Any) -> bytes:
    return _PRIMITIVES_ITEMS.field(number, value)


def _parameter_payload(value: Mapping[str, Any]) -> bytes:
    """A `Parameter`: its `body_parameter` (1) or `non_body_parameter` (2) member, the
    latter holding the sub-schema of the parameter's location."""
    where = value.get("in")
    if where == "body":
        return _BODY_PARAMETER.field(1, value)
    locations = {"header": (1, _HEADER_PARAMETER), "formData": (2, _QUERY_PARAMETER),
                 "query": (3, _QUERY_PARAMETER), "path": (4, _PATH_PARAMETER)}
    member, message = locations.get(str(where), (3, _QUERY_PARAMETER))
    return _delimited(2, message.field(member, value))


def _parameter(number: int, value: Any) -> bytes:
    if not isinstance(value, Mapping):
        return b""
    return _delimited(number, _parameter_payload(value))


def _parameters_item(number: int, value: Any) -> bytes:
    """A `ParametersItem`: a `parameter` (1) or a `json_reference` (2) to a global one."""
    if not isinstance(value, Mapping):
        return b""
    if "$ref" in value:
        return _delimited(number, _json_reference(2, value))
    return _delimited(number, _parameter(1, value))


def _parameters(number: int, value: Any) -> bytes:
    if not isinstance(value, list):
        return b""
    return b"".join(_parameters_item(number, item) for item in value)


def _response_value(number: int, value: Any) -> bytes:
    if not isinstance(value, Mapping):
        return b""
    if "$ref" in value:
        return _delimited(number, _json_reference(2, value))
    return _delimited(number, _RESPONSE.field(1, value))


def _schema_item(number: int, value: Any) -> bytes:
    return _delimited(number, _schema(1, value)) if isinstance(value, Mapping) else b""


def _security_requirements(number: int, value: Any) -> bytes:
    if not isinstance(value, list):
        return b""
    string_array = _wrapped(_strings)
    return b"".join(_delimited(number, _named(string_array)(1, item)) for item in value)


def _security_definition(number: int, value: Any) -> bytes:
    if not isinstance(value, Mapping):
        return b""
    kind = value.get("type")
    if kind == "basic":
        return _delimited(number, _BASIC_SECURITY.field(1, value))
    if kind == "apiKey":
        return _delimited(number, _API_KEY_SECURITY.field(2, value))
    flows = {"implicit": 3, "password": 4, "application": 5, "accessCode": 6}
    member = flows.get(str(value.get("flow")))
    if member is None:
        return b""
    return _delimited(number, _OAUTH2_SECURITY[member].field(member, value))


_EXTERNAL_DOCS = _Message({"description": (1, _string), "url": (2, _string)}, vendor=3)
_XML = _Message({"name": (1, _string), "namespace": (2, _string), "prefix": (3, _string),
                 "attribute": (4, _bool), "wrapped": (5, _bool)}, vendor=6)

_SCHEMA = _Message({
    "$ref": (1, _string), "format": (2, _string), "title": (3, _string),
    "description": (4, _string), "default": (5, _any), "multipleOf": (6, _double),
    "maximum": (7, _double), "exclusiveMaximum": (8, _bool), "minimum": (9, _double),
    "exclusiveMinimum": (10, _bool), "maxLength": (11, _int64), "minLength": (12, _int64),
    "pattern": (13, _string), "maxItems": (14, _int64), "minItems": (15, _int64),
    "uniqueItems": (16, _bool), "maxProperties": (17, _int64), "minProperties": (18, _int64),
    "required": (19, _strings), "enum": (20, _anys),
    "additionalProperties": (21, _additional_properties), "type": (22, _type_item),
    "items": (23, _items_item), "allOf": (24, _schemas),
    "properties": (25, _wrapped(_named(_schema))), "discriminator": (26, _string),
    "readOnly": (27, _bool), "xml": (28, _XML.field),
    "externalDocs": (29, _EXTERNAL_DOCS.field), "example": (30, _any),
}, vendor=31)


def _validations(first: int) -> dict[str, tuple[int, FieldEncoder]]:
    """The JSON-schema checks every non-body parameter shape lists, numbered from `first`
    (`type`) on in the same order."""
    names: list[tuple[str, FieldEncoder]] = [
        ("type", _string), ("format", _string), ("items", _primitives_items),
        ("collectionFormat", _string), ("default", _any), ("maximum", _double),
        ("exclusiveMaximum", _bool), ("minimum", _double), ("exclusiveMinimum", _bool),
        ("maxLength", _int64), ("minLength", _int64), ("pattern", _string),
        ("maxItems", _int64), ("minItems", _int64), ("uniqueItems", _bool), ("enum", _anys),
        ("multipleOf", _double),
    ]
    return {name: (first + offset, field) for offset, (name, field) in enumerate(names)}


_PRIMITIVES_ITEMS = _Message(_validations(1), vendor=18)
_HEADER = _Message({**_validations(1), "description": (18, _string)}, vendor=19)
_PARAMETER_BASICS: dict[str, tuple[int, FieldEncoder]] = {
    "required": (1, _bool), "in": (2, _string), "description": (3, _string),
    "name": (4, _string),
}
# Query and formData parameters share one layout, with allowEmptyValue before the checks.
_QUERY_PARAMETER = _Message(
    {**_PARAMETER_BASICS, "allowEmptyValue": (5, _bool), **_validations(6)}, vendor=23)
_PATH_PARAMETER = _Message({**_PARAMETER_BASICS, **_validations(5)}, vendor=22)
_HEADER_PARAMETER = _PATH_PARAMETER
_BODY_PARAMETER = _Message({
    "description": (1, _string), "name": (2, _string), "in": (3, _string),
    "required": (4, _bool), "schema": (5, _schema),
}, vendor=6)

_RESPONSE = _Message({
    "description": (1, _string), "schema": (2, _schema_item),
    "headers": (3, _wrapped(_named(_HEADER.field))),
    "examples": (4, _wrapped(_named(_any))),
}, vendor=5)
_RESPONSES = _Message({}, vendor=2)


def _responses(number: int, value: Any) -> bytes:
    if not isinstance(value, Mapping):
        return b""
    codes = {key: item for key, item in value.items() if not key.startswith("x-")}
    extensions = {key: item for key, item in value.items() if key.startswith("x-")}
    return _delimited(number, _named(_response_value)(1, codes) + _RESPONSES.encode(extensions))


_OPERATION = _Message({
    "tags": (1, _strings), "summary": (2, _string), "description": (3, _string),
    "externalDocs": (4, _EXTERNAL_DOCS.field), "operationId": (5, _string),
    "produces": (6, _strings), "consumes": (7, _strings), "parameters": (8, _parameters),
    "responses": (9, _responses), "schemes": (10, _strings), "deprecated": (11, _bool),
    "security": (12, _security_requirements),
}, vendor=13)
_PATH_ITEM = _Message({
    "$ref": (1, _string), "get": (2, _OPERATION.field), "put": (3, _OPERATION.field),
    "post": (4, _OPERATION.field), "delete": (5, _OPERATION.field),
    "options": (6, _OPERATION.field), "head": (7, _OPERATION.field),
    "patch": (8, _OPERATION.field), "parameters": (9, _parameters),
}, vendor=10)
_PATHS = _Message({}, vendor=1)


def _paths(number: int, value: Any) -> bytes:
    if not isinstance(value, Mapping):
        return b""
    paths = {key: item for key, item in value.items() if not key.startswith("x-")}
    extensions = {key: item for key, item in value.items() if key.startswith("x-")}
    return _delimited(number, _PATHS.encode(extensions) + _named(_PATH_ITEM.field)(2, paths))


_CONTACT = _Message({"name": (1, _string), "url": (2, _string), "email": (3, _string)},
                    vendor=4)
_LICENSE = _Message({"name": (1, _string), "url": (2, _string)}, vendor=3)
_INFO = _Message({
    "title": (1, _string), "version": (2, _string), "description": (3, _string),
    "termsOfService": (4, _string), "contact": (5, _CONTACT.field),
    "license": (6, _LICENSE.field),
}, vendor=7)
_TAG = _Message({"name": (1, _string), "description": (2, _string),
                 "externalDocs": (3, _EXTERNAL_DOCS.field)}, vendor=4)
_BASIC_SECURITY = _Message({"type": (1, _string), "description": (2, _string)}, vendor=3)
_API_KEY_SECURITY = _Message({"type": (1, _string), "name": (2, _string), "in": (3, _string),
                              "description": (4, _string)}, vendor=5)
_SCOPES: FieldEncoder = _wrapped(_named(_string))
_OAUTH2_SECURITY = {
    3: _Message({"type": (1, _string), "flow": (2, _string), "scopes": (3, _SCOPES),
                 "authorizationUrl": (4, _string), "description": (5, _string)}, vendor=6),
    4: _Message({"type": (1, _string), "flow": (2, _string), "scopes": (3, _SCOPES),
                 "tokenUrl": (4, _string), "description": (5, _string)}, vendor=6),
    5: _Message({"type": (1, _string), "flow": (2, _string), "scopes": (3, _SCOPES),
                 "tokenUrl": (4, _string), "description": (5, _string)}, vendor=6),
    6: _Message({"type": (1, _string), "flow": (2, _string), "scopes": (3, _SCOPES),
                 "authorizationUrl": (4, _string), "tokenUrl": (5, _string),
                 "description": (6, _string)}, vendor=7),
}

_DOCUMENT = _Message({
    "swagger": (1, _string), "info": (2, _INFO.field), "host": (3, _string),
    "basePath": (4, _string), "schemes": (5, _strings), "consumes": (6, _strings),
    "produces": (7, _strings), "paths": (8, _paths),
    "definitions": (9, _wrapped(_named(_schema))),
    "parameters": (10, _wrapped(_named(_parameter))),
    "responses": (11, _wrapped(_named(_RESPONSE.field))),
    "security": (12, _security_requirements),
    "securityDefinitions": (13, _wrapped(_named(_security_definition))),
    "tags": (14, _TAG.repeated), "externalDocs": (15, _EXTERNAL_DOCS.field),
}, vendor=16)


def negotiate_v2_encoding(accept: str) -> str | None:
    """`application/json` or `OPENAPI_V2_PROTOBUF`, whichever `accept` prefers, or None
    when it accepts neither (the real server then answers `406 Not Acceptable`).

    Clauses are ranked as the real server ranks them: by `q`, then the more specific first
    (`type/subtype`, then `type/*`, then `*/*`), else in header order. No header means `*/*`.
    """
    offered = (("application", "json"), tuple(OPENAPI_V2_PROTOBUF.split("/", 1)))
    clauses: list[tuple[float, int, str, str]] = []
    for raw in (accept or "*/*").split(","):
        media, *params = (part.strip() for part in raw.split(";"))
        kind, _, subtype = media.partition("/")
        if not kind:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        wildcards = (kind == "*") + (subtype in ("*", ""))
        clauses.append((quality, wildcards, kind, subtype or "*"))
    for quality, _, kind, subtype in sorted(clauses, key=lambda c: (-c[0], c[1])):
        if quality <= 0:
            continue
        for offered_kind, offered_subtype in offered:
            if kind in ("*", offered_kind) and subtype in ("*", offered_subtype):
                return f"{offered_kind}/{offered_subtype}"
    return None

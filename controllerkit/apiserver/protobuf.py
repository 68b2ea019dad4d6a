"""Request bodies sent as Kubernetes protobuf (`application/vnd.kubernetes.protobuf`).

kubectl's imperative commands (`kubectl create configmap|secret|namespace|job`) encode built-in
objects this way: the magic `k8s\\x00`, then a `runtime.Unknown` whose `typeMeta` names the
apiVersion and kind and whose `raw` is the object's own message. `decode_kubernetes_protobuf`
turns that into the JSON object the same client would have sent as `application/json`, using the
field tables in `protobuf_types`. Anything outside those tables (an unknown kind or field number,
or bytes that are not well-formed) is answered 415, asking the client to send JSON; nothing is
guessed. Responses stay JSON, which every Kubernetes client accepts.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import StatusError
from .protobuf_types import MESSAGES, FieldSpec, top_level_message
from .protobuf_wire import (
    LENGTH_DELIMITED,
    VARINT,
    ProtobufDecodeError,
    WireField,
    as_signed64,
    iter_fields,
    iter_packed_varints,
)
from .resources import JSONObject

PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NANOS_PER_SECOND = 1_000_000_000
# Fields of runtime.Unknown, runtime.TypeMeta, Timestamp, Quantity, IntOrString and FieldsV1.
_UNKNOWN_TYPE_META, _UNKNOWN_RAW, _UNKNOWN_ENCODING, _UNKNOWN_CONTENT_TYPE = 1, 2, 3, 4
_INT_OR_STRING_INT, _INT_OR_STRING_STRING = 0, 1


def decode_kubernetes_protobuf(body: bytes) -> JSONObject:
    """The JSON form of a protobuf-encoded request body.

    Returns a new dict with `apiVersion` and `kind` from the envelope and every set field under
    its JSON name. Raises `StatusError` 415 `UnsupportedMediaType` for a kind or field the
    server has no table for and for malformed or truncated bytes; never anything else.
    """
    try:
        api_version, kind, raw = _unwrap(body)
        message = top_level_message(api_version, kind)
        if message is None:
            raise ProtobufDecodeError(f"kind {kind!r} of apiVersion {api_version!r} is not "
                                      f"supported in protobuf")
        obj = _decode_message(raw, message)
    except ProtobufDecodeError as exc:
        raise unsupported_protobuf(str(exc)) from None
    return {"apiVersion": api_version, "kind": kind, **obj}


def unsupported_protobuf(reason: str) -> StatusError:
    """415 for a protobuf body this server cannot read, telling the client to use JSON."""
    return StatusError(
        415, "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"application/json, application/yaml (the {PROTOBUF_MEDIA_TYPE} body could not be "
        f"decoded: {reason}; send it as application/json instead)",
    )


def _unwrap(body: bytes) -> tuple[str, str, bytes]:
    if not body.startswith(MAGIC):
        raise ProtobufDecodeError("the body does not start with the Kubernetes protobuf magic")
    api_version = kind = ""
    raw = b""
    for field in iter_fields(body[len(MAGIC):]):
        if field.number == _UNKNOWN_TYPE_META:
            type_meta = _expect_bytes(field, "Unknown.typeMeta")
            for meta_field in iter_fields(type_meta):
                if meta_field.number not in (1, 2):
                    raise _unknown_field(meta_field, "TypeMeta")
                text = _text(_expect_bytes(meta_field, "TypeMeta"))
                if meta_field.number == 1:
                    api_version = text
                else:
                    kind = text
        elif field.number == _UNKNOWN_RAW:
            raw = _expect_bytes(field, "Unknown.raw")
        elif field.number in (_UNKNOWN_ENCODING, _UNKNOWN_CONTENT_TYPE):
            value = _text(_expect_bytes(field, "Unknown"))
            if value:
                raise ProtobufDecodeError(f"an embedded content encoding or type {value!r} is "
                                          f"not supported")
        else:
            raise _unknown_field(field, "Unknown")
    if not api_version or not kind:
        raise ProtobufDecodeError("the envelope does not name the apiVersion and kind")
    return api_version, kind, raw


def _decode_message(data: bytes, message: str) -> JSONObject:
    table = MESSAGES[message]
    out: JSONObject = {}
    for field in iter_fields(data):
        spec = table.get(field.number)
        if spec is None:
            raise _unknown_field(field, message)
        where = f"{message}.{spec.name}"
        if spec.inline:
            out.update(_decode_message(_expect_bytes(field, where), spec.type))
        elif spec.is_map:
            key, value = _map_entry(field, spec, where)
            out.setdefault(spec.name, {})[key] = value
        elif spec.repeated:
            out.setdefault(spec.name, []).extend(_repeated_values(field, spec, where))
        else:
            _set_single(out, spec, _value(field, spec.type, where))
    return out


def _set_single(out: JSONObject, spec: FieldSpec, value: Any) -> None:
    """Last value wins, as in protobuf; a zero the JSON would omit removes the field."""
    is_zero = not isinstance(value, dict) and not value
    if value is None or (is_zero and not spec.keep_zero):
        out.pop(spec.name, None)
    elif isinstance(value, dict) and isinstance(out.get(spec.name), dict):
        out[spec.name] = {**out[spec.name], **value}
    else:
        out[spec.name] = value


def _repeated_values(field: WireField, spec: FieldSpec, where: str) -> list[Any]:
    if spec.type == "int" and field.wire_type == LENGTH_DELIMITED:
        return [as_signed64(v) for v in iter_packed_varints(_expect_bytes(field, where))]
    return [_value(field, spec.type, where)]


def _map_entry(field: WireField, spec: FieldSpec, where: str) -> tuple[str, Any]:
    key = ""
    value: Any = None
    for entry_field in iter_fields(_expect_bytes(field, where)):
        if entry_field.number == 1:
            key = _text(_expect_bytes(entry_field, where))
        elif entry_field.number == 2:
            value = _value(entry_field, spec.type, where)
        else:
            raise _unknown_field(entry_field, f"{where} map entry")
    if value is None:
        value = _absent_map_value(spec.type, where)
    return key, value


def _absent_map_value(type_name: str, where: str) -> Any:
    """A map entry without a value holds the value type's zero, as the Go decoder reads it."""
    if type_name == "int":
        return 0
    if type_name == "bool":
        return False
    return _value(WireField(2, LENGTH_DELIMITED, b""), type_name, where)


def _value(field: WireField, type_name: str, where: str) -> Any:
    """The JSON value of one field occurrence; None for a zero time (JSON null, omitted)."""
    if type_name == "int":
        return as_signed64(_expect_varint(field, where))
    if type_name == "bool":
        return _expect_varint(field, where) != 0
    payload = _expect_bytes(field, where)
    if type_name == "str":
        return _text(payload)
    if type_name == "bytes":
        return base64.b64encode(payload).decode("ascii")
    if type_name in ("Time", "MicroTime"):
        return _timestamp(payload, micro=type_name == "MicroTime", where=where)
    if type_name == "Quantity":
        return _quantity(payload, where)
    if type_name == "IntOrString":
        return _int_or_string(payload, where)
    if type_name == "FieldsV1":
        return _fields_v1(payload, where)
    return _decode_message(payload, type_name)


def _timestamp(payload: bytes, *, micro: bool, where: str) -> str | None:
    if not payload:
        return None
    seconds = nanos = 0
    for field in iter_fields(payload):
        if field.number == 1:
            seconds = as_signed64(_expect_varint(field, where))
        elif field.number == 2:
            nanos = as_signed64(_expect_varint(field, where))
        else:
            raise _unknown_field(field, "Timestamp")
    if not micro:
        nanos = 0  # metav1.Time keeps whole seconds only
    total_seconds, nanos = divmod(seconds * _NANOS_PER_SECOND + nanos, _NANOS_PER_SECOND)
    try:
        moment = _EPOCH + timedelta(seconds=total_seconds)
    except OverflowError:
        raise ProtobufDecodeError(f"{where}: timestamp {seconds} is out of range") from None
    text = (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")
    return f"{text}.{nanos // 1000:06d}Z" if micro else f"{text}Z"


def _quantity(payload: bytes, where: str) -> str:
    """The quantity's string; an unset one is Go's zero Quantity, whose JSON is "0"."""
    text: str | None = None
    for field in iter_fields(payload):
        if field.number != 1:
            raise _unknown_field(field, "Quantity")
        text = _text(_expect_bytes(field, where))
    if text is None:
        return "0"
    if not text:
        raise ProtobufDecodeError(f"{where}: empty quantity string")
    return text


def _int_or_string(payload: bytes, where: str) -> int | str:
    kind, int_value, str_value = _INT_OR_STRING_INT, 0, ""
    for field in iter_fields(payload):
        if field.number == 1:
            kind = as_signed64(_expect_varint(field, where))
        elif field.number == 2:
            int_value = as_signed64(_expect_varint(field, where))
        elif field.number == 3:
            str_value = _text(_expect_bytes(field, where))
        else:
            raise _unknown_field(field, "IntOrString")
    if kind == _INT_OR_STRING_INT:
        return int_value
    if kind == _INT_OR_STRING_STRING:
        return str_value
    raise ProtobufDecodeError(f"{where}: IntOrString type {kind} is neither int nor string")


def _fields_v1(payload: bytes, where: str) -> Any:
    raw = b""
    for field in iter_fields(payload):
        if field.number != 1:
            raise _unknown_field(field, "FieldsV1")
        raw = _expect_bytes(field, where)
    try:
        return json.loads(raw) if raw else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtobufDecodeError(f"{where} is not valid JSON") from None


def _text(payload: bytes) -> str:
    # Go does not validate UTF-8 in proto2 strings; its JSON encoder substitutes U+FFFD.
    return payload.decode("utf-8", errors="replace")


def _expect_bytes(field: WireField, where: str) -> bytes:
    if field.wire_type != LENGTH_DELIMITED or not isinstance(field.value, bytes):
        raise ProtobufDecodeError(f"{where}: field {field.number} has wire type "
                                  f"{field.wire_type}, expected length-delimited")
    return field.value


def _expect_varint(field: WireField, where: str) -> int:
    if field.wire_type != VARINT or not isinstance(field.value, int):
        raise ProtobufDecodeError(f"{where}: field {field.number} has wire type "
                                  f"{field.wire_type}, expected varint")
    return field.value


def _unknown_field(field: WireField, message: str) -> ProtobufDecodeError:
    return ProtobufDecodeError(f"field {field.number} of {message} is not supported")

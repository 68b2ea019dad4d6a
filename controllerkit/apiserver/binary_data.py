"""Base64 byte fields of built-in kinds, read and written back as the real server does.

A Secret's `data` and a ConfigMap's `binaryData` hold bytes in the real server's Go types:
each value is decoded from base64 when a request is read and encoded again when the object is
written out. Go's decoder skips line breaks (`\\r`, `\\n`) anywhere, so the wrapped base64 of a
YAML `|` block (the TLS Secret of the Kubernetes documentation) is accepted and stored as one
line; any other departure from padded standard base64 is refused with the decoder's message
(`400 BadRequest`), naming the offset in the value as sent.
"""

from __future__ import annotations

import base64

from .errors import bad_request
from .resources import GroupResource, JSONObject

__all__ = ["canonical_binary_data", "decode_go_base64"]

# Field, and the Go type and field names the real server's message uses.
_BYTE_MAPS: dict[GroupResource, tuple[str, str, str]] = {
    GroupResource("", "secrets"): ("data", "Secret", "Data"),
    GroupResource("", "configmaps"): ("binaryData", "ConfigMap", "BinaryData"),
}
_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_LINE_BREAKS = frozenset(b"\r\n")
_PAD = ord("=")


class Base64Error(ValueError):
    """Not standard padded base64; `offset` is the first offending byte of the input."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"illegal base64 data at input byte {offset}")
        self.offset = offset


def canonical_binary_data(gr: GroupResource, obj: JSONObject) -> JSONObject:
    """`obj` with each base64 value of its kind's byte map re-encoded without line breaks.

    Objects of other kinds, and values that are not strings (left to validation), are
    returned as they are. Raises 400 with the real server's message for a value Go's decoder
    refuses.
    """
    spec = _BYTE_MAPS.get(gr)
    if spec is None:
        return obj
    field, kind, go_field = spec
    values = obj.get(field)
    if not isinstance(values, dict):
        return obj
    canonical = {}
    for key, value in values.items():
        if not isinstance(value, str):
            canonical[key] = value
            continue
        try:
            canonical[key] = base64.b64encode(decode_go_base64(value)).decode("ascii")
        except Base64Error as error:
            raise bad_request(f'{kind} in version "v1" cannot be handled as a {kind}: '
                              f"v1.{kind}.{go_field}: decode base64: {error}") from None
    return {**obj, field: canonical}


def decode_go_base64(text: str) -> bytes:
    """Decode like Go's `base64.StdEncoding`: padding required, `\\r` and `\\n` skipped
    anywhere, nothing after the padding. Raises `Base64Error` where Go would."""
    data = text.encode("utf-8")
    kept = bytearray()
    position = 0
    while position < len(data):
        quantum, position = _quantum(data, position)
        kept += quantum
    return base64.b64decode(bytes(kept))


def _quantum(data: bytes, start: int) -> tuple[bytes, int]:
    """The next four-character group (line breaks dropped) and where the rest begins."""
    group = bytearray()
    position = start
    while len(group) < 4:
        if position == len(data):
            if not group:
                return b"", position
            raise Base64Error(position - len(group))
        byte = data[position]
        position += 1
        if byte in _ALPHABET:
            group.append(byte)
        elif byte in _LINE_BREAKS:
            continue
        elif byte != _PAD or len(group) < 2:
            raise Base64Error(position - 1)
        else:
            return _padded(data, group, position)
    return bytes(group), position


def _padded(data: bytes, group: bytearray, position: int) -> tuple[bytes, int]:
    """Finish a group whose first `=` was just read: `==` after two characters, `=` after
    three, then only line breaks to the end."""
    if len(group) == 2:
        position = _skip_line_breaks(data, position)
        if position == len(data):
            raise Base64Error(len(data))
        if data[position] != _PAD:
            raise Base64Error(position - 1)
        position += 1
    position = _skip_line_breaks(data, position)
    if position < len(data):
        raise Base64Error(position)
    return bytes(group) + b"=" * (4 - len(group)), position


def _skip_line_breaks(data: bytes, position: int) -> int:
    while position < len(data) and data[position] in _LINE_BREAKS:
        position += 1
    return position

"""The protobuf wire format, read-only: the tag/value stream a message is made of.

A message is a sequence of fields, each a varint key (`field_number << 3 | wire_type`) followed
by its value: a varint (wire type 0), 8 little-endian bytes (1), a varint length and that many
bytes (2), or 4 little-endian bytes (5). Wire types 3 and 4 (groups) are obsolete and never
produced for Kubernetes types, so they are rejected like any other malformed input.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

VARINT = 0
FIXED64 = 1
LENGTH_DELIMITED = 2
FIXED32 = 5

MAX_FIELD_NUMBER = (1 << 29) - 1
_MAX_VARINT_BYTES = 10
_UINT64_LIMIT = 1 << 64


class ProtobufDecodeError(ValueError):
    """The bytes are not a message this server can decode; the text says why."""


@dataclass(frozen=True)
class WireField:
    """One field as it appears on the wire: an int for numeric wire types, bytes otherwise."""

    number: int
    wire_type: int
    value: int | bytes


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint starting at `pos` and the position just after it."""
    result = 0
    for index in range(_MAX_VARINT_BYTES):
        if pos >= len(data):
            raise ProtobufDecodeError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            if result >= _UINT64_LIMIT:
                raise ProtobufDecodeError("varint overflows 64 bits")
            return result, pos
    raise ProtobufDecodeError("varint longer than 10 bytes")


def as_signed64(value: int) -> int:
    """Reinterpret an unsigned 64-bit varint as the two's-complement int32/int64 it encodes."""
    return value - _UINT64_LIMIT if value >= 1 << 63 else value


def iter_fields(data: bytes) -> Iterator[WireField]:
    """The fields of one message, in wire order; raises on anything malformed or truncated."""
    pos = 0
    end = len(data)
    while pos < end:
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 0x7
        if not 1 <= number <= MAX_FIELD_NUMBER:
            raise ProtobufDecodeError(f"invalid field number {number}")
        value: int | bytes
        if wire_type == VARINT:
            value, pos = read_varint(data, pos)
        elif wire_type == LENGTH_DELIMITED:
            length, pos = read_varint(data, pos)
            if length > end - pos:
                raise ProtobufDecodeError(f"field {number} is truncated")
            value, pos = data[pos:pos + length], pos + length
        elif wire_type in (FIXED64, FIXED32):
            size = 8 if wire_type == FIXED64 else 4
            if size > end - pos:
                raise ProtobufDecodeError(f"field {number} is truncated")
            value, pos = int.from_bytes(data[pos:pos + size], "little"), pos + size
        else:
            raise ProtobufDecodeError(f"field {number} has unsupported wire type {wire_type}")
        yield WireField(number, wire_type, value)


def iter_packed_varints(data: bytes) -> Iterator[int]:
    """The unsigned varints of a packed repeated field's payload."""
    pos = 0
    while pos < len(data):
        value, pos = read_varint(data, pos)
        yield value

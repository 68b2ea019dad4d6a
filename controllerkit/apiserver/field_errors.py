"""Field-level causes worded exactly as the real kube-apiserver words them.

Kubernetes reports each validation failure as a field error: a field path
(`spec.versions[0].name`), a type (`FieldValueInvalid`, ...) and a body such as
`Invalid value: "Foo": <detail>`. The `Status` a client receives carries one cause per
error, with the body as the cause's message. Clients and people grep for these texts, so
the builders here reproduce them, including how the offending value is printed (Go's
`%q` for strings, `%v` for numbers, `%#v` for anything else).
"""

from __future__ import annotations

import math
from typing import Any

from controllerkit.apiserver.errors import Cause

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
TYPE_INVALID = "FieldValueTypeInvalid"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
DUPLICATE = "FieldValueDuplicate"


def required(field: str, detail: str = "") -> Cause:
    """`Required value[: detail]` — a value that must be present is missing or empty."""
    return Cause(REQUIRED, _with_detail("Required value", detail), field)


def invalid(field: str, value: Any, detail: str) -> Cause:
    """`Invalid value: <value>: detail` — the value is malformed or out of range."""
    return Cause(INVALID, _with_detail(f"Invalid value: {go_value(value)}", detail), field)


def invalid_rendered(field: str, rendered_value: str, detail: str) -> Cause:
    """Like `invalid`, with the bad value already printed (for typed Go values)."""
    return Cause(INVALID, _with_detail(f"Invalid value: {rendered_value}", detail), field)


def type_invalid(field: str, value: Any, detail: str) -> Cause:
    """Like `invalid`, but for a value whose JSON type does not match the schema."""
    return Cause(TYPE_INVALID, _with_detail(f"Invalid value: {go_value(value)}", detail), field)


def not_supported(field: str, value: Any, supported: list[str]) -> Cause:
    """`Unsupported value: <value>: supported values: "a", "b"` for enumerations."""
    detail = ""
    if supported:
        detail = "supported values: " + ", ".join(go_quote(s) for s in supported)
    return Cause(NOT_SUPPORTED, _with_detail(f"Unsupported value: {go_value(value)}", detail),
                 field)


def forbidden(field: str, detail: str) -> Cause:
    """`Forbidden: detail` — a valid value that is not allowed here."""
    return Cause(FORBIDDEN, _with_detail("Forbidden", detail), field)


def too_long(field: str, max_length: int) -> Cause:
    """`Too long: may not be more than N bytes`; the value itself is never printed."""
    detail = f"may not be more than {max_length} bytes" if max_length >= 0 else (
        "value is too long")
    return Cause(TOO_LONG, f"Too long: {detail}", field)


def too_many(field: str, actual: int, max_items: int) -> Cause:
    """`Too many: <actual>: must have at most N items` for lists and maps."""
    detail = f"must have at most {max_items} items" if max_items >= 0 else "too many items"
    prefix = f"Too many: {actual}" if actual >= 0 else "Too many"
    return Cause(TOO_MANY, f"{prefix}: {detail}", field)


def duplicate(field: str, value: Any) -> Cause:
    """`Duplicate value: <value>` — a value that must be unique is repeated."""
    return Cause(DUPLICATE, f"Duplicate value: {go_value(value)}", field)


def child(path: str, name: str) -> str:
    """`spec` + `replicas` → `spec.replicas`; the root path is the empty string."""
    return f"{path}.{name}" if path else name


def index(path: str, position: int) -> str:
    """`spec.items` + 3 → `spec.items[3]`."""
    return f"{path}[{position}]"


def key(path: str, name: str) -> str:
    """`properties` + `spec` → `properties[spec]`, as Kubernetes prints map keys in paths."""
    return f"{path}[{name}]"


def dedupe(causes: list[Cause]) -> list[Cause]:
    """Drops repeated causes, keeping the first; the real server reports each text once."""
    seen: set[Cause] = set()
    unique: list[Cause] = []
    for cause in causes:
        if cause not in seen:
            seen.add(cause)
            unique.append(cause)
    return unique


def go_value(value: Any) -> str:
    """A JSON value as Go's field errors print a bad value (`%q`, `%v` or `%#v`)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    return go_sharp_value(value)


def go_string_slice(values: list[str] | None) -> str:
    """Go's `%#v` of a `[]string`: `[]string{"a", "b"}`, or `[]string(nil)` when absent."""
    if values is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_quote(v) for v in values) + "}"


def go_sharp_value(value: Any) -> str:
    """Go's `%#v` of a decoded JSON value: `[]interface {}{"a"}`, `map[string]interface {}{...}`."""
    if isinstance(value, dict):
        items = ", ".join(f"{go_quote(str(k))}:{go_sharp_value(value[k])}" for k in sorted(value))
        return "map[string]interface {}{" + items + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(go_sharp_value(v) for v in value) + "}"
    if value is None:
        return "interface {}(nil)"
    return go_value(value)


def go_quote(text: str) -> str:
    """Go's `%q`: a double-quoted string with backslash escapes for the unprintable."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not char.isprintable() and code > 0x7F:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def go_float(number: float) -> str:
    """Go's `%v` of a float64: shortest digits, exponent form below 1e-4 and from 1e+06 up."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "-0" if math.copysign(1.0, number) < 0 else "0"
    digits, exponent = _shortest_digits(repr(number))
    sign = "-" if number < 0 else ""
    if exponent < -4 or exponent >= _GO_SHORTEST_EXPONENT_LIMIT:
        head, tail = digits[0], digits[1:]
        body = f"{head}.{tail}" if tail else head
        exp_sign = "+" if exponent >= 0 else "-"
        return f"{sign}{body}e{exp_sign}{abs(exponent):02d}"
    return sign + _plain_decimal(digits, exponent)


def _shortest_digits(shortest: str) -> tuple[str, int]:
    """Splits Python's shortest repr into significant digits and a decimal exponent."""
    text = shortest.lstrip("-")
    mantissa, _, exp_part = text.partition("e")
    exponent = int(exp_part) if exp_part else 0
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    leading_zeros = len(whole + fraction) - len((whole + fraction).lstrip("0"))
    point = len(whole) - leading_zeros + exponent
    digits = digits.rstrip("0") or "0"
    return digits, point - 1


def _plain_decimal(digits: str, exponent: int) -> str:
    point = exponent + 1
    if point <= 0:
        return "0." + "0" * (-point) + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def _with_detail(body: str, detail: str) -> str:
    return f"{body}: {detail}" if detail else body


# Go's shortest `%g` switches to exponent form from this decimal exponent on.
_GO_SHORTEST_EXPONENT_LIMIT = 6

_SIMPLE_ESCAPES = {
    "\\": "\\\\", '"': '\\"', "\a": "\\a", "\b": "\\b", "\f": "\\f",
    "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
}

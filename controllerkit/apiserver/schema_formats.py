"""String formats and patterns a CRD schema may declare, checked as the real server checks them.

Only the formats Kubernetes recognises are enforced; any other `format` is ignored, as the
real server strips unknown formats before validating. Format names are compared with their
dashes removed (`date-time` and `datetime` are the same format). Numeric formats (`int32`,
`int64`, `float`, `double`) are accepted but not range-checked: the real server's schema
validator does not check them for custom resources either.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import re
from collections.abc import Callable
from datetime import date
from urllib.parse import urlsplit

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"(?:[Zz]|[+-]\d{2}:?\d{2})?$"
)
_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)
_UUID3 = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)
_UUID4 = re.compile(
    r"^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$", re.I)
_UUID5 = re.compile(
    r"^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$", re.I)
_BASE64 = re.compile(
    r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})?$")
_HOSTNAME_LABEL = re.compile(r"^[^\W_](?:[^\W_]|-){0,62}$")
_MAC = re.compile(
    r"^(?:[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}|[0-9a-f]{2}(?:[:-][0-9a-f]{2}){7}"
    r"|[0-9a-f]{4}(?:\.[0-9a-f]{4}){2}|[0-9a-f]{4}(?:\.[0-9a-f]{4}){3})$", re.I)
_EMAIL = re.compile(r"^(?:[^<>@\s]+@[^<>@\s]+|[^<>]*<[^<>@\s]+@[^<>@\s]+>)$")
_DURATION_GO = re.compile(r"^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$")
_DURATION_WORDS = re.compile(
    r"^\d+\s*(?:ns|nanoseconds?|us|microseconds?|ms|milliseconds?|s|seconds?|sec|m|minutes?"
    r"|min|h|hours?|hr|d|days?|w|weeks?)$")
_HEX_COLOR = re.compile(r"^#?(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RGB_PART = r"\s*(?:0|[1-9]\d?|1\d\d|2[0-4]\d|25[0-5])\s*"
_RGB_COLOR = re.compile(rf"^rgb\({_RGB_PART},{_RGB_PART},{_RGB_PART}\)$")
_SSN = re.compile(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$")
_BSON_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")


@functools.lru_cache(maxsize=512)
def go_regex(pattern: str) -> re.Pattern[str]:
    """Compiles a schema `pattern` (Go RE2 syntax) so it matches as it would in Go.

    Python's `$` also matches before a trailing newline and Go's `\\z` is Python's `\\Z`;
    both are translated. Raises `re.error` for patterns Python cannot compile.
    """
    translated: list[str] = []
    in_class = False
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\" and position + 1 < len(pattern):
            escaped = pattern[position + 1]
            translated.append("\\Z" if escaped == "z" and not in_class else char + escaped)
            position += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        elif char == "$" and not in_class:
            char = "\\Z"
        translated.append(char)
        position += 1
    return re.compile("".join(translated))


def format_matches(format_name: str, value: str) -> bool:
    """Whether `value` satisfies `format_name`; unknown formats always match."""
    checker = _CHECKERS.get(format_name.replace("-", ""))
    return True if checker is None else checker(value)


def is_known_string_format(format_name: str) -> bool:
    """Whether the real server validates strings against this format."""
    return format_name.replace("-", "") in _CHECKERS


def _is_date(value: str) -> bool:
    match = _DATE.match(value)
    if not match:
        return False
    return _valid_calendar_date(match.group(1), match.group(2), match.group(3))


def _is_date_time(value: str) -> bool:
    match = _DATE_TIME.match(value)
    if not match:
        return False
    year, month, day, hour, minute, second = match.groups()
    if not _valid_calendar_date(year, month, day):
        return False
    return int(hour) < 24 and int(minute) < 60 and (second is None or int(second) < 61)


def _valid_calendar_date(year: str, month: str, day: str) -> bool:
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _is_base64(value: str) -> bool:
    if not _BASE64.match(value):
        return False
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def _is_ipv6(value: str) -> bool:
    if ":" not in value:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_cidr(value: str) -> bool:
    if "/" not in value:
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def _is_hostname(value: str) -> bool:
    if not value or len(value) > 255:
        return False
    labels = value.split(".")
    return all(_HOSTNAME_LABEL.match(label) and not label.endswith("-") for label in labels)


def _is_uri(value: str) -> bool:
    if value.startswith("/"):
        return True
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme) and " " not in value


def _is_duration(value: str) -> bool:
    return value == "0" or bool(_DURATION_GO.match(value) or _DURATION_WORDS.match(value))


def _matches(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda value: bool(pattern.match(value))


_CHECKERS: dict[str, Callable[[str], bool]] = {
    "date": _is_date,
    "datetime": _is_date_time,
    "byte": _is_base64,
    "uuid": _matches(_UUID),
    "uuid3": _matches(_UUID3),
    "uuid4": _matches(_UUID4),
    "uuid5": _matches(_UUID5),
    "ipv4": _is_ipv4,
    "ipv6": _is_ipv6,
    "cidr": _is_cidr,
    "mac": _matches(_MAC),
    "hostname": _is_hostname,
    "email": _matches(_EMAIL),
    "uri": _is_uri,
    "duration": _is_duration,
    "hexcolor": _matches(_HEX_COLOR),
    "rgbcolor": _matches(_RGB_COLOR),
    "ssn": _matches(_SSN),
    "bsonobjectid": _matches(_BSON_OBJECT_ID),
    "password": lambda _value: True,
}

"""Names, labels and annotations the binding example agrees on.

Names are deterministic so every step can be repeated safely: the binding resource of a key
is always the same object, and the candidate runtime of a (key, prefix, sequence) is always
the same name, so a controller that crashed after creating it finds it again instead of
creating a second one.
"""

from __future__ import annotations

import hashlib
import re

BINDING_FINALIZER = "spritz.sh/binding-finalizer"
"""Held by every binding until its deletion has been seen by the controller."""
RECONCILE_REQUEST_ANNOTATION = "spritz.sh/reconcile-requested-at"
"""On a binding: set to a timestamp to ask for a reconcile; any change of it is one."""
BINDING_NAME_LABEL = "spritz.sh/binding-name"
"""On a runtime: the name of the binding that owns it (when it fits a label value)."""
BINDING_KEY_ANNOTATION = "spritz.sh/binding-key"
"""On a runtime: the `bindingKey` of the binding that owns it."""
INSTANCE_ROLE_ANNOTATION = "spritz.sh/binding-instance-role"
"""On a runtime: the role it was created for (`candidate`)."""
TARGET_REVISION_ANNOTATION = "spritz.sh/target-revision"
"""On a runtime: the binding revision it was created for."""
PRESET_ID_ANNOTATION = "spritz.sh/preset-id"
"""On a runtime: the preset of the template it was made from."""
SOURCE_ANNOTATION = "spritz.sh/source"
"""On a runtime: who asked for it (`template.source`)."""
REQUEST_ID_ANNOTATION = "spritz.sh/request-id"
"""On a runtime: the caller's request id (`template.requestId`)."""

DEFAULT_NAME_PREFIX = "spritz"
MAX_NAME_LENGTH = 63
"""Runtime names are DNS labels: at most 63 characters."""
BINDING_KEY_PART_LENGTH = 36
BINDING_HASH_HEX_LENGTH = 8
CANDIDATE_HASH_HEX_LENGTH = 6

_NOT_NAME_CHARACTERS = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")


def sanitize_name_part(text: str, max_length: int) -> str:
    """`text` as a piece of a DNS label: lowercase letters, digits and single dashes, no
    dash at either end, at most `max_length` characters; "" when nothing is left."""
    part = _DASHES.sub("-", _NOT_NAME_CHARACTERS.sub("-", text.lower())).strip("-")
    return part[:max_length].rstrip("-")


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def binding_resource_name(binding_key: str) -> str:
    """The name of the SpritzBinding object of `binding_key`.

    The sanitised key (at most 36 characters, `binding` if nothing is left of it), a dash,
    and 8 hex digits of the key's SHA-256: readable, and distinct for keys that sanitise
    alike (`Team A` and `team-a`).
    """
    readable = sanitize_name_part(binding_key, BINDING_KEY_PART_LENGTH) or "binding"
    return f"{readable}-{_sha256_hex(binding_key)[:BINDING_HASH_HEX_LENGTH]}"


def runtime_name_prefix(name_prefix: str | None, preset_id: str | None) -> str:
    """The prefix of a binding's runtime names: the template's `namePrefix`, else its
    `presetId`, else `spritz` — whichever first sanitises to something."""
    for choice in (name_prefix, preset_id):
        prefix = sanitize_name_part(choice or "", MAX_NAME_LENGTH)
        if prefix:
            return prefix
    return DEFAULT_NAME_PREFIX


def candidate_name(prefix: str, binding_key: str, sequence: int) -> str:
    """The runtime name of `binding_key`'s runtime number `sequence`.

    `<prefix>-<6 hex of sha256(bindingKey)>-<sequence, at least 2 digits>`, at most 63
    characters: the prefix (sanitised) is shortened to fit. The same arguments always give
    the same name.
    """
    if sequence < 0:
        raise ValueError(f"a runtime sequence is never negative, got {sequence}")
    suffix = f"-{_sha256_hex(binding_key)[:CANDIDATE_HASH_HEX_LENGTH]}-{sequence:02d}"
    readable = (sanitize_name_part(prefix, MAX_NAME_LENGTH - len(suffix))
                or DEFAULT_NAME_PREFIX[:MAX_NAME_LENGTH - len(suffix)])
    return readable + suffix


def label_value_or_none(value: str) -> str | None:
    """`value` when it is a valid label value (so it can label a runtime), else None."""
    if len(value) <= MAX_NAME_LENGTH and _LABEL_VALUE.fullmatch(value):
        return value
    return None


__all__ = [
    "BINDING_FINALIZER",
    "BINDING_KEY_ANNOTATION",
    "BINDING_NAME_LABEL",
    "INSTANCE_ROLE_ANNOTATION",
    "PRESET_ID_ANNOTATION",
    "RECONCILE_REQUEST_ANNOTATION",
    "REQUEST_ID_ANNOTATION",
    "SOURCE_ANNOTATION",
    "TARGET_REVISION_ANNOTATION",
    "binding_resource_name",
    "candidate_name",
    "label_value_or_none",
    "runtime_name_prefix",
    "sanitize_name_part",
]

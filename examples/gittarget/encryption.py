"""Secrets encrypted to age recipients, in a file whose structure stays readable.

A Secret is written with every key, label and annotation in clear and only the values under
`data` and `stringData` encrypted — the same idea as sops, so a reviewer sees *which* keys
changed in a diff without seeing a value. The format is our own (it is not byte-compatible with
sops); `decrypt_secret` reads it back:

```yaml
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: default}
type: Opaque
data:
  password: ENC[AES256_GCM,data:...,iv:...,tag:...]
encryption:
  format: age-envelope/v1
  encrypted_keys: [data, stringData]
  recipients: [age1...]
  data_key: |
    <base64 age ciphertext of the data key, readable by every recipient>
  mac: ENC[AES256_GCM,...]
```

Each file gets a fresh random 256-bit data key. Values are sealed with AES-256-GCM under that
key, with the value's path (`data:password`) as associated data so a value cannot be moved to
another key unnoticed; the data key is age-encrypted once to all recipients (X25519). The `mac`
seals a digest of every encrypted entry, so removing or swapping entries is detected. As with
sops, the length of each value is visible.

Encryption is randomised, so rendering the same Secret twice gives different bytes. To keep an
unchanged Secret from being committed again, a `SecretRenderer` remembers what it produced, and
`secret_files_equivalent` compares two files by their decrypted content when the identity is at
hand (after a restart).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pyrage  # type: ignore[import-untyped]  # pyrage ships no type information
import yaml
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .manifest import render_yaml, sanitize

FORMAT: Final = "age-envelope/v1"
ENCRYPTED_KEYS: Final = ("data", "stringData")
_ENCRYPTION_BLOCK: Final = "encryption"
_MAC_CONTEXT: Final = b"encryption:mac"
_ENC_VALUE = re.compile(
    r"^ENC\[AES256_GCM,data:(?P<data>[A-Za-z0-9+/=]*),iv:(?P<iv>[A-Za-z0-9+/=]+),"
    r"tag:(?P<tag>[A-Za-z0-9+/=]+)\]$"
)
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16
# Enough for every Secret a target mirrors in a typical cluster; older entries only cost a
# re-encryption (and one UPDATE commit) if they come back.
_MEMO_LIMIT: Final = 4096


class EncryptionError(ValueError):
    """A Secret file could not be encrypted or decrypted: bad recipients, wrong identity,
    tampered or malformed content. The message says which."""


def generate_identity() -> tuple[str, str]:
    """A new age X25519 key pair: `(identity, recipient)` — `AGE-SECRET-KEY-1...` and `age1...`."""
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def recipient_of(identity: str) -> str:
    """The public recipient (`age1...`) of an age identity. EncryptionError when it is invalid."""
    return str(_parse_identity(identity).to_public())


def validate_recipients(recipients: Sequence[str]) -> list[str]:
    """The recipients that are not valid age X25519 public keys (empty when all are fine)."""
    invalid: list[str] = []
    for recipient in recipients:
        try:
            pyrage.x25519.Recipient.from_str(recipient.strip())
        except pyrage.RecipientError:
            invalid.append(recipient)
    return invalid


def recipients_hash(recipients: Sequence[str]) -> str:
    """A stable digest of a recipient set (order and duplicates do not matter):
    `sha256:<hex>`. Status records it so a change of recipients is visible."""
    canonical = "\n".join(sorted({recipient.strip() for recipient in recipients}))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class SecretRenderer:
    """Renders Secrets encrypted, remembering what it rendered: the same Secret for the same
    recipients gives the very same bytes again, so an unchanged Secret never produces a new
    commit. Holds up to `capacity` renderings (least recently used go first; one that comes
    back costs a re-encryption). One renderer per process is the intended use."""

    def __init__(self, capacity: int = _MEMO_LIMIT) -> None:
        self.capacity = capacity
        # (recipients hash, digest of the sanitised Secret) -> the bytes rendered for it.
        self._rendered: OrderedDict[tuple[str, str], bytes] = OrderedDict()

    def render(self, obj: Mapping[str, Any], recipients: Sequence[str]) -> bytes:
        """The sanitised Secret as YAML with its `data`/`stringData` values encrypted to
        `recipients` (at least one, all valid, else EncryptionError)."""
        normalized = _normalized_recipients(recipients)
        clean = sanitize(obj)
        memo_key = (recipients_hash(normalized), _digest(clean))
        remembered = self._rendered.get(memo_key)
        if remembered is not None:
            self._rendered.move_to_end(memo_key)
            return remembered
        document = _encrypt_document(clean, normalized)
        rendered = render_yaml(document, last=(_ENCRYPTION_BLOCK,))
        self._rendered[memo_key] = rendered
        if len(self._rendered) > self.capacity:
            self._rendered.popitem(last=False)
        return rendered


_DEFAULT_RENDERER = SecretRenderer()


def render_secret(obj: Mapping[str, Any], recipients: Sequence[str]) -> bytes:
    """`SecretRenderer.render` on the process-wide renderer: rendering an identical Secret
    for the same recipients again returns the very same bytes."""
    return _DEFAULT_RENDERER.render(obj, recipients)


def decrypt_secret(content: bytes, identity: str) -> dict[str, Any]:
    """The Secret manifest stored in an encrypted file, values in clear and the `encryption`
    block removed. EncryptionError when `identity` is not a recipient or the file was altered.
    """
    document = _load(content)
    block = document.pop(_ENCRYPTION_BLOCK, None)
    if not isinstance(block, Mapping) or block.get("format") != FORMAT:
        raise EncryptionError(f"not an encrypted Secret file (no {FORMAT!r} encryption block)")
    try:
        wrapped_key = base64.b64decode("".join(str(block["data_key"]).split()), validate=True)
        data_key = pyrage.decrypt(wrapped_key, [_parse_identity(identity)])
    except (KeyError, ValueError, pyrage.DecryptError) as error:
        raise EncryptionError(
            f"cannot unwrap the data key with this identity ({error}); is it one of the "
            f"recipients {block.get('recipients')}?"
        ) from error
    cipher = AESGCM(data_key)
    entries: dict[str, dict[str, str]] = {}
    for section in ENCRYPTED_KEYS:
        values = document.get(section)
        if not isinstance(values, Mapping):
            continue
        decrypted = {
            str(key): _open(cipher, str(value), _value_context(section, str(key))).decode()
            for key, value in values.items()
        }
        document[section] = decrypted
        entries[section] = decrypted
    expected_mac = _open(cipher, str(block.get("mac", "")), _MAC_CONTEXT)
    if expected_mac != _entries_digest(entries):
        raise EncryptionError("the encrypted entries do not match the file's mac: it was altered")
    return document


def secret_files_equivalent(existing: bytes, desired: bytes, identity: str) -> bool:
    """Whether two encrypted Secret files hold the same Secret for the same recipients:
    equal clear-text parts, equal recipient sets and equal decrypted values. False when either
    file cannot be read with `identity` (re-encrypting is then the safe answer)."""
    if existing == desired:
        return True
    try:
        old_document, new_document = _load(existing), _load(desired)
        old_block = old_document.get(_ENCRYPTION_BLOCK) or {}
        new_block = new_document.get(_ENCRYPTION_BLOCK) or {}
        if sorted(old_block.get("recipients", [])) != sorted(new_block.get("recipients", [])):
            return False
        return decrypt_secret(existing, identity) == decrypt_secret(desired, identity)
    except (EncryptionError, yaml.YAMLError, AttributeError, TypeError):
        return False


def _encrypt_document(clean: dict[str, Any], recipients: list[str]) -> dict[str, Any]:
    data_key = AESGCM.generate_key(bit_length=256)
    cipher = AESGCM(data_key)
    document = dict(clean)
    entries: dict[str, dict[str, str]] = {}
    for section in ENCRYPTED_KEYS:
        values = clean.get(section)
        if not values:
            continue
        if not isinstance(values, Mapping):
            raise EncryptionError(f"Secret {section} must be a mapping, got {type(values)}")
        entries[section] = {
            str(key): _as_text(section, key, value) for key, value in values.items()
        }
        document[section] = {
            key: _seal(cipher, text.encode(), _value_context(section, key))
            for key, text in entries[section].items()
        }
    wrapped_key = pyrage.encrypt(
        data_key, [pyrage.x25519.Recipient.from_str(r) for r in recipients]
    )
    document[_ENCRYPTION_BLOCK] = {
        "format": FORMAT,
        "encrypted_keys": list(ENCRYPTED_KEYS),
        "recipients": recipients,
        # Wrapped at 76 columns: a literal block, not one line of several hundred characters.
        "data_key": base64.encodebytes(wrapped_key).decode(),
        "mac": _seal(cipher, _entries_digest(entries), _MAC_CONTEXT),
    }
    return document


def _normalized_recipients(recipients: Sequence[str]) -> list[str]:
    normalized = sorted({recipient.strip() for recipient in recipients})
    if not normalized:
        raise EncryptionError("a Secret needs at least one age recipient to be written")
    invalid = validate_recipients(normalized)
    if invalid:
        raise EncryptionError(f"invalid age recipients: {invalid}")
    return normalized


def _parse_identity(identity: str) -> Any:
    try:
        return pyrage.x25519.Identity.from_str(identity.strip())
    except pyrage.IdentityError as error:
        raise EncryptionError(f"not a valid age identity (AGE-SECRET-KEY-1...): {error}") from error


def _seal(cipher: AESGCM, plaintext: bytes, context: bytes) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = cipher.encrypt(nonce, plaintext, context)
    body, tag = sealed[:-_TAG_BYTES], sealed[-_TAG_BYTES:]
    return f"ENC[AES256_GCM,data:{_b64(body)},iv:{_b64(nonce)},tag:{_b64(tag)}]"


def _open(cipher: AESGCM, value: str, context: bytes) -> bytes:
    match = _ENC_VALUE.match(value)
    if match is None:
        raise EncryptionError(f"not an encrypted value: {value[:40]!r}")
    body = base64.b64decode(match["data"])
    nonce = base64.b64decode(match["iv"])
    tag = base64.b64decode(match["tag"])
    try:
        return cipher.decrypt(nonce, body + tag, context)
    except InvalidTag as error:
        raise EncryptionError(
            f"value at {context.decode()} fails authentication: it was altered or moved"
        ) from error


def _value_context(section: str, key: str) -> bytes:
    return f"{section}:{key}".encode()


def _as_text(section: str, key: object, value: object) -> str:
    if not isinstance(value, str):
        raise EncryptionError(f"Secret {section}.{key} must be a string, got {type(value)}")
    return value


def _entries_digest(entries: Mapping[str, Mapping[str, str]]) -> bytes:
    return hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).digest()


def _digest(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _load(content: bytes) -> dict[str, Any]:
    try:
        document = yaml.safe_load(content)
    except yaml.YAMLError as error:
        raise EncryptionError(f"not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise EncryptionError("an encrypted Secret file must hold a mapping")
    return document

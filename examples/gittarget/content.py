"""What a GitTarget writes into its folder: one file per mirrored object, at a path derived from
the object's group, version, resource, namespace and name; Secrets encrypted or not at all.

Paths are relative to the repository root:

    <target_path>/<group>/<version>/<plural>/<namespace>/<name>.yaml

The group segment is omitted for the core group ("" — ConfigMaps, Secrets), the namespace
segment for cluster-scoped objects; Secrets end in `.sops.yaml` and hold only encrypted values
(see `encryption`). A Secret is never rendered when no recipients are configured: its
plaintext must not reach the history of the repository.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from .encryption import (
    EncryptionError,
    SecretRenderer,
    decrypt_secret,
    generate_identity,
    recipient_of,
    recipients_hash,
    render_secret,
    secret_files_equivalent,
    validate_recipients,
)
from .manifest import render_yaml, sanitize

__all__ = [
    "BOOTSTRAP_FILES",
    "ENCRYPTION_CONFIG_FILE",
    "README_FILE",
    "EncryptionError",
    "ObjectRef",
    "Operation",
    "RenderedFile",
    "SecretRenderer",
    "bootstrap_files",
    "commit_message",
    "content_equivalence",
    "decrypt_secret",
    "generate_identity",
    "is_secret",
    "join_path",
    "normalize_target_path",
    "object_path",
    "object_ref_from_path",
    "recipient_of",
    "recipients_hash",
    "render",
    "render_secret",
    "render_yaml",
    "sanitize",
    "validate_recipients",
]

Operation = Literal["CREATE", "UPDATE", "DELETE"]
SECRET_SUFFIX: Final = ".sops.yaml"
OBJECT_SUFFIX: Final = ".yaml"
README_FILE: Final = "README.md"
ENCRYPTION_CONFIG_FILE: Final = ".encryption.yaml"
BOOTSTRAP_FILES: Final = frozenset({README_FILE, ENCRYPTION_CONFIG_FILE})
# Core-group versions are the only first segments that look like a version ("v1", "v2beta1");
# group names are DNS names or single words like "apps", never of that shape.
_VERSION_SEGMENT = re.compile(r"^v\d+((alpha|beta)\d+)?$")
_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")


@dataclass(frozen=True)
class RenderedFile:
    """One file of the target folder: `path` relative to the repository root."""

    path: str
    content: bytes


@dataclass(frozen=True)
class ObjectRef:
    """Which object a file mirrors, as encoded in its path."""

    group: str
    version: str
    plural: str
    namespace: str | None
    name: str

    @property
    def identifier(self) -> str:
        """`<group/version/resource/name>` as commit messages use it (core group omitted)."""
        parts = [self.group, self.version, self.plural, self.name]
        return "/".join(part for part in parts if part)


def is_secret(obj: Mapping[str, Any]) -> bool:
    """Whether the object is a core v1 Secret."""
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def normalize_target_path(target_path: str) -> str:
    """The target folder without leading/trailing slashes; "" for the repository root.
    ValueError for `..` or empty segments, which could escape or alias another folder."""
    stripped = target_path.strip().strip("/")
    if stripped in ("", "."):
        return ""
    segments = stripped.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise ValueError(f"target path {target_path!r} must not contain '', '.' or '..' segments")
    return "/".join(segments)


def join_path(target_path: str, relative: str) -> str:
    """`relative` inside the target folder, relative to the repository root."""
    folder = normalize_target_path(target_path)
    return f"{folder}/{relative}" if folder else relative


def object_path(obj: Mapping[str, Any], plural: str, target_path: str) -> str:
    """Where the object is mirrored, relative to the repository root (see the module doc).
    ValueError when a name, namespace or the apiVersion is not usable as a path segment."""
    group, version = _split_api_version(str(obj.get("apiVersion", "")))
    metadata = obj.get("metadata") or {}
    name = str(metadata.get("name", ""))
    namespace = metadata.get("namespace") or None
    segments = [group, version, plural, namespace or "", name]
    for segment in segments[1:]:
        if segment and not _SAFE_SEGMENT.match(segment):
            raise ValueError(f"{segment!r} cannot be part of a file path")
    if not name or not version or not plural:
        raise ValueError("an object needs apiVersion, a resource plural and metadata.name")
    suffix = SECRET_SUFFIX if is_secret(obj) else OBJECT_SUFFIX
    relative = "/".join(segment for segment in segments[:-1] if segment) + f"/{name}{suffix}"
    return join_path(target_path, relative)


def object_ref_from_path(path: str, target_path: str) -> ObjectRef | None:
    """The object a file mirrors, or None when the file is not an object file of this target
    (a bootstrap file, a file outside the folder, or any other layout)."""
    folder = normalize_target_path(target_path)
    if folder:
        if not path.startswith(folder + "/"):
            return None
        path = path[len(folder) + 1 :]
    if path.endswith(SECRET_SUFFIX):
        stem = path[: -len(SECRET_SUFFIX)]
    elif path.endswith(OBJECT_SUFFIX):
        stem = path[: -len(OBJECT_SUFFIX)]
    else:
        return None
    segments = stem.split("/")
    if not all(_SAFE_SEGMENT.match(segment) for segment in segments):
        return None
    core = bool(_VERSION_SEGMENT.match(segments[0]))
    group, rest = ("", segments) if core else (segments[0], segments[1:])
    if len(rest) == 3:
        version, plural, name = rest
        return ObjectRef(group, version, plural, None, name)
    if len(rest) == 4:
        version, plural, namespace, name = rest
        return ObjectRef(group, version, plural, namespace, name)
    return None


def commit_message(operation: Operation, ref: ObjectRef) -> str:
    """`[CREATE] apps/v1/deployments/web` — the operation and the object's identifier."""
    return f"[{operation}] {ref.identifier}"


def render(
    obj: Mapping[str, Any],
    plural: str,
    target_path: str,
    recipients: Sequence[str] | None,
) -> RenderedFile | None:
    """The file mirroring `obj`: sanitised YAML, a Secret's values encrypted to `recipients`.
    None for a Secret when `recipients` is None or empty — it is then never written.
    EncryptionError when a recipient is invalid."""
    path = object_path(obj, plural, target_path)
    if is_secret(obj):
        if not recipients:
            return None
        return RenderedFile(path, render_secret(obj, recipients))
    return RenderedFile(path, render_yaml(sanitize(obj)))


def content_equivalence(identity: str | None) -> Callable[[str, bytes, bytes], bool]:
    """A `(path, existing, desired) -> bool` test for the branch worker: equal bytes, or — for
    encrypted Secret files, when the identity is known — the same decrypted Secret for the same
    recipients. With it, a restarted controller does not re-commit unchanged Secrets (their
    ciphertext differs on every encryption)."""

    def equivalent(path: str, existing: bytes, desired: bytes) -> bool:
        if existing == desired:
            return True
        if identity is None or not path.endswith(SECRET_SUFFIX):
            return False
        return secret_files_equivalent(existing, desired, identity)

    return equivalent


def bootstrap_files(target_path: str, recipients: Sequence[str] | None) -> dict[str, bytes]:
    """The files a target's folder starts with, by path relative to the repository root: a
    README saying what the folder is, and — when Secrets are encrypted — the encryption config
    naming the recipients."""
    folder = normalize_target_path(target_path) or "."
    files = {join_path(target_path, README_FILE): _readme(folder, bool(recipients)).encode()}
    if recipients:
        config = {
            "format": "age-envelope/v1",
            "path_regex": r".*\.sops\.ya?ml$",
            "encrypted_keys": ["data", "stringData"],
            "recipients": sorted({recipient.strip() for recipient in recipients}),
            "recipients_hash": recipients_hash(recipients),
        }
        files[join_path(target_path, ENCRYPTION_CONFIG_FILE)] = render_yaml(config)
    return files


def _readme(folder: str, encrypted: bool) -> str:
    secrets = (
        "Secrets are stored as `*.sops.yaml`: keys in clear, values encrypted to the age "
        f"recipients listed in `{ENCRYPTION_CONFIG_FILE}`."
        if encrypted
        else "Secrets are not mirrored: no encryption is configured for this folder."
    )
    return (
        f"# {folder}\n\n"
        "This folder mirrors Kubernetes objects selected by a GitTarget. It is written by a "
        "controller: changes made here by hand are overwritten.\n\n"
        "Layout: `<group>/<version>/<resource>/<namespace>/<name>.yaml` (no group for the core "
        "API group, no namespace for cluster-scoped objects).\n\n"
        f"{secrets}\n"
    )


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    if group and not _SAFE_SEGMENT.match(group):
        raise ValueError(f"{group!r} cannot be part of a file path")
    return group, version

"""Small pure rules of the object lifecycle shared by create, update, patch and delete."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .resources import JSONObject

# Metadata the server owns: clients cannot set or change it through writes.
SERVER_OWNED_METADATA = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
)

# Characters the real server uses for generateName suffixes (no vowels, no look-alikes).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass
class WriteContext:
    """Per-request options of a write, and the warnings it produced."""

    dry_run: bool = False
    field_manager: str = ""
    verb: str = ""
    field_validation: str = "Warn"
    warnings: list[str] = field(default_factory=list)


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_uid() -> str:
    return str(uuid.uuid4())


def generated_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))


def desired_state(obj: JSONObject) -> JSONObject:
    """Everything outside metadata and status: a change here bumps metadata.generation."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def comparable(obj: JSONObject) -> JSONObject:
    """The object minus what a no-op write may still differ in (resourceVersion)."""
    meta = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    return {**obj, "metadata": meta}


def is_deleting(obj: JSONObject) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def finalizers(obj: JSONObject) -> list[str]:
    value = obj["metadata"].get("finalizers") or []
    return [f for f in value if isinstance(f, str)]


def with_metadata(obj: JSONObject, **changes: Any) -> JSONObject:
    """A copy of obj with metadata keys set (None removes the key)."""
    meta = dict(obj["metadata"])
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    return {**obj, "metadata": meta}


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the leaves that differ between two JSON values."""
    if isinstance(old, dict) and isinstance(new, dict):
        paths: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                paths.append(sub)
            elif old[key] != new[key]:
                paths.extend(changed_paths(old[key], new[key], sub))
        return paths
    return [] if old == new else [prefix]

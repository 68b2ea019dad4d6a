"""`checkpoint_scope`: the stable, file-name-safe name of one watch's checkpoint."""

from __future__ import annotations

import hashlib
import re

import orjson

from ..meta import ResourceKind

# Bump when the scope derivation changes: old checkpoints then stop matching (a cold start)
# instead of being read under a scope they were not written for.
_SCOPE_DERIVATION = "controllerkit.checkpoint-scope/1"
_UNSAFE_SCOPE_CHARACTERS = re.compile(r"[^a-z0-9.-]+")
_READABLE_PART_LIMIT = 120

def checkpoint_scope(
    kind: ResourceKind, namespace: str | None, label_selector: str, field_selector: str
) -> str:
    """The scope name of one watch: kind (with version), namespace and selectors.

    Stable across processes and releases (a pure function of its arguments), safe as a file
    name (lowercase letters, digits, `.`, `-`, `_`; at most 180 characters) and unique: different
    arguments give different scopes. Selectors are compared as written, so `a=1,b=2` and
    `b=2,a=1` get different scopes (a cold start, never a wrong cache). A cluster-scoped kind
    ignores `namespace`, as its REST path does. The readable prefix is for people; the digest
    suffix is what makes the scope unique.
    """
    scoped_namespace = (namespace or "") if kind.namespaced else ""
    identity = orjson.dumps([
        _SCOPE_DERIVATION, kind.group, kind.version, kind.plural, scoped_namespace,
        label_selector, field_selector,
    ])
    digest = hashlib.sha256(identity).hexdigest()[:32]
    # Namespaces cannot contain "_", so the separators below never occur inside a part.
    where = f"ns-{_safe(scoped_namespace)}" if scoped_namespace else "all"
    readable = f"{_safe(kind.group_resource)}.{_safe(kind.version)}_{where}"
    return f"{readable[:_READABLE_PART_LIMIT]}_{digest}"


def _safe(part: str) -> str:
    return _UNSAFE_SCOPE_CHARACTERS.sub("-", part.lower())

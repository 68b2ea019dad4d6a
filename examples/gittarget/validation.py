"""The `Validated` gate's checks: the provider exists, the branch is allowed, no other target
writes the same folder of the same branch.

Pure functions of what the caches hold, so the gate is cheap and its answer is the same for the
same cluster state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from controllerkit.conditions import format_time
from controllerkit.gates import GateResult

from .content import normalize_target_path
from .contract import Validated
from .kinds import GitProvider, GitTarget


def validate(target: GitTarget, provider: GitProvider | None,
             targets: Iterable[Mapping[str, Any]]) -> GateResult:
    """`Validated` for `target`: True/OK, or False with the first problem found.

    `provider` is the target's provider (None when it does not exist in the target's
    namespace); `targets` are the GitTargets the controller sees, as the server sends them.
    """
    namespace = target.metadata.namespace or ""
    if provider is None:
        return GateResult("False", Validated.PROVIDER_NOT_FOUND,
                          f"GitProvider {target.spec.provider_ref.name!r} not found in "
                          f"namespace {namespace!r}")
    allowed = provider.spec.allowed_branches
    if not any(fnmatchcase(target.spec.branch, pattern) for pattern in allowed):
        return GateResult("False", Validated.BRANCH_NOT_ALLOWED,
                          f"branch {target.spec.branch!r} matches none of the provider's "
                          f"allowedBranches {allowed}")
    winner = _earlier_claim(target, targets)
    if winner is not None:
        return GateResult("False", Validated.TARGET_CONFLICT,
                          f"GitTarget {winner!r} already writes path "
                          f"{target.spec.path or '/'!r} of branch {target.spec.branch!r} of "
                          f"provider {target.spec.provider_ref.name!r}")
    return GateResult("True", Validated.OK, "provider found, branch allowed, path unclaimed")


def _earlier_claim(target: GitTarget, targets: Iterable[Mapping[str, Any]]) -> str | None:
    """The name of a target created before this one that claims the same folder, if any.

    Targets created in the same second are ordered by name, so exactly one of them wins.
    """
    namespace = target.metadata.namespace or ""
    claim = _claim(namespace, target.to_dict()["spec"])
    created = target.metadata.creation_timestamp
    mine = (format_time(created) if created else "", target.metadata.name or "")
    earliest: tuple[tuple[str, str], str] | None = None
    for other in targets:
        metadata = other.get("metadata") or {}
        if metadata.get("namespace") != namespace or metadata.get("name") == (
                target.metadata.name):
            continue
        if metadata.get("deletionTimestamp"):
            continue
        if _claim(namespace, other.get("spec") or {}) != claim:
            continue
        age = _age(metadata)
        if age < mine and (earliest is None or age < earliest[0]):
            earliest = (age, str(metadata.get("name")))
    return earliest[1] if earliest is not None else None


def _claim(namespace: str, spec: Mapping[str, Any]) -> tuple[str, str, str, str]:
    try:
        path = normalize_target_path(str(spec.get("path") or ""))
    except ValueError:
        path = str(spec.get("path") or "")
    return (namespace, str((spec.get("providerRef") or {}).get("name") or ""),
            str(spec.get("branch") or ""), path)


def _age(metadata: Mapping[str, Any]) -> tuple[str, str]:
    # RFC 3339 UTC timestamps with a Z suffix sort as strings.
    return (str(metadata.get("creationTimestamp") or ""), str(metadata.get("name") or ""))

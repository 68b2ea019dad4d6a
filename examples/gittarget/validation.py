"""The `Validated` gate's checks: the provider exists, the branch is allowed, no other target
writes the same folder of the same branch.

Pure functions of what the caches hold, so the gate is cheap and its answer is the same for the
same cluster state.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from controllerkit.gates import GateResult

from .content import normalize_target_path
from .contract import Validated
from .kinds import GitProvider, GitTarget


def validate(target: GitTarget, provider: GitProvider | None,
             targets: Iterable[GitTarget]) -> GateResult:
    """`Validated` for `target`: True/OK, or False with the first problem found.

    `provider` is the target's provider (None when it does not exist in the target's
    namespace); `targets` are the GitTargets the controller sees.
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


def _earlier_claim(target: GitTarget, targets: Iterable[GitTarget]) -> str | None:
    """The name of a target created before this one that claims the same folder, if any.

    Targets created in the same second are ordered by name, so exactly one of them wins.
    """
    claimants = [other for other in targets
                 if other.metadata.namespace == target.metadata.namespace
                 and other.metadata.name != target.metadata.name
                 and other.metadata.deletion_timestamp is None
                 and _claim(other) == _claim(target) and _age(other) < _age(target)]
    return min(claimants, key=_age).metadata.name if claimants else None


def _claim(target: GitTarget) -> tuple[str, str, str]:
    spec = target.spec
    try:
        path = normalize_target_path(spec.path)
    except ValueError:
        path = spec.path  # not a valid folder: compared as written
    return (spec.provider_ref.name, spec.branch, path)


def _age(target: GitTarget) -> tuple[str, str]:
    created = target.metadata.creation_timestamp
    return (created.isoformat() if created else "", target.metadata.name or "")

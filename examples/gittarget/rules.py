"""From WatchRules to what to watch: each rule becomes a set of `MirrorSource`s (a served kind,
a namespace scope and a label selector) through the server's discovery.

A rule names resources as RBAC does: every combination of its `apiGroups`, `apiVersions` and
`resources`, with `*` for every group, the group's preferred version, or every resource that
can be listed and watched.
A name the server does not serve (a CRD not installed yet) is reported in
`Resolution.unresolved`, not silently dropped: the target's stream cannot be live while part
of what it should mirror cannot be watched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from controllerkit.meta import ResourceKind

from .discovery import DiscoveryReader
from .kinds import LabelSelector, ResourceRule, WatchRule

WILDCARD = "*"


@dataclass(frozen=True)
class MirrorSource:
    """One informer's worth of mirrored objects: a kind, a namespace (None: every namespace,
    or a cluster-scoped kind) and a label selector ("" selects everything)."""

    kind: ResourceKind
    namespace: str | None
    label_selector: str

    def describe(self) -> str:
        scope = f" in {self.namespace}" if self.namespace else ""
        selector = f" with {self.label_selector}" if self.label_selector else ""
        return f"{self.kind.api_version} {self.kind.plural}{scope}{selector}"


@dataclass(frozen=True)
class ScopedRule:
    """A rule of a WatchRule and the namespace of that WatchRule (its default scope)."""

    namespace: str
    rule: ResourceRule


@dataclass(frozen=True)
class Unresolved:
    """Resources a rule names that the server does not serve (`*` where the rule said so)."""

    group: str
    version: str
    resource: str
    reason: str

    def covers(self, group: str, version: str, resource: str) -> bool:
        """Whether a file of this group, version and resource may belong to these resources."""
        return all(mine in (WILDCARD, theirs) for mine, theirs in
                   ((self.group, group), (self.version, version), (self.resource, resource)))


@dataclass(frozen=True)
class Resolution:
    """What a target mirrors: the sources to watch and the names that could not be resolved."""

    sources: frozenset[MirrorSource]
    unresolved: tuple[Unresolved, ...] = ()

    def describe_unresolved(self) -> str:
        return "; ".join(entry.reason for entry in self.unresolved)

    def sorted_sources(self) -> list[MirrorSource]:
        return sorted(self.sources, key=lambda s: (s.kind.group, s.kind.version, s.kind.plural,
                                                   s.namespace or "", s.label_selector))


def rules_for_target(target_namespace: str, target_name: str,
                     watch_rules: Iterable[WatchRule]) -> list[ScopedRule]:
    """The rules of every WatchRule in the target's namespace that names the target."""
    return [ScopedRule(target_namespace, rule) for watch_rule in watch_rules
            if watch_rule.metadata.namespace == target_namespace
            and watch_rule.spec.target_ref.name == target_name
            for rule in watch_rule.spec.rules]


def label_selector_string(selector: LabelSelector | None) -> str:
    """The selector in the list/watch query syntax (`app=web,tier in (a,b),!legacy`)."""
    if selector is None:
        return ""
    terms = [f"{key}={value}" for key, value in sorted(selector.match_labels.items())]
    for requirement in selector.match_expressions:
        values = ",".join(sorted(requirement.values))
        if requirement.operator == "In":
            terms.append(f"{requirement.key} in ({values})")
        elif requirement.operator == "NotIn":
            terms.append(f"{requirement.key} notin ({values})")
        elif requirement.operator == "Exists":
            terms.append(requirement.key)
        else:
            terms.append(f"!{requirement.key}")
    return ",".join(terms)


async def resolve(rules: Iterable[ScopedRule], reader: DiscoveryReader) -> Resolution:
    """The sources the rules select, through `reader`'s discovery documents."""
    sources: set[MirrorSource] = set()
    unresolved: list[Unresolved] = []
    served = await reader.groups()
    for scoped in rules:
        rule = scoped.rule
        selector = label_selector_string(rule.label_selector)
        groups = sorted(served) if WILDCARD in rule.api_groups else rule.api_groups
        for group in groups:
            info = served.get(group)
            if info is None:
                unresolved.append(Unresolved(group, WILDCARD, WILDCARD,
                                             f"API group {group or 'core'!r} is not served"))
                continue
            versions = ([info.preferred] if WILDCARD in rule.api_versions
                        else rule.api_versions)
            for version in versions:
                resources = await reader.resources(group, version)
                if resources is None:
                    unresolved.append(Unresolved(
                        group, version, WILDCARD,
                        f"{_group_version(group, version)} is not served"))
                    continue
                by_plural = {r.kind.plural: r for r in resources if r.listable}
                plurals = sorted(by_plural) if WILDCARD in rule.resources else rule.resources
                for plural in plurals:
                    resource = by_plural.get(plural)
                    if resource is None:
                        unresolved.append(Unresolved(
                            group, version, plural,
                            f"{_group_version(group, version)} serves no listable resource "
                            f"{plural!r}"))
                        continue
                    for namespace in _namespaces(resource.kind, scoped):
                        sources.add(MirrorSource(resource.kind, namespace, selector))
    return Resolution(frozenset(sources), tuple(dict.fromkeys(unresolved)))


def _namespaces(kind: ResourceKind, scoped: ScopedRule) -> Sequence[str | None]:
    if not kind.namespaced:
        return [None]
    wanted = scoped.rule.namespaces
    if wanted is None:
        return [scoped.namespace]
    if WILDCARD in wanted:
        return [None]
    return sorted(set(wanted))


def _group_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version

"""WatchRules resolved through the API server's discovery: wildcards, scopes, selectors, and
names the server does not serve."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import KubeClient
from controllerkit.meta import CONFIG_MAP, CUSTOM_RESOURCE_DEFINITION, NAMESPACE, SECRET
from examples.gittarget.discovery import DiscoveryReader
from examples.gittarget.kinds import GIT_TARGET, LabelSelector, ResourceRule, WatchRule, crds
from examples.gittarget.rules import (
    MirrorSource,
    ScopedRule,
    label_selector_string,
    resolve,
    rules_for_target,
)


@pytest.fixture
async def reader(kube: KubeClient) -> AsyncIterator[DiscoveryReader]:
    async with DiscoveryReader(kube) as found:
        yield found


def rule(**fields: object) -> ScopedRule:
    return ScopedRule("team", ResourceRule.model_validate(fields))


async def test_named_resources_resolve_to_kinds_in_the_rules_namespace(
        reader: DiscoveryReader) -> None:
    resolution = await resolve(
        [rule(apiGroups=[""], apiVersions=["v1"], resources=["configmaps", "namespaces"])],
        reader)
    assert resolution.sources == {MirrorSource(CONFIG_MAP, "team", ""),
                                  MirrorSource(NAMESPACE, None, "")}
    assert resolution.unresolved == ()


async def test_wildcards_take_the_preferred_version_and_every_listable_resource(
        reader: DiscoveryReader) -> None:
    resolution = await resolve([rule(apiGroups=["coordination.k8s.io"], apiVersions=["*"],
                                     resources=["*"], namespaces=["*"])], reader)
    assert [(s.kind.version, s.kind.plural, s.namespace) for s in resolution.sources] == [
        ("v1", "leases", None)]


async def test_listed_namespaces_and_selectors_give_one_source_each(
        reader: DiscoveryReader) -> None:
    selector = {"matchLabels": {"app": "web"}}
    resolution = await resolve([rule(apiGroups=[""], resources=["secrets"],
                                     namespaces=["b", "a"], labelSelector=selector)], reader)
    assert resolution.sorted_sources() == [MirrorSource(SECRET, "a", "app=web"),
                                           MirrorSource(SECRET, "b", "app=web")]


async def test_names_the_server_does_not_serve_are_reported(reader: DiscoveryReader) -> None:
    resolution = await resolve([
        rule(apiGroups=["example.com"], resources=["widgets"]),
        rule(apiGroups=[""], apiVersions=["v2"], resources=["configmaps"]),
        rule(apiGroups=[""], apiVersions=["v1"], resources=["gizmos", "configmaps"]),
    ], reader)
    assert resolution.sources == {MirrorSource(CONFIG_MAP, "team", "")}
    assert [entry.reason for entry in resolution.unresolved] == [
        "API group 'example.com' is not served",
        "v2 is not served",
        "v1 serves no listable resource 'gizmos'",
    ]
    assert resolution.unresolved[0].covers("example.com", "v1", "widgets")
    assert not resolution.unresolved[2].covers("", "v1", "configmaps")


async def test_custom_resources_resolve_once_their_crd_is_installed(
        server: EmbeddedApiServer, kube: KubeClient) -> None:
    wanted = [rule(apiGroups=["gittarget.controllerkit.dev"], resources=["gittargets"])]
    async with DiscoveryReader(kube) as before:
        assert (await resolve(wanted, before)).sources == frozenset()
    for crd in crds():
        await kube.create(CUSTOM_RESOURCE_DEFINITION, crd)
    async with DiscoveryReader(kube) as after:
        resolved = await resolve(wanted, after)
    assert resolved.sources == {MirrorSource(GIT_TARGET, "team", "")}
    assert resolved.unresolved == ()


def test_label_selectors_use_the_query_syntax() -> None:
    selector = LabelSelector.model_validate({
        "matchLabels": {"tier": "db", "app": "web"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "dev"]},
            {"key": "zone", "operator": "NotIn", "values": ["x"]},
            {"key": "owner", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist"},
        ]})
    assert label_selector_string(selector) == (
        "app=web,tier=db,env in (dev,prod),zone notin (x),owner,!legacy")
    assert label_selector_string(None) == ""


def test_a_target_gets_the_rules_of_its_own_namespace_that_name_it() -> None:
    def watch_rule(namespace: str, target: str, resource: str) -> WatchRule:
        return WatchRule.model_validate({
            "metadata": {"namespace": namespace, "name": resource},
            "spec": {"targetRef": {"name": target},
                     "rules": [{"apiGroups": [""], "resources": [resource]}]}})

    found = rules_for_target("team", "mine", [
        watch_rule("team", "mine", "configmaps"), watch_rule("team", "other", "secrets"),
        watch_rule("elsewhere", "mine", "leases")])
    assert [(r.namespace, r.rule.resources) for r in found] == [("team", ["configmaps"])]


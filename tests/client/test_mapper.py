"""`RestMapper`: kinds resolved through the server's discovery."""

from __future__ import annotations

import pytest

from controllerkit.client import KubeClient
from controllerkit.client.mapper import RestMapper
from controllerkit.errors import NoKindMatch
from controllerkit.meta import CONFIG_MAP, CUSTOM_RESOURCE_DEFINITION, NAMESPACE, ResourceKind

from ..apiserver.manifests import widget_crd
from .kinds import WIDGET


async def test_built_in_kinds_resolve_with_their_plural_and_scope(kube: KubeClient) -> None:
    mapper = RestMapper(kube)
    assert await mapper.resolve("v1", "ConfigMap") == CONFIG_MAP
    assert await mapper.resolve("v1", "Namespace") == NAMESPACE
    assert await mapper.check(CONFIG_MAP) == CONFIG_MAP


async def test_a_group_the_server_does_not_serve_is_named_in_the_error(
    kube: KubeClient,
) -> None:
    with pytest.raises(NoKindMatch, match=r"no kind Widget in example\.com/v1: the server "
                                          r"does not serve example\.com/v1"):
        await RestMapper(kube).resolve("example.com/v1", "Widget")


async def test_a_kind_missing_from_a_served_group_lists_what_is_there(
    kube: KubeClient,
) -> None:
    with pytest.raises(NoKindMatch, match=r"no kind ConfigMaps in v1: the server serves "
                                          r".*ConfigMap,"):
        await RestMapper(kube).resolve("v1", "ConfigMaps")


async def test_a_wrong_plural_is_refused_with_both_names(kube: KubeClient) -> None:
    wrong = ResourceKind("", "v1", "ConfigMap", "configmap")
    with pytest.raises(NoKindMatch, match=r"declared as 'configmap' \(namespaced\), but the "
                                          r"server serves it as 'configmaps' \(namespaced\)"):
        await RestMapper(kube).check(wrong)


async def test_a_crd_installed_after_a_miss_is_found(kube: KubeClient) -> None:
    mapper = RestMapper(kube)
    with pytest.raises(NoKindMatch):
        await mapper.resolve(WIDGET.api_version, WIDGET.kind)
    await kube.create(CUSTOM_RESOURCE_DEFINITION, widget_crd())
    assert await mapper.resolve(WIDGET.api_version, WIDGET.kind) == WIDGET

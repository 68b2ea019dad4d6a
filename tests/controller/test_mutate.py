"""create_or_update / create_or_patch create what is missing, write only what changed, skip
writes that change nothing, and never overwrite a newer object."""

from __future__ import annotations

from typing import Any

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import KubeClient
from controllerkit.controller import (
    MutateFn,
    OperationResult,
    create_or_patch,
    create_or_update,
)
from controllerkit.errors import Conflict
from controllerkit.meta import CONFIG_MAP, NAMESPACE, JSONObject, resource_version

OPERATIONS = pytest.mark.parametrize("operation", [create_or_update, create_or_patch],
                                     ids=["update", "patch"])
KEY: dict[str, Any] = {"metadata": {"name": "shaped", "namespace": "default"}}


def set_size(size: str) -> MutateFn:
    def mutate(obj: JSONObject) -> None:
        obj.setdefault("data", {})["size"] = size
    return mutate


def writes(server: EmbeddedApiServer) -> int:
    return sum(server.engine.requests.count(verb, "configmaps")
               for verb in ("create", "update", "patch"))


@OPERATIONS
async def test_absent_object_is_created_from_the_mutated_key(
    operation: Any, kube: KubeClient
) -> None:
    stored, result = await operation(kube, CONFIG_MAP, KEY, set_size("3"))
    assert result is OperationResult.CREATED
    assert stored["data"] == {"size": "3"}
    assert (await kube.get(CONFIG_MAP, "shaped", namespace="default"))["data"] == {"size": "3"}
    assert "data" not in KEY  # the caller's object is not modified


@OPERATIONS
async def test_unchanged_object_is_not_written(
    operation: Any, kube: KubeClient, server: EmbeddedApiServer
) -> None:
    first, _ = await operation(kube, CONFIG_MAP, KEY, set_size("3"))
    assert writes(server) == 1  # the create: the count sees writes
    server.engine.requests.clear()
    again, result = await operation(kube, CONFIG_MAP, KEY, set_size("3"))
    assert result is OperationResult.UNCHANGED
    assert resource_version(again) == resource_version(first)
    assert writes(server) == 0


@OPERATIONS
async def test_change_is_written_and_fields_others_own_are_kept(
    operation: Any, kube: KubeClient, server: EmbeddedApiServer
) -> None:
    await kube.create(CONFIG_MAP, {"metadata": {"name": "shaped", "labels": {"team": "a"}},
                                   "data": {"size": "1", "owner": "someone"}},
                      namespace="default")
    server.engine.requests.clear()
    stored, result = await operation(kube, CONFIG_MAP, KEY, set_size("5"))
    assert result is OperationResult.UPDATED
    assert writes(server) == 1
    assert stored["data"] == {"size": "5", "owner": "someone"}
    live = await kube.get(CONFIG_MAP, "shaped", namespace="default")
    assert live["data"] == {"size": "5", "owner": "someone"}
    assert live["metadata"]["labels"] == {"team": "a"}


async def test_patch_sends_only_the_difference(
    kube: KubeClient, server: EmbeddedApiServer
) -> None:
    await kube.create(CONFIG_MAP, {"metadata": {"name": "shaped"},
                                   "data": {"size": "1", "keep": "x", "drop": "y"}},
                      namespace="default")

    def mutate(obj: JSONObject) -> None:
        obj["data"]["size"] = "2"
        del obj["data"]["drop"]

    server.engine.requests.clear()
    stored, result = await create_or_patch(kube, CONFIG_MAP, KEY, mutate)
    assert result is OperationResult.UPDATED
    assert stored["data"] == {"size": "2", "keep": "x"}
    assert server.engine.requests.count("patch", "configmaps") == 1
    assert server.engine.requests.count("update", "configmaps") == 0


@OPERATIONS
async def test_async_mutate_is_awaited(operation: Any, kube: KubeClient) -> None:
    async def mutate(obj: JSONObject) -> None:
        obj["data"] = {"from": "coroutine"}

    stored, result = await operation(kube, CONFIG_MAP, KEY, mutate)
    assert result is OperationResult.CREATED and stored["data"] == {"from": "coroutine"}
    stored, result = await operation(kube, CONFIG_MAP, KEY, mutate)
    assert result is OperationResult.UNCHANGED


@OPERATIONS
async def test_renaming_in_mutate_is_refused_before_any_write(
    operation: Any, kube: KubeClient, server: EmbeddedApiServer
) -> None:
    def rename(obj: JSONObject) -> None:
        obj["metadata"]["name"] = "other"

    def move(obj: JSONObject) -> None:
        obj["metadata"]["namespace"] = "kube-system"

    with pytest.raises(ValueError, match="default/shaped became default/other"):
        await operation(kube, CONFIG_MAP, KEY, rename)  # absent: before create
    await kube.create(CONFIG_MAP, {"metadata": {"name": "shaped"}}, namespace="default")
    server.engine.requests.clear()
    with pytest.raises(ValueError, match="name or namespace"):
        await operation(kube, CONFIG_MAP, KEY, move)  # present: before update
    assert writes(server) == 0


@OPERATIONS
async def test_object_changed_during_mutate_raises_conflict(
    operation: Any, kube: KubeClient
) -> None:
    await kube.create(CONFIG_MAP, {"metadata": {"name": "shaped"}, "data": {"size": "1"}},
                      namespace="default")

    async def racing(obj: JSONObject) -> None:
        await kube.patch(CONFIG_MAP, "shaped", {"data": {"other": "writer"}},
                         namespace="default")
        obj["data"]["size"] = "9"

    with pytest.raises(Conflict):
        await operation(kube, CONFIG_MAP, KEY, racing)
    live = await kube.get(CONFIG_MAP, "shaped", namespace="default")
    assert live["data"] == {"size": "1", "other": "writer"}


@OPERATIONS
async def test_cluster_scoped_kind_and_missing_namespace(
    operation: Any, kube: KubeClient
) -> None:
    def label(obj: JSONObject) -> None:
        obj["metadata"].setdefault("labels", {})["tier"] = "gold"

    stored, result = await operation(kube, NAMESPACE, {"metadata": {"name": "team-a"}}, label)
    assert result is OperationResult.CREATED
    assert stored["metadata"]["labels"] == {"tier": "gold"}
    with pytest.raises(ValueError, match="namespaced"):
        await operation(kube, CONFIG_MAP, {"metadata": {"name": "nowhere"}}, label)

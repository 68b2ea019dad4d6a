"""`examples/minimal.py`: labelled ConfigMaps get their key count as an annotation."""

from __future__ import annotations

from controllerkit import KubeClient
from controllerkit.kinds import ConfigMap
from controllerkit.testing import eventually, run_manager

from .conftest import LoadExample


def config_map(name: str, data: dict[str, str], labels: dict[str, str] | None = None
               ) -> ConfigMap:
    return ConfigMap.model_validate({
        "metadata": {"name": name, "namespace": "default", "labels": labels or {}},
        "data": data})


async def test_labelled_config_maps_are_annotated_with_their_key_count(
    kube: KubeClient, load_example: LoadExample,
) -> None:
    example = load_example("minimal")
    config_maps = kube.typed(ConfigMap)
    labels = {example.LABEL: "true"}

    async def annotation(name: str) -> str | None:
        found = await config_maps.get(name, namespace="default")
        return (found.metadata.annotations or {}).get(example.ANNOTATION)

    async def annotated(name: str, keys: str) -> bool:
        return await annotation(name) == keys

    async with run_manager(example.manager):
        await config_maps.create(config_map("unlabelled", {"a": "1"}))
        await config_maps.create(config_map("counted", {"a": "1", "b": "2"}, labels))
        await eventually(lambda: annotated("counted", "2"))
        # The one worker takes keys first in, first out: "unlabelled" was reconciled before.
        assert await annotation("unlabelled") is None

        counted = await config_maps.get("counted", namespace="default")
        counted.data = {"a": "1"}
        await config_maps.update(counted)
        await eventually(lambda: annotated("counted", "1"))

        unlabelled = await config_maps.get("unlabelled", namespace="default")
        unlabelled.metadata.labels = labels
        await config_maps.update(unlabelled)
        await eventually(lambda: annotated("unlabelled", "1"))

"""`to_json_object`: dicts, mappings, pydantic models and kubernetes_asyncio models as JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType

import pytest
from kubernetes_asyncio.client import (
    V1Container,
    V1ContainerPort,
    V1Deployment,
    V1DeploymentSpec,
    V1LabelSelector,
    V1ObjectMeta,
    V1PodSpec,
    V1PodTemplateSpec,
)
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from controllerkit.kinds import ConfigMap
from controllerkit.meta import ObjectMeta
from controllerkit.objects import to_json_object


def test_a_dict_is_the_object_itself() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert to_json_object(obj) is obj


def test_another_mapping_is_copied_into_a_dict() -> None:
    frozen = MappingProxyType({"apiVersion": "v1", "kind": "ConfigMap"})
    converted = to_json_object(frozen)
    assert type(converted) is dict and converted == dict(frozen)


def test_a_resource_model_is_written_with_its_to_dict() -> None:
    settings = ConfigMap(metadata=ObjectMeta(name="settings"), binary_data={"b": "AA=="})
    assert to_json_object(settings) == {"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": "settings"},
                                        "binaryData": {"b": "AA=="}}


class Note(BaseModel):
    """A model of the caller's own, without `to_dict`."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    api_version: str = "v1"
    kind: str = "ConfigMap"
    metadata: dict[str, str]
    data: dict[str, str] | None = None
    seen_at: datetime | None = None


def test_any_other_pydantic_model_is_dumped_as_json_by_alias_without_nones() -> None:
    note = Note(metadata={"name": "n"}, seen_at=datetime(2025, 5, 1, tzinfo=UTC))
    assert to_json_object(note) == {"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "n"}, "seenAt": "2025-05-01T00:00:00Z"}


def test_a_kubernetes_asyncio_model_is_converted_under_its_json_names() -> None:
    deployment = V1Deployment(
        api_version="apps/v1", kind="Deployment",
        metadata=V1ObjectMeta(name="web", namespace="default", labels={"app": "web"},
                              creation_timestamp=datetime(2025, 5, 1, 10, 0, tzinfo=UTC)),
        spec=V1DeploymentSpec(
            replicas=2,
            selector=V1LabelSelector(match_labels={"app": "web"}),
            template=V1PodTemplateSpec(
                metadata=V1ObjectMeta(labels={"app": "web"}),
                spec=V1PodSpec(host_ipc=False, containers=[
                    V1Container(name="web", image="nginx", args=["-g", "daemon off;"],
                                ports=[V1ContainerPort(container_port=80, host_ip="0.0.0.0")]),
                ]),
            ),
        ),
    )
    assert to_json_object(deployment) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
                     "creationTimestamp": "2025-05-01T10:00:00.000000Z"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"hostIPC": False, "containers": [{
                    "name": "web", "image": "nginx", "args": ["-g", "daemon off;"],
                    "ports": [{"containerPort": 80, "hostIP": "0.0.0.0"}],
                }]},
            },
        },
    }


def test_times_of_kubernetes_asyncio_models_are_written_in_utc_with_six_digits() -> None:
    # Six digits satisfy both metav1.Time and MicroTime, which a converter cannot tell apart.
    meta = V1ObjectMeta(name="c", creation_timestamp=datetime(2025, 5, 1, 12, 0, 0, 250000,
                                                              tzinfo=UTC))
    assert to_json_object(meta)["creationTimestamp"] == "2025-05-01T12:00:00.250000Z"
    naive = V1ObjectMeta(name="c", creation_timestamp=datetime(2025, 5, 1, 12, 0))
    assert to_json_object(naive)["creationTimestamp"] == "2025-05-01T12:00:00.000000Z"


def test_the_free_form_values_inside_a_kubernetes_asyncio_model_keep_their_nulls() -> None:
    meta = V1ObjectMeta(name="c", annotations={"a": None})  # type: ignore[dict-item]
    assert to_json_object(meta) == {"name": "c", "annotations": {"a": None}}


@pytest.mark.parametrize("value", [42, "a string", ["a", "list"], None, V1ObjectMeta])
def test_anything_else_is_a_type_error_that_says_what_is_accepted(value: object) -> None:
    with pytest.raises(TypeError) as raised:
        to_json_object(value)
    name = type(value).__qualname__
    assert str(raised.value) == (
        f"{name} is not an object: expected a dict (or another Mapping), a pydantic model "
        f"or a kubernetes_asyncio model")

"""The generated models through the embedded API server: written with `to_dict()`, read back
with `model_validate`, over HTTP with the real client."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from controllerkit.client import KubeClient
from controllerkit.kinds import ConfigMap, Job, Lease, Namespace, Secret
from controllerkit.kinds.batch_v1 import JobSpec
from controllerkit.kinds.coordination_v1 import LeaseSpec
from controllerkit.kinds.core_v1 import Container, PodSpec, PodTemplateSpec
from controllerkit.meta import ObjectMeta


def in_default(name: str) -> ObjectMeta:
    return ObjectMeta(name=name, namespace="default")


async def test_a_config_map_is_written_and_read_back(kube: KubeClient) -> None:
    settings = ConfigMap(metadata=in_default("settings"), data={"mode": "fast"},
                         binary_data={"blob": base64.b64encode(b"\x00\x01").decode()})
    created = ConfigMap.model_validate(
        await kube.create(ConfigMap.__kind__, settings.to_dict()))
    assert (created.data, created.binary_data) == (settings.data, settings.binary_data)
    assert created.metadata.uid and created.metadata.creation_timestamp is not None

    created.data = {"mode": "slow"}
    created.immutable = True
    updated = ConfigMap.model_validate(await kube.update(ConfigMap.__kind__, created.to_dict()))
    assert (updated.data, updated.immutable) == ({"mode": "slow"}, True)


async def test_a_secret_is_written_and_read_back(kube: KubeClient) -> None:
    token = base64.b64encode(b"s3cr3t").decode()
    secret = Secret(metadata=in_default("token"), type="Opaque", data={"token": token})
    read = Secret.model_validate(await kube.create(Secret.__kind__, secret.to_dict()))
    assert (read.type, read.data) == ("Opaque", {"token": token})
    fetched = await kube.get(Secret.__kind__, "token", namespace="default")
    assert Secret.model_validate(fetched).to_dict() == fetched


async def test_a_namespace_is_cluster_scoped(kube: KubeClient) -> None:
    team = Namespace(metadata=ObjectMeta(name="team-a", labels={"team": "a"}))
    created = Namespace.model_validate(await kube.create(Namespace.__kind__, team.to_dict()))
    assert created.metadata.namespace is None and created.metadata.labels == {"team": "a"}
    assert created.status is not None and created.status.phase == "Active"


async def test_a_lease_keeps_its_micro_times(kube: KubeClient) -> None:
    renewed = datetime(2025, 5, 1, 10, 0, 0, tzinfo=UTC)  # a whole second: `.000000Z`
    lease = Lease(metadata=in_default("leader"), spec=LeaseSpec(
        holder_identity="replica-0", lease_duration_seconds=15, acquire_time=renewed,
        renew_time=renewed, lease_transitions=0))
    created = await kube.create(Lease.__kind__, lease.to_dict())
    assert created["spec"]["renewTime"] == "2025-05-01T10:00:00.000000Z"
    read = Lease.model_validate(created)
    assert read.spec == lease.spec
    assert read.to_dict() == created


async def test_a_job_with_a_pod_template_is_written_and_read_back(kube: KubeClient) -> None:
    job = Job(metadata=in_default("migrate"), spec=JobSpec(
        backoff_limit=1,
        template=PodTemplateSpec(spec=PodSpec(restart_policy="Never", containers=[
            Container(name="migrate", image="busybox:1.36", command=["sh", "-c", "true"]),
        ])),
    ))
    created = await kube.create(Job.__kind__, job.to_dict())
    read = Job.model_validate(created)
    assert read.spec is not None and read.spec.template.spec is not None
    assert read.spec.template.spec.containers[0].command == ["sh", "-c", "true"]
    assert read.to_dict() == created


async def test_the_typed_client_takes_and_returns_generated_models(kube: KubeClient) -> None:
    config_maps = kube.typed(ConfigMap)
    created = await config_maps.create(ConfigMap(metadata=in_default("typed"), data={"a": "1"}))
    assert isinstance(created, ConfigMap) and created.data == {"a": "1"}
    assert [cm.metadata.name for cm in await config_maps.list(namespace="default")] == ["typed"]

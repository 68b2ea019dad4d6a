"""Objects read into the generated models and written back: nothing lost, nothing changed."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from controllerkit import kinds
from controllerkit.kinds import CronJob, Deployment, Event, Lease, Pod, Role, Service
from controllerkit.kinds.apps_v1 import DeploymentSpec, RollingUpdateDeployment
from controllerkit.kinds.coordination_v1 import LeaseSpec
from controllerkit.kinds.core_v1 import (
    Container,
    ContainerPort,
    ObjectReference,
    PodSpec,
    PodTemplateSpec,
    ResourceRequirements,
)
from controllerkit.kinds.meta_v1 import LabelSelector
from controllerkit.meta import ObjectMeta

from .manifests import REALISTIC, cron_job, deployment, lease, pod, service, with_unknown_fields


@pytest.mark.parametrize("kind", sorted(REALISTIC))
def test_a_realistic_object_reads_and_writes_back_unchanged(kind: str) -> None:
    obj = REALISTIC[kind]()
    model = getattr(kinds, kind)
    assert model.model_validate(obj).to_dict() == obj


@pytest.mark.parametrize("kind", sorted(REALISTIC))
def test_fields_a_newer_server_adds_survive_a_round_trip(kind: str) -> None:
    obj = with_unknown_fields(REALISTIC[kind]())
    model = getattr(kinds, kind)
    assert model.model_validate(obj).to_dict() == obj


def test_unknown_fields_are_kept_as_extras_of_the_model_that_holds_them() -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["futureSetting"] = [{"mode": "X"}]
    read = Deployment.model_validate(obj)
    assert read.spec is not None
    container = read.spec.template.spec.containers[0] if read.spec.template.spec else None
    assert container is not None and container.model_extra == {
        "futureSetting": [{"mode": "X"}]}


def test_reading_never_changes_the_dict_it_reads() -> None:
    obj = with_unknown_fields(deployment())
    before = json.dumps(obj, sort_keys=True)
    Deployment.model_validate(obj).to_dict()
    assert json.dumps(obj, sort_keys=True) == before


def test_the_deployment_kubectl_create_makes_reads_into_the_model() -> None:
    made = subprocess.run(
        ["kubectl", "create", "deployment", "web", "--image=nginx", "--dry-run=client",
         "-o", "json"],
        capture_output=True, text=True, check=True, timeout=60,
        env={**os.environ, "KUBECONFIG": os.devnull},
    )
    obj = json.loads(made.stdout)
    read = Deployment.model_validate(obj)

    assert read.metadata.name == "web" and read.spec is not None
    assert read.spec.selector.match_labels == {"app": "web"}
    template = read.spec.template.spec
    assert template is not None
    assert [(c.name, c.image) for c in template.containers] == [("nginx", "nginx")]
    # kubectl writes `creationTimestamp: null` for the times it leaves unset; a model leaves
    # an unset field out instead, which the server reads the same way.
    del obj["metadata"]["creationTimestamp"]
    del obj["spec"]["template"]["metadata"]["creationTimestamp"]
    assert read.to_dict() == obj


def test_a_null_the_server_sends_for_an_unset_field_is_read_as_none_and_left_out() -> None:
    obj = pod()
    obj["status"]["conditions"][0]["lastProbeTime"] = None
    read = Pod.model_validate(obj)
    assert read.status is not None and read.status.conditions is not None
    assert read.status.conditions[0].last_probe_time is None
    assert "lastProbeTime" not in read.to_dict()["status"]["conditions"][0]


def test_a_named_target_port_stays_a_name_and_a_numbered_one_a_number() -> None:
    read = Service.model_validate(service())
    assert read.spec is not None and read.spec.ports is not None
    assert [port.target_port for port in read.spec.ports] == ["http", 9090]


def test_int_or_string_fields_take_a_count_or_a_percentage() -> None:
    rolling = RollingUpdateDeployment(max_surge=1, max_unavailable="25%")
    assert rolling.model_dump(mode="json", by_alias=True) == {
        "maxSurge": 1, "maxUnavailable": "25%"}
    with pytest.raises(ValidationError):
        RollingUpdateDeployment.model_validate({"maxSurge": [1]})


def test_quantities_keep_the_form_they_were_given_in() -> None:
    read = CronJob.model_validate(cron_job())
    assert read.spec is not None and read.spec.job_template.spec is not None
    pod_spec = read.spec.job_template.spec.template.spec
    assert pod_spec is not None
    resources = pod_spec.containers[0].resources
    assert resources is not None
    assert resources.limits == {"cpu": 1, "memory": "128Mi"}
    assert resources.requests == {"cpu": 0.25, "memory": "64Mi"}
    assert ResourceRequirements(limits={"cpu": "500m"}).model_dump(
        mode="json", exclude_none=True) == {"limits": {"cpu": "500m"}}


def test_times_read_as_aware_datetimes_and_write_back_in_rfc3339_with_z() -> None:
    read = Deployment.model_validate(deployment())
    assert read.status is not None and read.status.conditions is not None
    available = read.status.conditions[0]
    assert available.last_transition_time == datetime(2025, 5, 1, 10, 0, 4, tzinfo=UTC)
    assert read.to_dict()["status"]["conditions"][0]["lastTransitionTime"] == (
        "2025-05-01T10:00:04Z")
    with pytest.raises(ValidationError):  # a time without a zone is ambiguous
        Deployment.model_validate({**deployment(), "status": {
            "conditions": [{"type": "Available", "status": "True",
                            "lastTransitionTime": "2025-05-01T10:00:04"}]}})


def test_micro_times_are_written_in_utc_with_six_fractional_digits() -> None:
    # The API server parses a MicroTime only in that form: a whole second needs `.000000`.
    on_the_second = datetime(2025, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    written = Lease(metadata=ObjectMeta(name="leader"),
                    spec=LeaseSpec(renew_time=on_the_second)).to_dict()
    assert written["spec"]["renewTime"] == "2025-05-01T10:00:00.000000Z"
    assert Lease.model_validate(lease()).to_dict() == lease()

    event = Event(metadata=ObjectMeta(name="web.1"), involved_object=ObjectReference(name="web"),
                  event_time=datetime(2025, 5, 1, 10, 0, 0, 5, tzinfo=UTC))
    assert event.to_dict()["eventTime"] == "2025-05-01T10:00:00.000005Z"


def test_models_are_built_with_snake_case_names_and_written_with_json_names() -> None:
    built = Deployment(
        metadata=ObjectMeta(name="web", namespace="default"),
        spec=DeploymentSpec(
            selector=LabelSelector(match_labels={"app": "web"}),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels={"app": "web"}),
                spec=PodSpec(host_ipc=False, containers=[Container(
                    name="web", image="nginx",
                    ports=[ContainerPort(container_port=80, host_ip="127.0.0.1")],
                )]),
            ),
        ),
    )
    expected: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"hostIPC": False, "containers": [{
                    "name": "web", "image": "nginx",
                    "ports": [{"containerPort": 80, "hostIP": "127.0.0.1"}],
                }]},
            },
        },
    }
    assert built.to_dict() == expected
    assert Deployment.model_validate(expected) == built


def test_fields_the_api_requires_are_required() -> None:
    with pytest.raises(ValidationError, match="name"):
        Container.model_validate({"image": "nginx"})
    with pytest.raises(ValidationError, match="verbs"):
        Role.model_validate({"rules": [{"apiGroups": [""], "resources": ["pods"]}]})


def test_a_model_refuses_an_object_of_another_kind() -> None:
    with pytest.raises(ValidationError, match="reads apps/v1 Deployment objects"):
        Deployment.model_validate(service())

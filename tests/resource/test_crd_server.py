"""Generated CRDs served by the embedded API server over HTTP, and through kubectl."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from controllerkit.apiserver import ThreadedApiServer
from controllerkit.crd import crd_for
from controllerkit.meta import Condition, ObjectMeta
from controllerkit.resource import Resource
from controllerkit.testing import Kubectl
from tests.apiserver.http_api import (
    CRDS,
    RestClient,
    assert_status,
    cause_fields,
    ok,
    rest_client,
    wait_established,
)

from .models import ClusterGadget, Limits, Port, Tier, Widget, WidgetSpec, WidgetStatus


@pytest.fixture
async def api(apiserver: ThreadedApiServer) -> AsyncIterator[RestClient]:
    async with rest_client(apiserver.url) as client:
        yield client


async def install(api: RestClient, model: type[Resource]) -> None:
    crd = crd_for(model)
    ok(await api.post(CRDS, crd), 201)
    await wait_established(api, crd["metadata"]["name"])


def widget(name: str = "w1", **spec: Any) -> Widget:
    return Widget(metadata=ObjectMeta(name=name, namespace="default"),
                  spec=WidgetSpec(image="nginx", **spec))


WIDGETS = Widget.__kind__.path("default")


async def test_server_accepts_the_generated_crd_and_establishes_it(api: RestClient) -> None:
    await install(api, Widget)
    stored = ok(await api.get(f"{CRDS}/widgets.example.com"))
    assert stored["status"]["acceptedNames"]["shortNames"] == ["wd"]
    assert stored["status"]["acceptedNames"]["categories"] == ["gadgets"]


async def test_object_from_a_model_is_created_and_the_server_fills_schema_defaults(
    api: RestClient,
) -> None:
    await install(api, Widget)
    sent = widget().to_dict()
    # Leave out what the server must default, so only its defaulting can bring it back.
    for field in ("replicas", "tier", "limits", "tags"):
        del sent["spec"][field]
    sent["spec"]["ports"] = [{"name": "http", "port": 8080}]
    created = ok(await api.post(WIDGETS, sent), 201)
    spec = created["spec"]
    assert spec["replicas"] == 1
    assert spec["tier"] == "small"
    assert spec["limits"] == {"cpuMillis": 100, "burst": 1.5}
    assert spec["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert spec["tags"] == []
    typed = Widget.model_validate(created)
    assert typed.spec.tier is Tier.SMALL
    assert typed.spec.limits == Limits()


async def test_a_spec_with_only_defaults_may_be_left_out(api: RestClient) -> None:
    await install(api, ClusterGadget)
    created = ok(await api.post(ClusterGadget.__kind__.path(), {
        "apiVersion": "example.com/v1alpha1", "kind": "ClusterGadget",
        "metadata": {"name": "g1"}}), 201)
    assert created["spec"] == {"colour": "red"}
    assert ClusterGadget.model_validate(created).spec.colour == "red"


@pytest.mark.parametrize(("change", "field"), [
    ({"replicas": -1}, "spec.replicas"),
    ({"tier": "huge"}, "spec.tier"),
    ({"mode": "reckless"}, "spec.mode"),
    ({"image": ""}, "spec.image"),
    ({"ports": [{"name": "http", "port": 0}]}, "spec.ports[0].port"),
    ({"limits": {"cpuMillis": 0}}, "spec.limits.cpuMillis"),
    ({"selector": {"app": 7}}, "spec.selector.app"),
    ({"targetPort": 1.5}, "spec.targetPort"),
    ({"startAfter": "next tuesday"}, "spec.startAfter"),
])
async def test_an_object_the_schema_forbids_is_rejected_naming_the_field(
    api: RestClient, change: dict[str, Any], field: str,
) -> None:
    await install(api, Widget)
    sent = widget().to_dict()
    sent["spec"].update(change)
    status = assert_status(await api.post(WIDGETS, sent), 422, "Invalid")
    assert field in cause_fields(status), status


async def test_a_missing_required_field_is_rejected_naming_it(api: RestClient) -> None:
    await install(api, Widget)
    sent = widget().to_dict()
    del sent["spec"]["image"]
    status = assert_status(await api.post(WIDGETS, sent), 422, "Invalid")
    assert "spec.image" in cause_fields(status), status


async def test_a_duplicate_condition_type_is_rejected(api: RestClient) -> None:
    await install(api, Widget)
    created = ok(await api.post(WIDGETS, widget().to_dict()), 201)
    created["status"] = {"conditions": [{"type": "Ready", "status": "True"},
                                        {"type": "Ready", "status": "False"}]}
    reply = await api.put(f"{WIDGETS}/w1/status", created)
    status = assert_status(reply, 422, "Invalid")
    assert "status.conditions[1]" in cause_fields(status), status


async def test_server_objects_round_trip_through_the_model_without_loss(
    api: RestClient,
) -> None:
    await install(api, Widget)
    sent = widget(ports=[Port(name="http", port=80), Port(name="metrics", port=9090,
                                                           protocol="UDP")],
                  selector={"app": "web"}, config={"nested": {"list": [1, "two", None]}},
                  anything=["x", 1], tags={"blue"}, paused=False, target_port="http",
                  backup_limits=Limits(memory="1Gi"))
    created = ok(await api.post(WIDGETS, sent.to_dict()), 201)
    typed = Widget.model_validate(created)
    typed.status = WidgetStatus(
        phase="Ready", observed_generation=1, ready_replicas=1,
        conditions=[Condition(type="Ready", status="True", reason="Running", message="ok",
                              last_transition_time=datetime(2024, 5, 1, 10, tzinfo=UTC),
                              observed_generation=1)])
    written = ok(await api.put(f"{WIDGETS}/w1/status", typed.to_dict()))
    fetched = ok(await api.get(f"{WIDGETS}/w1"))
    assert fetched == written
    assert Widget.model_validate(fetched).to_dict() == fetched
    # And the model's own output is what the server stores (nothing pruned or added).
    assert {k: v for k, v in fetched.items() if k != "metadata"} == {
        k: v for k, v in typed.to_dict().items() if k != "metadata"}


async def test_update_from_a_typed_view_keeps_fields_the_model_did_not_change(
    api: RestClient,
) -> None:
    await install(api, Widget)
    created = ok(await api.post(WIDGETS, widget(config={"keep": True}).to_dict()), 201)
    typed = Widget.model_validate(copy.deepcopy(created))
    typed.spec.replicas = 3
    updated = ok(await api.put(f"{WIDGETS}/w1", typed.to_dict()))
    assert updated["spec"] == {**created["spec"], "replicas": 3}
    assert updated["metadata"]["generation"] == 2


def test_kubectl_applies_the_generated_crd_and_a_typed_object(kubectl: Kubectl) -> None:
    kubectl.apply(yaml.safe_dump(crd_for(Widget)))
    kubectl.run("wait", "--for=condition=Established", "--timeout=10s",
                "crd/widgets.example.com")
    kubectl.apply(yaml.safe_dump(widget("w1", replicas=2).to_dict()))
    applied = kubectl.json("get", "wd", "w1", "-n", "default")
    assert Widget.model_validate(applied).spec.replicas == 2
    # Re-applying the same manifest is a no-op, and a changed one updates the object.
    kubectl.apply(yaml.safe_dump(widget("w1", replicas=5).to_dict()))
    assert kubectl.json("get", "widgets", "w1", "-n", "default")["spec"]["replicas"] == 5


def test_kubectl_get_shows_printer_columns_and_finds_the_kind_by_category(
    kubectl: Kubectl,
) -> None:
    kubectl.apply(yaml.safe_dump(crd_for(Widget)))
    kubectl.run("wait", "--for=condition=Established", "--timeout=10s",
                "crd/widgets.example.com")
    kubectl.apply(yaml.safe_dump(widget("w1", replicas=4).to_dict()))
    # No status yet: the Phase cell is empty, so only the filled cells are compared.
    table = kubectl.run("get", "gadgets", "-n", "default").stdout.split("\n")
    assert table[0].split() == ["NAME", "REPLICAS", "PHASE"]
    assert table[1].split()[:2] == ["w1", "4"]
    wide = kubectl.run("get", "wd", "-n", "default", "-o", "wide").stdout.split("\n")
    assert wide[0].split() == ["NAME", "REPLICAS", "PHASE", "TIER"]
    assert wide[1].split()[:2] == ["w1", "4"]
    assert wide[1].split()[-1] == "small"

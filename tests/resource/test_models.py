"""Typed resources: kind declarations, JSON names, and the dict <-> model contract."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from controllerkit.kinds import ConfigMap
from controllerkit.meta import CONFIG_MAP, Condition, KubeModel, ListMeta, ObjectMeta, ResourceKind
from controllerkit.resource import CustomResource, PrinterColumn, Resource

from .models import ClusterGadget, Limits, Port, Tier, Widget, WidgetSpec, WidgetStatus


def widget_dict(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w1", "namespace": "default"},
            "spec": {"image": "nginx", **spec}}


def test_class_keywords_declare_the_resource_kind() -> None:
    assert Widget.__kind__ == ResourceKind("example.com", "v1", "Widget", "widgets", True)
    assert Widget.__kind__.path("default", "w1") == (
        "/apis/example.com/v1/namespaces/default/widgets/w1")
    assert ClusterGadget.__kind__.namespaced is False
    assert ClusterGadget.__kind__.path(name="g") == "/apis/example.com/v1alpha1/clustergadgets/g"


def test_declaration_defaults_singular_and_list_kind_from_the_kind() -> None:
    declaration = Widget.__declaration__
    assert (declaration.singular, declaration.list_kind) == ("widget", "WidgetList")
    assert declaration.short_names == ("wd",)
    assert declaration.categories == ("gadgets",)
    assert [c.name for c in declaration.printer_columns] == ["Replicas", "Phase", "Tier"]


def test_configmap_model_addresses_the_built_in_kind() -> None:
    assert ConfigMap.__kind__ == CONFIG_MAP
    cm = ConfigMap(metadata=ObjectMeta(name="settings"), data={"mode": "fast"})
    assert cm.to_dict() == {"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "settings"}, "data": {"mode": "fast"}}


def test_a_subclass_without_keywords_is_an_abstract_base_without_kind() -> None:
    class Base(CustomResource[WidgetSpec, WidgetStatus]):
        pass

    assert not hasattr(Base, "__kind__")

    class Concrete(Base, group="example.com", version="v2", kind="Thing", plural="things"):
        pass

    assert Concrete.__kind__.api_version == "example.com/v2"
    assert not hasattr(Base, "__kind__")


def test_a_partial_kind_declaration_is_refused_at_class_definition() -> None:
    with pytest.raises(TypeError, match="not version: group, version and kind go together"):
        class Broken(Resource, group="example.com", kind="Broken"):
            pass


def test_names_without_a_kind_are_refused_at_class_definition() -> None:
    with pytest.raises(TypeError, match="need a kind"):
        class Broken(Resource, short_names=("b",)):
            pass


def test_short_names_must_be_a_sequence_not_a_string() -> None:
    with pytest.raises(TypeError, match="not a single string"):
        class Broken(Resource, group="example.com", version="v1", kind="Broken",
                     plural="brokens", short_names="b"):
            pass


@pytest.mark.parametrize(("arguments", "message"), [
    ({"name": "Phase", "json_path": "status.phase"}, "starting with '.'"),
    ({"name": "Phase", "json_path": ".status.phase", "type": "text"}, "not one of"),
    ({"name": "", "json_path": ".status.phase"}, "needs a name"),
])
def test_printer_columns_are_checked_when_declared(arguments: dict[str, Any],
                                                   message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PrinterColumn(**arguments)


def test_api_version_and_kind_are_filled_when_missing() -> None:
    widget = Widget(spec=WidgetSpec(image="nginx"))
    assert (widget.api_version, widget.kind) == ("example.com/v1", "Widget")
    data = widget_dict()
    del data["apiVersion"], data["kind"]
    assert Widget.model_validate(data).to_dict()["apiVersion"] == "example.com/v1"


@pytest.mark.parametrize(("field", "value"), [("apiVersion", "example.com/v2"),
                                              ("kind", "Gadget")])
def test_an_object_of_another_kind_is_refused(field: str, value: str) -> None:
    data = widget_dict()
    data[field] = value
    with pytest.raises(ValidationError, match=f"Widget reads example.com/v1 Widget objects, "
                                              f"not {field} '{value}'"):
        Widget.model_validate(data)


def test_fields_take_python_or_json_names_and_dump_as_json_names() -> None:
    by_python = WidgetStatus(observed_generation=3, ready_replicas=2)
    by_json = WidgetStatus.model_validate({"observedGeneration": 3, "readyReplicas": 2})
    assert by_python == by_json
    assert by_python.model_dump(by_alias=True, exclude_none=True) == {
        "observedGeneration": 3, "readyReplicas": 2, "conditions": []}


def test_to_dict_writes_camel_case_json_without_none_fields() -> None:
    widget = Widget(metadata=ObjectMeta(name="w1", namespace="default"),
                    spec=WidgetSpec(image="nginx", tier=Tier.LARGE,
                                    ports=[Port(name="http", port=80)],
                                    limits=Limits(cpu_millis=250)))
    assert widget.to_dict() == {
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "default"},
        "spec": {"image": "nginx", "replicas": 1, "tier": "large", "mode": "safe",
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
                 "limits": {"cpuMillis": 250, "burst": 1.5}, "selector": {}, "tags": [],
                 "targetPort": 80},
    }


def test_to_dict_keeps_none_inside_free_form_values() -> None:
    widget = Widget.model_validate(widget_dict(config={"a": None, "b": {"c": None}}))
    assert widget.to_dict()["spec"]["config"] == {"a": None, "b": {"c": None}}


def test_metadata_keeps_fields_the_model_does_not_name() -> None:
    data = widget_dict()
    data["metadata"]["selfLink"] = "/apis/example.com/v1/namespaces/default/widgets/w1"
    data["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Apply"}]
    assert Widget.model_validate(data).to_dict()["metadata"] == data["metadata"]


def test_reading_a_model_never_changes_the_dict_it_reads() -> None:
    data = widget_dict()
    del data["apiVersion"]
    before = copy.deepcopy(data)
    Widget.model_validate(data)
    assert data == before


def test_metadata_timestamps_round_trip_in_rfc3339() -> None:
    meta = ObjectMeta.model_validate({"creationTimestamp": "2024-05-01T10:00:00Z"})
    assert meta.creation_timestamp is not None
    assert meta.creation_timestamp.utcoffset() is not None
    assert meta.model_dump(mode="json", by_alias=True, exclude_none=True) == {
        "creationTimestamp": "2024-05-01T10:00:00Z"}


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        Condition.model_validate({"type": "Ready", "status": "True",
                                  "lastTransitionTime": "2024-05-01T10:00:00"})


def test_condition_status_is_true_false_or_unknown() -> None:
    with pytest.raises(ValidationError, match="status"):
        Condition.model_validate({"type": "Ready", "status": "Yes"})
    assert Condition(type="Ready", status="Unknown").status == "Unknown"


def test_list_meta_continue_token_uses_the_keyword_json_name() -> None:
    meta = ListMeta.model_validate({"resourceVersion": "7", "continue": "token"})
    assert meta.continue_ == "token"
    assert meta.model_dump(by_alias=True, exclude_none=True) == {
        "resourceVersion": "7", "continue": "token"}


def test_kube_model_attribute_docstrings_become_descriptions() -> None:
    class Documented(KubeModel):
        max_surge: int = 1
        """Extra replicas allowed during a rollout."""

    schema = Documented.model_json_schema(by_alias=True)
    assert schema["properties"]["maxSurge"]["description"] == (
        "Extra replicas allowed during a rollout.")

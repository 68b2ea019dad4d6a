"""kubectl end to end against the embedded API server, the way a user drives it."""

from __future__ import annotations

import json
import subprocess
import time

import yaml

from controllerkit.apiserver import ThreadedApiServer
from controllerkit.testing import Kubectl

from .manifests import widget, widget_crd


def _install_crd(kubectl: Kubectl) -> None:
    kubectl.apply(widget_crd())
    kubectl.run("wait", "--for=condition=Established", "crd/widgets.example.com",
                "--timeout=20s")


def test_crd_becomes_established_and_served(kubectl: Kubectl) -> None:
    _install_crd(kubectl)
    resources = kubectl.run("api-resources", "--api-group=example.com").stdout
    assert "widgets" in resources and "Widget" in resources


def test_apply_get_and_yaml_round_trip(kubectl: Kubectl) -> None:
    _install_crd(kubectl)
    out = kubectl.apply(widget("w1", size=3))
    assert "widget.example.com/w1 created" in out
    table = kubectl.run("get", "widgets").stdout
    assert "w1" in table and "3" in table
    obj = yaml.safe_load(kubectl.run("get", "widget", "w1", "-o", "yaml").stdout)
    assert obj["spec"] == {"size": 3, "colour": "red"}  # colour defaulted by the schema
    assert obj["metadata"]["generation"] == 1
    assert obj["metadata"]["uid"]
    again = kubectl.apply(widget("w1", size=3))
    assert "unchanged" in again


def test_apply_rejects_schema_violation_with_field(kubectl: Kubectl) -> None:
    _install_crd(kubectl)
    proc = kubectl.run("apply", "-f", "-", input=yaml.safe_dump(widget("bad", size=0)),
                       check=False)
    assert proc.returncode != 0
    assert "spec.size" in proc.stderr


def test_status_patch_then_wait_for_ready(kubectl: Kubectl) -> None:
    _install_crd(kubectl)
    kubectl.apply(widget("w1"))
    rv = kubectl.json("get", "widget", "w1")["metadata"]["resourceVersion"]
    patch = {
        "metadata": {"resourceVersion": rv},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Done",
                                   "message": "ready", "observedGeneration": 1,
                                   "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
    }
    kubectl.run("patch", "widget", "w1", "--subresource=status", "--type=merge",
                "-p", json.dumps(patch))
    proc = kubectl.run("wait", "--for=condition=Ready=true", "widget/w1", "--timeout=10s")
    assert proc.returncode == 0
    assert "condition met" in proc.stdout


def test_wait_returns_when_status_changes_later(
    kubectl: Kubectl, apiserver: ThreadedApiServer
) -> None:
    _install_crd(kubectl)
    kubectl.apply(widget("w1"))
    waiter = subprocess.Popen(
        kubectl.command("wait", "--for=condition=Ready=true", "widget/w1", "--timeout=20s"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(1.5)
    assert waiter.poll() is None, "wait must block while the condition is unmet"
    rv = kubectl.json("get", "widget", "w1")["metadata"]["resourceVersion"]
    kubectl.run("patch", "widget", "w1", "--subresource=status", "--type=merge", "-p",
                json.dumps({"metadata": {"resourceVersion": rv}, "status": {"conditions": [
                    {"type": "Ready", "status": "True", "observedGeneration": 1}]}}))
    out, err = waiter.communicate(timeout=20)
    assert waiter.returncode == 0, err
    assert "condition met" in out


def test_get_watch_prints_changes(kubectl: Kubectl) -> None:
    _install_crd(kubectl)
    kubectl.apply(widget("w1"))
    watcher = subprocess.Popen(kubectl.command("get", "widgets", "-w"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        kubectl.apply(widget("w2", size=7))
        time.sleep(1.5)
    finally:
        watcher.terminate()
        out, _err = watcher.communicate(timeout=10)
    assert "w1" in out
    assert "w2" in out


def test_delete_without_finalizers_removes(kubectl: Kubectl) -> None:
    _install_crd(kubectl)
    kubectl.apply(widget("w1"))
    out = kubectl.run("delete", "widget", "w1").stdout
    assert 'widget.example.com "w1" deleted' in out
    proc = kubectl.run("get", "widget", "w1", check=False)
    assert proc.returncode != 0 and "NotFound" in proc.stderr


def test_delete_with_finalizer_waits_for_its_removal(kubectl: Kubectl) -> None:
    _install_crd(kubectl)
    kubectl.apply(widget("w1", finalizers=["example.com/cleanup"]))
    kubectl.run("delete", "widget", "w1", "--wait=false")
    obj = kubectl.json("get", "widget", "w1")
    assert obj["metadata"]["deletionTimestamp"]
    kubectl.run("patch", "widget", "w1", "--type=merge", "-p",
                '{"metadata":{"finalizers":null}}')
    proc = kubectl.run("get", "widget", "w1", check=False)
    assert "NotFound" in proc.stderr


def test_create_configmap_with_strict_validation(kubectl: Kubectl) -> None:
    kubectl.run("create", "configmap", "settings", "--from-literal=colour=blue")
    cm = kubectl.json("get", "configmap", "settings")
    assert cm["data"] == {"colour": "blue"}
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
           "dta": {"a": "b"}}
    proc = kubectl.run("create", "-f", "-", input=json.dumps(bad), check=False)
    assert proc.returncode != 0
    assert 'unknown field "dta"' in proc.stderr


def test_explain_describes_custom_and_builtin_fields(kubectl: Kubectl) -> None:
    _install_crd(kubectl)
    widget_doc = kubectl.run("explain", "widget.spec").stdout
    assert "size" in widget_doc and "<integer>" in widget_doc
    job_doc = kubectl.run("explain", "job.spec").stdout
    assert "backoffLimit" in job_doc


def test_table_shows_printer_columns_and_data_counts(kubectl: Kubectl) -> None:
    _install_crd(kubectl)
    kubectl.apply(widget("w1", size=4))
    header = kubectl.run("get", "widgets").stdout.splitlines()[0].split()
    assert header == ["NAME", "SIZE", "PHASE"]
    kubectl.run("create", "configmap", "two", "--from-literal=a=1", "--from-literal=b=2")
    row = [line.split() for line in kubectl.run("get", "cm", "two").stdout.splitlines()]
    assert row[0][:2] == ["NAME", "DATA"]
    assert row[1][:2] == ["two", "2"]

"""The tutorial controller (`examples/website.py`) run as users run it, `controllerkit run`, in
its own process, driven with kubectl: create, spec update, a child deleted by hand, delete —
with no ERROR logged and no reconcile error counted."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from controllerkit.crd import crd_for
from controllerkit.testing import ClusterUnderTest, Kubectl
from examples.website import Website

from ..controllerkit_run import ControllerkitRun

ROOT = Path(__file__).resolve().parents[2]
CONTROLLER = "websites.example.com"

# Strict status: the controller's status writes must be preconditioned and status-only.
pytestmark = pytest.mark.apiserver(strict_status=True)


@pytest.fixture
def controller(apiserver: ClusterUnderTest, kubectl: Kubectl) -> Iterator[ControllerkitRun]:
    kubectl.apply(crd_for(Website))
    kubectl.run("wait", "--for=condition=Established", "crd/websites.example.com",
                "--timeout=30s")
    running = ControllerkitRun("examples.website:manager", "--kubeconfig",
                               str(apiserver.kubeconfig_path), "--metrics-bind-address", "0",
                               "--health-probe-bind-address", "0")
    try:
        yield running
    finally:
        running.kill()


def reconcile_errors(metrics_url: str) -> float:
    with urllib.request.urlopen(f"{metrics_url}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    found = re.search(r'^controller_runtime_reconcile_errors_total\{controller="'
                      + re.escape(CONTROLLER) + r'"\} (\S+)$', text, re.M)
    assert found is not None, text
    return float(found.group(1))


def write_deployment_status(kubectl: Kubectl, name: str, status: dict[str, int]) -> None:
    """Write a Deployment's status as a cluster's Deployment controller does: conditional on
    the version it read, read again after a conflict."""
    deadline = time.monotonic() + 60
    while True:
        read = kubectl.json("get", "deployment", name)
        patch = {"metadata": {"resourceVersion": read["metadata"]["resourceVersion"]},
                 "status": status}
        written = kubectl.run("patch", "deployment", name, "--subresource=status",
                              "--type=merge", "-p", json.dumps(patch), check=False)
        if written.returncode == 0:
            return
        assert "the object has been modified" in written.stderr, written.stderr
        assert time.monotonic() < deadline, written.stderr


# The Deployment controller of a real cluster is simulated here by writing the status it would
# write; the embedded server runs no workload controllers.
def test_the_tutorial_controller_runs_a_website_through_its_life_without_an_error(
    kubectl: Kubectl, controller: ControllerkitRun
) -> None:
    metrics_url = controller.wait_for_line(r"serving metrics on (http://\S+)").group(1)
    controller.wait_for_line("caches synced")

    kubectl.apply({"apiVersion": "example.com/v1", "kind": "Website",
                   "metadata": {"name": "blog", "namespace": "default"},
                   "spec": {"image": "nginx:1.27", "replicas": 2}})
    kubectl.run("wait", "--for=jsonpath={.status.conditions[0].reason}=Progressing",
                "website/blog", "--timeout=60s")
    deployment = kubectl.json("get", "deployment", "blog")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["metadata"]["ownerReferences"][0]["name"] == "blog"

    write_deployment_status(kubectl, "blog", {"replicas": 2, "readyReplicas": 2})
    kubectl.run("wait", "--for=condition=Ready", "website/blog", "--timeout=60s")
    assert kubectl.json("get", "website", "blog")["status"]["readyReplicas"] == 2

    kubectl.run("patch", "website", "blog", "--type=merge", "-p",
                json.dumps({"spec": {"replicas": 3}}))
    kubectl.run("wait", "--for=jsonpath={.spec.replicas}=3", "deployment/blog",
                "--timeout=60s")
    kubectl.run("wait", "--for=condition=Ready=false", "website/blog", "--timeout=60s")

    first_uid = deployment["metadata"]["uid"]
    kubectl.run("delete", "deployment", "blog")
    kubectl.run("wait", "--for=create", "deployment/blog", "--timeout=60s")
    assert kubectl.json("get", "deployment", "blog")["metadata"]["uid"] != first_uid

    kubectl.run("delete", "website", "blog", "--timeout=60s")
    kubectl.run("wait", "--for=delete", "deployment/blog", "--timeout=60s")
    events = kubectl.json("get", "events", "--field-selector", "involvedObject.name=blog")
    assert {"Progressing", "Available"} <= {event["reason"] for event in events["items"]}

    assert reconcile_errors(metrics_url) == 0
    assert controller.stop() == 0
    errors = [line for line in controller.lines if " ERROR " in line or '"ERROR"' in line]
    assert errors == [], "".join(controller.lines)


def test_without_its_crd_the_controller_stops_at_once_naming_the_kind(
    apiserver: ClusterUnderTest,
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "controllerkit.cli", "run", "examples.website:manager",
         "--kubeconfig", str(apiserver.kubeconfig_path), "--metrics-bind-address", "0",
         "--health-probe-bind-address", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "no kind Website in example.com/v1: the server does not serve" in done.stderr
    assert "Traceback" not in done.stderr

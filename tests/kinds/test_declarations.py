"""Each generated kind addresses the resource the real API server serves it as."""

from __future__ import annotations

import subprocess
import sys

import pytest

from controllerkit import kinds
from controllerkit.kinds import (
    ClusterRole,
    ClusterRoleBinding,
    ConfigMap,
    CronJob,
    DaemonSet,
    Deployment,
    Event,
    Ingress,
    Job,
    Lease,
    Namespace,
    PersistentVolumeClaim,
    Pod,
    ReplicaSet,
    Role,
    RoleBinding,
    Secret,
    Service,
    ServiceAccount,
    StatefulSet,
    apps_v1,
)
from controllerkit.meta import CONFIG_MAP, EVENT, JOB, LEASE, NAMESPACE, SECRET
from controllerkit.resource import Resource

RBAC = "rbac.authorization.k8s.io/v1"
# (model, apiVersion, plural, namespaced), as `kubectl api-resources` lists them.
SERVED_AS: list[tuple[type[Resource], str, str, bool]] = [
    (Pod, "v1", "pods", True),
    (Service, "v1", "services", True),
    (ConfigMap, "v1", "configmaps", True),
    (Secret, "v1", "secrets", True),
    (ServiceAccount, "v1", "serviceaccounts", True),
    (PersistentVolumeClaim, "v1", "persistentvolumeclaims", True),
    (Namespace, "v1", "namespaces", False),
    (Event, "v1", "events", True),
    (Deployment, "apps/v1", "deployments", True),
    (StatefulSet, "apps/v1", "statefulsets", True),
    (DaemonSet, "apps/v1", "daemonsets", True),
    (ReplicaSet, "apps/v1", "replicasets", True),
    (Job, "batch/v1", "jobs", True),
    (CronJob, "batch/v1", "cronjobs", True),
    (Role, RBAC, "roles", True),
    (RoleBinding, RBAC, "rolebindings", True),
    (ClusterRole, RBAC, "clusterroles", False),
    (ClusterRoleBinding, RBAC, "clusterrolebindings", False),
    (Ingress, "networking.k8s.io/v1", "ingresses", True),
    (Lease, "coordination.k8s.io/v1", "leases", True),
]


@pytest.mark.parametrize(("model", "api_version", "plural", "namespaced"), SERVED_AS,
                         ids=[row[0].__name__ for row in SERVED_AS])
def test_every_kind_declares_its_api_version_plural_and_scope(
    model: type[Resource], api_version: str, plural: str, namespaced: bool
) -> None:
    kind = model.__kind__
    assert (kind.api_version, kind.kind, kind.plural, kind.namespaced) == (
        api_version, model.__name__, plural, namespaced)


def test_the_kinds_controllerkit_names_are_the_same_resource_kinds() -> None:
    assert [ConfigMap.__kind__, Secret.__kind__, Namespace.__kind__, Event.__kind__,
            Lease.__kind__, Job.__kind__] == [CONFIG_MAP, SECRET, NAMESPACE, EVENT, LEASE, JOB]


def test_paths_put_cluster_scoped_kinds_outside_namespaces() -> None:
    assert Deployment.__kind__.path("default", "web") == (
        "/apis/apps/v1/namespaces/default/deployments/web")
    assert ClusterRole.__kind__.path("default", "view") == (
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/view")
    assert Namespace.__kind__.path(name="default") == "/api/v1/namespaces/default"


def test_the_package_exports_the_twenty_kinds() -> None:
    exported_kinds = {name for name in kinds.__all__ if name not in (
        "BuiltinModel", "BuiltinResource", "IntOrString", "MicroTime", "Quantity")}
    assert exported_kinds == {model.__name__ for model, *_ in SERVED_AS}


def test_a_kind_from_the_package_is_the_model_of_its_module() -> None:
    assert kinds.Deployment is apps_v1.Deployment
    assert "Deployment" in dir(kinds)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Widget'"):
        kinds.Widget  # noqa: B018


def test_importing_a_kind_imports_its_group_version_only() -> None:
    # A separate interpreter: this one has imported every module already.
    check = ("import sys\n"
             "from controllerkit.kinds import Lease\n"
             "loaded = sorted(m for m in sys.modules if m.startswith('controllerkit.kinds.'))\n"
             "print(' '.join(loaded))\n")
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                            check=True, timeout=120).stdout.split()
    assert loaded == ["controllerkit.kinds._base", "controllerkit.kinds.coordination_v1"]

"""The workload, networking and RBAC kinds as the tests drive them: one `KindCase` per kind.

Each case carries a realistic object body, a merge patch that changes its desired state, a
status a controller could write, and the real server's answers about the kind (short names,
category `all`, status subresource, generation tracking, what DELETE returns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controllerkit.meta import ResourceKind

JSONDict = dict[str, Any]

RBAC = "rbac.authorization.k8s.io"

DEPLOYMENT = ResourceKind("apps", "v1", "Deployment", "deployments")
STATEFUL_SET = ResourceKind("apps", "v1", "StatefulSet", "statefulsets")
DAEMON_SET = ResourceKind("apps", "v1", "DaemonSet", "daemonsets")
REPLICA_SET = ResourceKind("apps", "v1", "ReplicaSet", "replicasets")
POD = ResourceKind("", "v1", "Pod", "pods")
SERVICE = ResourceKind("", "v1", "Service", "services")
SERVICE_ACCOUNT = ResourceKind("", "v1", "ServiceAccount", "serviceaccounts")
PERSISTENT_VOLUME_CLAIM = ResourceKind("", "v1", "PersistentVolumeClaim",
                                       "persistentvolumeclaims")
NODE = ResourceKind("", "v1", "Node", "nodes", namespaced=False)
CRON_JOB = ResourceKind("batch", "v1", "CronJob", "cronjobs")
INGRESS = ResourceKind("networking.k8s.io", "v1", "Ingress", "ingresses")
ROLE = ResourceKind(RBAC, "v1", "Role", "roles")
ROLE_BINDING = ResourceKind(RBAC, "v1", "RoleBinding", "rolebindings")
CLUSTER_ROLE = ResourceKind(RBAC, "v1", "ClusterRole", "clusterroles", namespaced=False)
CLUSTER_ROLE_BINDING = ResourceKind(RBAC, "v1", "ClusterRoleBinding", "clusterrolebindings",
                                    namespaced=False)


def pod_template(image: str = "nginx:1.27") -> JSONDict:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": image,
                                     "ports": [{"containerPort": 80}]}]}}


SELECTOR = {"matchLabels": {"app": "web"}}
READER_RULES = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]


@dataclass(frozen=True)
class KindCase:
    """One kind: how to build, change and report on an object of it, and its flags."""

    kind: ResourceKind
    fields: JSONDict
    patch: JSONDict
    status: JSONDict = field(default_factory=dict)
    short_names: tuple[str, ...] = ()
    in_category_all: bool = False
    tracks_generation: bool = False
    delete_returns_object: bool = False

    @property
    def has_status(self) -> bool:
        return bool(self.status)

    @property
    def namespace(self) -> str | None:
        return "default" if self.kind.namespaced else None

    def manifest(self, name: str, **metadata: Any) -> JSONDict:
        return {"apiVersion": self.kind.api_version, "kind": self.kind.kind,
                "metadata": {"name": name, **metadata}, **self.fields}

    def __str__(self) -> str:
        return self.kind.kind


CASES = (
    KindCase(
        DEPLOYMENT,
        {"spec": {"replicas": 1, "selector": SELECTOR, "template": pod_template()}},
        {"spec": {"replicas": 3}},
        status={"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                "readyReplicas": 1, "availableReplicas": 1},
        short_names=("deploy",), in_category_all=True, tracks_generation=True,
    ),
    KindCase(
        STATEFUL_SET,
        {"spec": {"replicas": 1, "serviceName": "web", "selector": SELECTOR,
                  "template": pod_template()}},
        {"spec": {"replicas": 2}},
        status={"observedGeneration": 1, "replicas": 1, "readyReplicas": 1},
        short_names=("sts",), in_category_all=True, tracks_generation=True,
    ),
    KindCase(
        DAEMON_SET,
        {"spec": {"selector": SELECTOR, "template": pod_template()}},
        {"spec": {"minReadySeconds": 5}},
        status={"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1,
                "numberMisscheduled": 0},
        short_names=("ds",), in_category_all=True, tracks_generation=True,
    ),
    KindCase(
        REPLICA_SET,
        {"spec": {"replicas": 2, "selector": SELECTOR, "template": pod_template()}},
        {"spec": {"replicas": 0}},
        status={"replicas": 2, "readyReplicas": 1, "observedGeneration": 1},
        short_names=("rs",), in_category_all=True, tracks_generation=True,
    ),
    KindCase(
        POD,
        {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}},
        {"spec": {"activeDeadlineSeconds": 30}},
        status={"phase": "Running", "podIP": "10.1.2.3",
                "conditions": [{"type": "Ready", "status": "True"}]},
        short_names=("po",), in_category_all=True, delete_returns_object=True,
    ),
    KindCase(
        SERVICE,
        {"spec": {"selector": {"app": "web"},
                  "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}},
        {"spec": {"type": "NodePort"}},
        status={"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}},
        short_names=("svc",), in_category_all=True, delete_returns_object=True,
    ),
    KindCase(
        SERVICE_ACCOUNT,
        {"automountServiceAccountToken": False},
        {"imagePullSecrets": [{"name": "registry"}]},
        short_names=("sa",), delete_returns_object=True,
    ),
    KindCase(
        PERSISTENT_VOLUME_CLAIM,
        {"spec": {"accessModes": ["ReadWriteOnce"],
                  "resources": {"requests": {"storage": "1Gi"}}}},
        {"spec": {"volumeName": "pv-1"}},
        status={"phase": "Bound", "capacity": {"storage": "1Gi"}},
        short_names=("pvc",), delete_returns_object=True,
    ),
    KindCase(
        NODE,
        {"spec": {"podCIDR": "10.244.0.0/24"}},
        {"spec": {"unschedulable": True}},
        status={"nodeInfo": {"kubeletVersion": "v1.32.0"},
                "conditions": [{"type": "Ready", "status": "True"}]},
        short_names=("no",),
    ),
    KindCase(
        CRON_JOB,
        {"spec": {"schedule": "*/5 * * * *",
                  "jobTemplate": {"spec": {"template": {"spec": {
                      "containers": [{"name": "tick", "image": "busybox"}],
                      "restartPolicy": "OnFailure"}}}}}},
        {"spec": {"suspend": True}},
        status={"lastScheduleTime": "2026-01-01T00:05:00Z"},
        short_names=("cj",), in_category_all=True, tracks_generation=True,
    ),
    KindCase(
        INGRESS,
        {"spec": {"rules": [{"host": "web.example.com", "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}},
        {"spec": {"ingressClassName": "nginx"}},
        status={"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}},
        short_names=("ing",), tracks_generation=True,
    ),
    KindCase(
        ROLE,
        {"rules": READER_RULES},
        {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    ),
    KindCase(
        ROLE_BINDING,
        {"roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]},
        {"subjects": [{"apiGroup": RBAC, "kind": "User", "name": "alice"}]},
    ),
    KindCase(
        CLUSTER_ROLE,
        {"rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]},
                   {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]},
        {"aggregationRule": {"clusterRoleSelectors": [
            {"matchLabels": {"example.com/aggregate-to-view": "true"}}]}},
    ),
    KindCase(
        CLUSTER_ROLE_BINDING,
        {"roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "node-reader"},
         "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": "ops"}]},
        {"subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]},
    ),
)

WITH_STATUS = tuple(case for case in CASES if case.has_status)
WITHOUT_STATUS = tuple(case for case in CASES if not case.has_status)

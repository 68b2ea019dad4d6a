"""Objects as a real API server returns them (defaults filled, status written by controllers)."""

from __future__ import annotations

import copy
from typing import Any

JSON = dict[str, Any]

UID = "5f0c3c1e-8d2a-4c43-9a51-2a7c1b8e9d10"
CREATED = "2025-05-01T10:00:00Z"


def _metadata(name: str, namespace: str | None = "default", **extra: Any) -> JSON:
    metadata: JSON = {"name": name, "uid": UID, "resourceVersion": "4242",
                      "creationTimestamp": CREATED, **extra}
    if namespace is not None:
        metadata["namespace"] = namespace
    return metadata


def deployment() -> JSON:
    """`kubectl create deployment web --image=nginx`, as stored and rolled out."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(
            "web", generation=1, labels={"app": "web"},
            annotations={"deployment.kubernetes.io/revision": "1"},
            managedFields=[{
                "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "manager": "kubectl-create",
                "operation": "Update", "time": CREATED,
                "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {}}}},
            }],
        ),
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                "type": "RollingUpdate",
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "image": "nginx",
                        "imagePullPolicy": "Always",
                        "name": "nginx",
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                    }],
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                    "securityContext": {},
                    "terminationGracePeriodSeconds": 30,
                },
            },
        },
        "status": {
            "availableReplicas": 1,
            "conditions": [
                {"lastTransitionTime": "2025-05-01T10:00:04Z",
                 "lastUpdateTime": "2025-05-01T10:00:04Z",
                 "message": "Deployment has minimum availability.",
                 "reason": "MinimumReplicasAvailable", "status": "True", "type": "Available"},
                {"lastTransitionTime": "2025-05-01T10:00:00Z",
                 "lastUpdateTime": "2025-05-01T10:00:04Z",
                 "message": 'ReplicaSet "web-5d4b9c8f7" has successfully progressed.',
                 "reason": "NewReplicaSetAvailable", "status": "True", "type": "Progressing"},
            ],
            "observedGeneration": 1,
            "readyReplicas": 1,
            "replicas": 1,
            "updatedReplicas": 1,
        },
    }


def service() -> JSON:
    """A ClusterIP Service whose first port targets a named container port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata("web", labels={"app": "web"}),
        "spec": {
            "clusterIP": "10.96.12.34",
            "clusterIPs": ["10.96.12.34"],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [
                {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"},
                {"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": 9090},
            ],
            "selector": {"app": "web"},
            "sessionAffinity": "None",
            "type": "ClusterIP",
        },
        "status": {"loadBalancer": {}},
    }


def cron_job() -> JSON:
    """A CronJob with one active Job; its resources mix quantity strings and numbers."""
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _metadata("report", generation=2),
        "spec": {
            "concurrencyPolicy": "Forbid",
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"labels": {"job": "report"}},
                "spec": {
                    "backoffLimit": 2,
                    "template": {
                        "spec": {
                            "containers": [{
                                "name": "report",
                                "image": "busybox:1.36",
                                "command": ["sh", "-c", "date; echo report"],
                                "resources": {
                                    "limits": {"cpu": 1, "memory": "128Mi"},
                                    "requests": {"cpu": 0.25, "memory": "64Mi"},
                                },
                            }],
                            "restartPolicy": "OnFailure",
                        },
                    },
                },
            },
            "schedule": "*/5 * * * *",
            "successfulJobsHistoryLimit": 3,
            "suspend": False,
            "timeZone": "Etc/UTC",
        },
        "status": {
            "active": [{"apiVersion": "batch/v1", "kind": "Job", "name": "report-29100305",
                        "namespace": "default", "resourceVersion": "4240", "uid": UID}],
            "lastScheduleTime": "2025-05-01T10:05:00Z",
            "lastSuccessfulTime": "2025-05-01T10:00:09Z",
        },
    }


def role() -> JSON:
    """A Role reading pods and their logs, and patching one Deployment."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _metadata("pod-reader"),
        "rules": [
            {"apiGroups": [""], "resources": ["pods", "pods/log"],
             "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"],
             "verbs": ["get", "patch"]},
        ],
    }


def cluster_role() -> JSON:
    """An aggregated ClusterRole with a non-resource URL rule."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _metadata("monitoring", namespace=None),
        "aggregationRule": {"clusterRoleSelectors": [
            {"matchLabels": {"rbac.example.com/aggregate-to-monitoring": "true"}},
        ]},
        "rules": [{"nonResourceURLs": ["/metrics", "/healthz"], "verbs": ["get"]}],
    }


def ingress() -> JSON:
    """An Ingress with a TLS host, backends by port name and by number, and an address."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _metadata(
            "web", generation=1,
            annotations={"nginx.ingress.kubernetes.io/proxy-body-size": "8m"},
        ),
        "spec": {
            "ingressClassName": "nginx",
            "rules": [{
                "host": "web.example.com",
                "http": {"paths": [
                    {"backend": {"service": {"name": "web", "port": {"name": "http"}}},
                     "path": "/", "pathType": "Prefix"},
                    {"backend": {"service": {"name": "api", "port": {"number": 8080}}},
                     "path": "/api", "pathType": "ImplementationSpecific"},
                ]},
            }],
            "tls": [{"hosts": ["web.example.com"], "secretName": "web-tls"}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}},
    }


def pod() -> JSON:
    """A running Pod: fields whose JSON names are not plain camelCase (hostIPC, podIPs)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _metadata("web-5d4b9c8f7-x2x9q", labels={"app": "web"}),
        "spec": {
            "containers": [{
                "name": "nginx",
                "image": "nginx",
                "ports": [{"containerPort": 80, "name": "http", "protocol": "TCP",
                           "hostIP": "0.0.0.0"}],
                "readinessProbe": {"httpGet": {"path": "/", "port": "http", "scheme": "HTTP"},
                                   "periodSeconds": 10},
                "livenessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 30},
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
            }],
            "hostIPC": False,
            "hostPID": False,
            "setHostnameAsFQDN": False,
            "nodeName": "node-1",
            "volumes": [{"name": "info", "downwardAPI": {"items": [
                {"path": "labels", "fieldRef": {"apiVersion": "v1",
                                                "fieldPath": "metadata.labels"}},
            ]}}],
        },
        "status": {
            "phase": "Running",
            "hostIP": "192.168.1.10",
            "hostIPs": [{"ip": "192.168.1.10"}],
            "podIP": "10.244.1.7",
            "podIPs": [{"ip": "10.244.1.7"}],
            "startTime": CREATED,
            "conditions": [{"type": "Ready", "status": "True",
                            "lastTransitionTime": "2025-05-01T10:00:03Z"}],
            "containerStatuses": [{
                "name": "nginx", "image": "docker.io/library/nginx:latest",
                "imageID": "docker.io/library/nginx@sha256:" + "0" * 64,
                "containerID": "containerd://" + "a" * 64,
                "ready": True, "restartCount": 0, "started": True,
                "state": {"running": {"startedAt": "2025-05-01T10:00:02Z"}},
            }],
        },
    }


def lease() -> JSON:
    """A leader-election Lease; its times are MicroTime, six fractional digits."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": _metadata("controller-leader"),
        "spec": {
            "acquireTime": "2025-05-01T10:00:00.000000Z",
            "holderIdentity": "controller-0",
            "leaseDurationSeconds": 15,
            "leaseTransitions": 3,
            "renewTime": "2025-05-01T10:00:10.250000Z",
        },
    }


REALISTIC = {
    "Deployment": deployment,
    "Service": service,
    "CronJob": cron_job,
    "Role": role,
    "ClusterRole": cluster_role,
    "Ingress": ingress,
    "Pod": pod,
    "Lease": lease,
}
"""Kind name -> a function making a fresh object of that kind."""


def with_unknown_fields(obj: JSON) -> JSON:
    """A copy of `obj` with fields no model declares: at the top, in spec and status, in every
    dict of every list (containers, ports, rules, conditions)."""
    copied = copy.deepcopy(obj)
    _add_unknown(copied, depth=0)
    return copied


def _add_unknown(value: Any, depth: int) -> None:
    if isinstance(value, list):
        for item in value:
            _add_unknown(item, depth)
        return
    if not isinstance(value, dict):
        return
    for key, item in list(value.items()):
        # Free-form maps (labels, data, resources, managedFields) are not typed objects.
        if key not in ("metadata", "labels", "annotations", "selector", "matchLabels",
                       "limits", "requests", "fieldsV1", "nodeSelector"):
            _add_unknown(item, depth + 1)
    value[f"futureField{depth}"] = {"added": "in a newer release", "values": [1, "two", None]}

"""The workload, service, networking and RBAC kinds, one `KindRow` each.

Flags follow the real server's registry: Deployments, StatefulSets, DaemonSets, ReplicaSets,
CronJobs and Ingresses track `metadata.generation` (Pods do only from 1.33, so not here);
DELETE answers with the deleted object for Pods, Services, ServiceAccounts and
PersistentVolumeClaims (`ReturnDeletedObject` upstream) and with a `Status` for the rest.
Nodes have a status subresource too, as upstream. The `scale` subresource of Deployments,
StatefulSets and ReplicaSets is not served: the server has no subresource but `status`.

`spec` and `status` are objects that keep every field (`x-kubernetes-preserve-unknown-fields`)
until schemas generated from the upstream definitions replace them; kinds whose data sits at
the top level (ServiceAccount, the RBAC kinds) have those fields described, because pruning
would drop anything undeclared there.

Printer columns are the real server's `kubectl get` columns that a JSONPath (or a `countOf`
count) can express. Columns it computes from several fields (a Deployment's `READY` as
"ready/replicas", a Pod's `RESTARTS`, a Service's `PORT(S)`, a binding's `ROLE`) are left out.
"""

from __future__ import annotations

from controllerkit.apiserver.builtin_meta import label_selector, object_reference
from controllerkit.apiserver.kind_table import KindRow
from controllerkit.apiserver.resources import JSONObject
from controllerkit.apiserver.schema_builders import (
    array,
    boolean,
    free_form,
    obj,
    string,
    string_list,
)

__all__ = ["KIND_ROWS"]


def _column(name: str, column_type: str, json_path: str, description: str = "", *,
            priority: int = 0, count: bool = False) -> JSONObject:
    column: JSONObject = {"name": name, "type": column_type, "jsonPath": json_path}
    if description:
        column["description"] = description
    if priority:
        column["priority"] = priority
    if count:
        column["countOf"] = [json_path]
    return column


_AGE = _column("Age", "date", ".metadata.creationTimestamp",
               "The time since the object was created.")
# The real server prints the creation time of Roles and ClusterRoles itself, not an age.
_CREATED_AT = _column("Created At", "string", ".metadata.creationTimestamp",
                      "When the object was created.")


def _atomic(schema: JSONObject) -> JSONObject:
    """An object that server-side apply owns and replaces as a whole, as upstream marks it."""
    return schema | {"x-kubernetes-map-type": "atomic"}


def _spec_and_status(spec: str, status: str) -> dict[str, JSONObject]:
    return {"spec": free_form(spec), "status": free_form(status)}


def _policy_rules() -> JSONObject:
    return array(
        "The PolicyRules of this role.",
        obj("A set of actions allowed on a set of resources or non-resource URLs.",
            required=["verbs"],
            apiGroups=string_list("The API groups of the resources; \"\" is the core group, "
                                  "\"*\" all groups.", **{"x-kubernetes-list-type": "atomic"}),
            nonResourceURLs=string_list("Partial URLs a user may access (cluster roles "
                                        "only); \"*\" as a final segment matches any suffix.",
                                        **{"x-kubernetes-list-type": "atomic"}),
            resourceNames=string_list("An optional allow-list of object names.",
                                      **{"x-kubernetes-list-type": "atomic"}),
            resources=string_list("The resources the rule applies to; \"*\" means all.",
                                  **{"x-kubernetes-list-type": "atomic"}),
            verbs=string_list("The verbs allowed; \"*\" means all.",
                              **{"x-kubernetes-list-type": "atomic"})),
        **{"x-kubernetes-list-type": "atomic"})


def _role_binding_fields(role_kinds: str) -> dict[str, JSONObject]:
    return {
        "roleRef": _atomic(obj(
            f"The role this binding grants: {role_kinds}. Cannot be changed; delete and "
            "recreate the binding instead.",
            required=["apiGroup", "kind", "name"],
            apiGroup=string("The group of the referenced role."),
            kind=string("The kind of the referenced role."),
            name=string("The name of the referenced role."))),
        "subjects": array(
            "The users, groups and service accounts the role is granted to.",
            _atomic(obj("A reference to a user, group or service account.",
                        required=["kind", "name"],
                        apiGroup=string("The group of the subject: \"\" for ServiceAccounts, "
                                        "rbac.authorization.k8s.io for User and Group."),
                        kind=string("User, Group or ServiceAccount."),
                        name=string("The name of the subject."),
                        namespace=string("The namespace of a ServiceAccount subject."))),
            **{"x-kubernetes-list-type": "atomic"}),
    }


_APPS = (
    KindRow(
        group="apps", version="v1", kind="Deployment", plural="deployments", namespaced=True,
        description="Deployment enables declarative updates for Pods and ReplicaSets.",
        fields=_spec_and_status("Specification of the desired behaviour of the Deployment.",
                                "Most recently observed status of the Deployment."),
        short_names=("deploy",), categories=("all",), has_status=True,
        tracks_generation=True,
        printer_columns=(
            _column("Up-to-date", "integer", ".status.updatedReplicas",
                    "Total number of non-terminated pods targeted by this deployment that "
                    "have the desired template spec."),
            _column("Available", "integer", ".status.availableReplicas",
                    "Total number of available pods (ready for at least minReadySeconds) "
                    "targeted by this deployment."),
            _AGE,
        ),
    ),
    KindRow(
        group="apps", version="v1", kind="StatefulSet", plural="statefulsets", namespaced=True,
        description="StatefulSet represents a set of pods with consistent identities: stable "
                    "network names and stable storage.",
        fields=_spec_and_status("The desired identities of pods in this set.",
                                "The current status of Pods in this StatefulSet."),
        short_names=("sts",), categories=("all",), has_status=True, tracks_generation=True,
        printer_columns=(_AGE,),
    ),
    KindRow(
        group="apps", version="v1", kind="DaemonSet", plural="daemonsets", namespaced=True,
        description="DaemonSet represents the configuration of a daemon set: a pod on every "
                    "selected node.",
        fields=_spec_and_status("The desired behaviour of this daemon set.",
                                "The current status of this daemon set."),
        short_names=("ds",), categories=("all",), has_status=True, tracks_generation=True,
        printer_columns=(
            _column("Desired", "integer", ".status.desiredNumberScheduled",
                    "The total number of nodes that should be running the daemon pod."),
            _column("Current", "integer", ".status.currentNumberScheduled",
                    "The number of nodes running at least one daemon pod that are supposed "
                    "to run it."),
            _column("Ready", "integer", ".status.numberReady",
                    "The number of nodes that should be running the daemon pod and have one "
                    "or more of it running and ready."),
            _column("Up-to-date", "integer", ".status.updatedNumberScheduled",
                    "The total number of nodes running the updated daemon pod."),
            _column("Available", "integer", ".status.numberAvailable",
                    "The number of nodes that should be running the daemon pod and have one "
                    "or more of it running and available."),
            _AGE,
        ),
    ),
    KindRow(
        group="apps", version="v1", kind="ReplicaSet", plural="replicasets", namespaced=True,
        description="ReplicaSet ensures that a specified number of pod replicas are running "
                    "at any given time.",
        fields=_spec_and_status("The desired behaviour of the ReplicaSet.",
                                "The most recently observed status of the ReplicaSet."),
        short_names=("rs",), categories=("all",), has_status=True, tracks_generation=True,
        printer_columns=(
            _column("Desired", "integer", ".spec.replicas",
                    "The number of desired replicas."),
            _column("Current", "integer", ".status.replicas",
                    "The most recently observed number of replicas."),
            _column("Ready", "integer", ".status.readyReplicas",
                    "The number of pods targeted by this ReplicaSet with a Ready condition."),
            _AGE,
        ),
    ),
)

_CORE = (
    KindRow(
        group="", version="v1", kind="Pod", plural="pods", namespaced=True,
        description="Pod is a collection of containers that can run on a host, created by "
                    "clients and scheduled onto hosts.",
        fields=_spec_and_status("Specification of the desired behaviour of the pod.",
                                "Most recently observed status of the pod."),
        short_names=("po",), categories=("all",), has_status=True,
        delete_returns_object=True,
        printer_columns=(
            _column("Status", "string", ".status.phase",
                    "The phase of the pod: Pending, Running, Succeeded, Failed or Unknown."),
            _AGE,
            _column("IP", "string", ".status.podIP", "The IP address allocated to the pod.",
                    priority=1),
            _column("Node", "string", ".spec.nodeName",
                    "The node the pod is scheduled onto.", priority=1),
            _column("Nominated Node", "string", ".status.nominatedNodeName",
                    "The node the scheduler nominated for the pod while it preempts others.",
                    priority=1),
        ),
    ),
    KindRow(
        group="", version="v1", kind="Service", plural="services", namespaced=True,
        description="Service is a named abstraction of a software service: a local port "
                    "that a proxy listens on, and the selector that picks the pods serving "
                    "it.",
        fields=_spec_and_status("The behaviour of the service.",
                                "The most recently observed status of the service."),
        short_names=("svc",), categories=("all",), has_status=True,
        delete_returns_object=True,
        printer_columns=(
            _column("Type", "string", ".spec.type",
                    "How the service is exposed: ClusterIP, NodePort, LoadBalancer or "
                    "ExternalName."),
            _column("Cluster-IP", "string", ".spec.clusterIP",
                    "The IP address of the service inside the cluster."),
            _AGE,
        ),
    ),
    KindRow(
        group="", version="v1", kind="ServiceAccount", plural="serviceaccounts",
        namespaced=True,
        description="ServiceAccount binds together a name understood by users and perhaps by "
                    "peripheral systems, for an identity, a principal that can be "
                    "authenticated and authorized, and a set of secrets.",
        fields={
            "automountServiceAccountToken": boolean(
                "Whether pods running as this service account get an API token "
                "automatically mounted."),
            "imagePullSecrets": array(
                "Secrets in the same namespace used for pulling the images of pods that "
                "reference this service account.",
                _atomic(obj("A reference to a Secret in the same namespace.",
                            name=string("The name of the referent."))),
                **{"x-kubernetes-list-type": "atomic"}),
            "secrets": array(
                "Secrets in the same namespace that pods running as this service account "
                "may use.", object_reference("A reference to a Secret."),
                **{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}),
        },
        short_names=("sa",), delete_returns_object=True,
        printer_columns=(
            _column("Secrets", "integer", ".secrets",
                    "The number of secrets of the service account.", count=True),
            _AGE,
        ),
    ),
    KindRow(
        group="", version="v1", kind="PersistentVolumeClaim", plural="persistentvolumeclaims",
        namespaced=True,
        description="PersistentVolumeClaim is a user's request for and claim to a persistent "
                    "volume.",
        fields=_spec_and_status("The desired characteristics of a volume requested by a pod "
                                "author.", "The current status of the claim."),
        short_names=("pvc",), has_status=True, delete_returns_object=True,
        printer_columns=(
            _column("Status", "string", ".status.phase",
                    "The phase of the claim: Pending, Bound or Lost."),
            _column("Volume", "string", ".spec.volumeName",
                    "The binding reference to the PersistentVolume backing the claim."),
            _column("Capacity", "string", ".status.capacity.storage",
                    "The storage capacity of the underlying volume."),
            _column("StorageClass", "string", ".spec.storageClassName",
                    "The name of the StorageClass the claim requires."),
            _column("VolumeAttributesClass", "string", ".spec.volumeAttributesClassName",
                    "The VolumeAttributesClass the claim uses."),
            _AGE,
            _column("VolumeMode", "string", ".spec.volumeMode",
                    "Whether the volume is a formatted filesystem or a raw block device.",
                    priority=1),
        ),
    ),
    KindRow(
        group="", version="v1", kind="Node", plural="nodes", namespaced=False,
        description="Node is a worker node in Kubernetes.",
        fields=_spec_and_status("The behaviour of the node.",
                                "The most recently observed status of the node."),
        short_names=("no",), has_status=True,
        printer_columns=(
            _AGE,
            _column("Version", "string", ".status.nodeInfo.kubeletVersion",
                    "The kubelet version the node reports."),
            _column("Internal-IP", "string",
                    '.status.addresses[?(@.type=="InternalIP")].address',
                    "The node's internal IP address.", priority=1),
            _column("External-IP", "string",
                    '.status.addresses[?(@.type=="ExternalIP")].address',
                    "The node's external IP address.", priority=1),
            _column("OS-Image", "string", ".status.nodeInfo.osImage",
                    "The operating system image the node reports.", priority=1),
            _column("Kernel-Version", "string", ".status.nodeInfo.kernelVersion",
                    "The kernel version the node reports.", priority=1),
            _column("Container-Runtime", "string", ".status.nodeInfo.containerRuntimeVersion",
                    "The container runtime version the node reports.", priority=1),
        ),
    ),
)

_BATCH = (
    KindRow(
        group="batch", version="v1", kind="CronJob", plural="cronjobs", namespaced=True,
        description="CronJob represents the configuration of a single cron job.",
        fields=_spec_and_status("Specification of the desired behaviour of a cron job, "
                                "including the schedule.", "Current status of a cron job."),
        short_names=("cj",), categories=("all",), has_status=True, tracks_generation=True,
        printer_columns=(
            _column("Schedule", "string", ".spec.schedule",
                    "The schedule in Cron format."),
            _column("Timezone", "string", ".spec.timeZone",
                    "The time zone of the schedule."),
            _column("Suspend", "boolean", ".spec.suspend",
                    "Whether the controller suspends subsequent executions."),
            _column("Active", "integer", ".status.active",
                    "The number of currently running jobs.", count=True),
            _column("Last Schedule", "date", ".status.lastScheduleTime",
                    "When the job was last successfully scheduled."),
            _AGE,
        ),
    ),
)

_NETWORKING = (
    KindRow(
        group="networking.k8s.io", version="v1", kind="Ingress", plural="ingresses",
        namespaced=True,
        description="Ingress is a collection of rules that allow inbound connections to reach "
                    "the endpoints defined by a backend.",
        fields=_spec_and_status("The desired state of the Ingress.",
                                "The current state of the Ingress."),
        short_names=("ing",), has_status=True, tracks_generation=True,
        printer_columns=(
            _column("Class", "string", ".spec.ingressClassName",
                    "The name of the IngressClass cluster resource."),
            _AGE,
        ),
    ),
)

_RBAC_GROUP = "rbac.authorization.k8s.io"

_RBAC = (
    KindRow(
        group=_RBAC_GROUP, version="v1", kind="Role", plural="roles", namespaced=True,
        description="Role is a namespaced, logical grouping of PolicyRules that can be "
                    "referenced as a unit by a RoleBinding.",
        fields={"rules": _policy_rules()},
        printer_columns=(_CREATED_AT,),
    ),
    KindRow(
        group=_RBAC_GROUP, version="v1", kind="RoleBinding", plural="rolebindings",
        namespaced=True,
        description="RoleBinding references a role and grants it to subjects in the "
                    "binding's namespace.",
        fields=_role_binding_fields("a Role in the binding's namespace or a ClusterRole"),
        required=("roleRef",),
        printer_columns=(_AGE,),
    ),
    KindRow(
        group=_RBAC_GROUP, version="v1", kind="ClusterRole", plural="clusterroles",
        namespaced=False,
        description="ClusterRole is a cluster-level, logical grouping of PolicyRules that can "
                    "be referenced as a unit by a RoleBinding or ClusterRoleBinding.",
        fields={
            "aggregationRule": obj(
                "How to build the rules of this role from other ClusterRoles; when set, the "
                "rules are controller-managed.",
                clusterRoleSelectors=array(
                    "Selectors of the ClusterRoles whose rules are aggregated.",
                    label_selector("A label query over ClusterRoles."),
                    **{"x-kubernetes-list-type": "atomic"})),
            "rules": _policy_rules(),
        },
        printer_columns=(_CREATED_AT,),
    ),
    KindRow(
        group=_RBAC_GROUP, version="v1", kind="ClusterRoleBinding",
        plural="clusterrolebindings", namespaced=False,
        description="ClusterRoleBinding references a ClusterRole and grants it to subjects "
                    "across the cluster.",
        fields=_role_binding_fields("a ClusterRole"),
        required=("roleRef",),
        printer_columns=(_AGE,),
    ),
)

KIND_ROWS: tuple[KindRow, ...] = (*_APPS, *_CORE, *_BATCH, *_NETWORKING, *_RBAC)

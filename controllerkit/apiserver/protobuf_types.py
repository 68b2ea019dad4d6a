"""Field tables of the Kubernetes protobuf messages the server accepts as request bodies.

Field numbers are those of k8s.io/api and k8s.io/apimachinery `generated.proto`; names are the
JSON names. Each field is written `"<number> <jsonName> <type>"`, where the type is

- a scalar: `str`, `bytes`, `int` (int32/int64), `bool`;
- a well-known value with its own JSON form: `Time`, `MicroTime`, `Quantity`, `IntOrString`,
  `FieldsV1`;
- the name of another message in `MESSAGES`;
- `[T]` for a repeated field, `{T}` for a `map<string, T>`;
- suffixed `!` when a zero value must still appear in the JSON: pointer fields (`*int32`,
  `*bool`, ...) and fields without `omitempty`. Other zero scalars are dropped, because the Go
  marshaller writes every non-pointer field, set or not.

A JSON name of `-` marks an embedded Go struct whose fields are inlined into the parent's JSON
(`ConfigMapKeySelector` carries `name` from `LocalObjectReference` that way).
"""

from __future__ import annotations

from dataclasses import dataclass

SCALARS = frozenset({"str", "bytes", "int", "bool"})
WELL_KNOWN = frozenset({"Time", "MicroTime", "Quantity", "IntOrString", "FieldsV1"})
INLINE = "-"


@dataclass(frozen=True)
class FieldSpec:
    """How one protobuf field maps onto the JSON object."""

    name: str
    type: str
    repeated: bool = False
    is_map: bool = False
    keep_zero: bool = False

    @property
    def inline(self) -> bool:
        return self.name == INLINE


def parse_field(text: str) -> tuple[int, FieldSpec]:
    """`"3 command [str]"` → (3, FieldSpec("command", "str", repeated=True))."""
    number, name, type_text = text.split()
    keep_zero = type_text.endswith("!")
    type_text = type_text.rstrip("!")
    repeated = type_text.startswith("[") and type_text.endswith("]")
    is_map = type_text.startswith("{") and type_text.endswith("}")
    if repeated or is_map:
        type_text = type_text[1:-1]
    return int(number), FieldSpec(name, type_text, repeated, is_map, keep_zero)


_OBJECT_REFERENCE = ("1 kind str", "2 namespace str", "3 name str", "4 uid str",
                     "5 apiVersion str", "6 resourceVersion str", "7 fieldPath str")
_KEY_SELECTOR = ("1 - LocalObjectReference", "2 key str!", "3 optional bool!")
_ENV_SOURCE = ("1 - LocalObjectReference", "2 optional bool!")

_TABLES: dict[str, tuple[str, ...]] = {
    # -- k8s.io/apimachinery/pkg/apis/meta/v1 -----------------------------------------------
    "ObjectMeta": (
        "1 name str", "2 generateName str", "3 namespace str", "4 selfLink str", "5 uid str",
        "6 resourceVersion str", "7 generation int", "8 creationTimestamp Time",
        "9 deletionTimestamp Time", "10 deletionGracePeriodSeconds int!", "11 labels {str}",
        "12 annotations {str}", "13 ownerReferences [OwnerReference]", "14 finalizers [str]",
        "17 managedFields [ManagedFieldsEntry]",
    ),
    "OwnerReference": (
        "1 kind str!", "3 name str!", "4 uid str!", "5 apiVersion str!", "6 controller bool!",
        "7 blockOwnerDeletion bool!",
    ),
    "ManagedFieldsEntry": (
        "1 manager str", "2 operation str", "3 apiVersion str", "4 time Time",
        "6 fieldsType str", "7 fieldsV1 FieldsV1", "8 subresource str",
    ),
    "LabelSelector": ("1 matchLabels {str}", "2 matchExpressions [LabelSelectorRequirement]"),
    "LabelSelectorRequirement": ("1 key str!", "2 operator str!", "3 values [str]"),
    "DeleteOptions": (
        "1 gracePeriodSeconds int!", "2 preconditions Preconditions", "3 orphanDependents bool!",
        "4 propagationPolicy str!", "5 dryRun [str]",
        "6 ignoreStoreReadErrorWithClusterBreakingPotential bool!",
    ),
    "Preconditions": ("1 uid str!", "2 resourceVersion str!"),
    # -- k8s.io/api/core/v1 -------------------------------------------------------------------
    "ConfigMap": (
        "1 metadata ObjectMeta", "2 data {str}", "3 binaryData {bytes}", "4 immutable bool!",
    ),
    "Secret": (
        "1 metadata ObjectMeta", "2 data {bytes}", "3 type str", "4 stringData {str}",
        "5 immutable bool!",
    ),
    "Namespace": ("1 metadata ObjectMeta", "2 spec NamespaceSpec", "3 status NamespaceStatus"),
    "NamespaceSpec": ("1 finalizers [str]",),
    "NamespaceStatus": ("1 phase str", "2 conditions [NamespaceCondition]"),
    "NamespaceCondition": (
        "1 type str!", "2 status str!", "4 lastTransitionTime Time", "5 reason str",
        "6 message str",
    ),
    "Event": (
        "1 metadata ObjectMeta", "2 involvedObject ObjectReference", "3 reason str",
        "4 message str", "5 source EventSource", "6 firstTimestamp Time",
        "7 lastTimestamp Time", "8 count int", "9 type str", "10 eventTime MicroTime",
        "11 series EventSeries", "12 action str", "13 related ObjectReference",
        "14 reportingComponent str!", "15 reportingInstance str!",
    ),
    "EventSeries": ("1 count int", "2 lastObservedTime MicroTime"),
    "EventSource": ("1 component str", "2 host str"),
    "ObjectReference": _OBJECT_REFERENCE,
    "LocalObjectReference": ("1 name str",),
    "PodTemplateSpec": ("1 metadata ObjectMeta", "2 spec PodSpec"),
    "PodSpec": (
        "1 volumes [Volume]", "2 containers [Container]", "3 restartPolicy str",
        "4 terminationGracePeriodSeconds int!", "5 activeDeadlineSeconds int!",
        "6 dnsPolicy str", "7 nodeSelector {str}", "8 serviceAccountName str",
        "9 serviceAccount str", "10 nodeName str", "11 hostNetwork bool", "12 hostPID bool",
        "13 hostIPC bool", "15 imagePullSecrets [LocalObjectReference]", "16 hostname str",
        "17 subdomain str", "19 schedulerName str", "20 initContainers [Container]",
        "21 automountServiceAccountToken bool!", "22 tolerations [Toleration]",
        "24 priorityClassName str", "25 priority int!", "27 shareProcessNamespace bool!",
        "29 runtimeClassName str!", "30 enableServiceLinks bool!", "31 preemptionPolicy str!",
        "35 setHostnameAsFQDN bool!",
    ),
    "Toleration": (
        "1 key str", "2 operator str", "3 value str", "4 effect str",
        "5 tolerationSeconds int!",
    ),
    "Container": (
        "1 name str!", "2 image str", "3 command [str]", "4 args [str]", "5 workingDir str",
        "6 ports [ContainerPort]", "7 env [EnvVar]", "8 resources ResourceRequirements",
        "9 volumeMounts [VolumeMount]", "10 livenessProbe Probe", "11 readinessProbe Probe",
        "13 terminationMessagePath str", "14 imagePullPolicy str", "16 stdin bool",
        "17 stdinOnce bool", "18 tty bool", "19 envFrom [EnvFromSource]",
        "20 terminationMessagePolicy str", "22 startupProbe Probe", "24 restartPolicy str!",
    ),
    "ContainerPort": (
        "1 name str", "2 hostPort int", "3 containerPort int!", "4 protocol str",
        "5 hostIP str",
    ),
    "EnvVar": ("1 name str!", "2 value str", "3 valueFrom EnvVarSource"),
    "EnvVarSource": (
        "1 fieldRef ObjectFieldSelector", "2 resourceFieldRef ResourceFieldSelector",
        "3 configMapKeyRef ConfigMapKeySelector", "4 secretKeyRef SecretKeySelector",
    ),
    "ObjectFieldSelector": ("1 apiVersion str", "2 fieldPath str!"),
    "ResourceFieldSelector": ("1 containerName str", "2 resource str!", "3 divisor Quantity"),
    "ConfigMapKeySelector": _KEY_SELECTOR,
    "SecretKeySelector": _KEY_SELECTOR,
    "EnvFromSource": (
        "1 prefix str", "2 configMapRef ConfigMapEnvSource", "3 secretRef SecretEnvSource",
    ),
    "ConfigMapEnvSource": _ENV_SOURCE,
    "SecretEnvSource": _ENV_SOURCE,
    "ResourceRequirements": (
        "1 limits {Quantity}", "2 requests {Quantity}", "3 claims [ResourceClaim]",
    ),
    "ResourceClaim": ("1 name str!", "2 request str"),
    "VolumeMount": (
        "1 name str!", "2 readOnly bool", "3 mountPath str!", "4 subPath str",
        "5 mountPropagation str!", "6 subPathExpr str", "7 recursiveReadOnly str!",
    ),
    "Probe": (
        "1 - ProbeHandler", "2 initialDelaySeconds int", "3 timeoutSeconds int",
        "4 periodSeconds int", "5 successThreshold int", "6 failureThreshold int",
        "7 terminationGracePeriodSeconds int!",
    ),
    "ProbeHandler": (
        "1 exec ExecAction", "2 httpGet HTTPGetAction", "3 tcpSocket TCPSocketAction",
        "4 grpc GRPCAction",
    ),
    "ExecAction": ("1 command [str]",),
    "HTTPGetAction": (
        "1 path str", "2 port IntOrString!", "3 host str", "4 scheme str",
        "5 httpHeaders [HTTPHeader]",
    ),
    "HTTPHeader": ("1 name str!", "2 value str!"),
    "TCPSocketAction": ("1 port IntOrString!", "2 host str"),
    "GRPCAction": ("1 port int!", "2 service str!"),
    "Volume": ("1 name str!", "2 - VolumeSource"),
    "VolumeSource": (
        "1 hostPath HostPathVolumeSource", "2 emptyDir EmptyDirVolumeSource",
        "6 secret SecretVolumeSource",
        "10 persistentVolumeClaim PersistentVolumeClaimVolumeSource",
        "19 configMap ConfigMapVolumeSource",
    ),
    "HostPathVolumeSource": ("1 path str!", "2 type str!"),
    "EmptyDirVolumeSource": ("1 medium str", "2 sizeLimit Quantity"),
    "SecretVolumeSource": (
        "1 secretName str", "2 items [KeyToPath]", "3 defaultMode int!", "4 optional bool!",
    ),
    "ConfigMapVolumeSource": (
        "1 - LocalObjectReference", "2 items [KeyToPath]", "3 defaultMode int!",
        "4 optional bool!",
    ),
    "PersistentVolumeClaimVolumeSource": ("1 claimName str!", "2 readOnly bool"),
    "KeyToPath": ("1 key str!", "2 path str!", "3 mode int!"),
    "ServiceAccount": (
        "1 metadata ObjectMeta", "2 secrets [ObjectReference]",
        "3 imagePullSecrets [LocalObjectReference]", "4 automountServiceAccountToken bool!",
    ),
    # -- k8s.io/api/apps/v1 -------------------------------------------------------------------
    "Deployment": ("1 metadata ObjectMeta", "2 spec DeploymentSpec", "3 status DeploymentStatus"),
    "DeploymentSpec": (
        "1 replicas int!", "2 selector LabelSelector", "3 template PodTemplateSpec",
        "4 strategy DeploymentStrategy", "5 minReadySeconds int", "6 revisionHistoryLimit int!",
        "7 paused bool", "9 progressDeadlineSeconds int!", "10 podReplacementPolicy str!",
    ),
    "DeploymentStrategy": ("1 type str", "2 rollingUpdate RollingUpdateDeployment"),
    "RollingUpdateDeployment": ("1 maxUnavailable IntOrString!", "2 maxSurge IntOrString!"),
    "DeploymentStatus": (
        "1 observedGeneration int", "2 replicas int", "3 updatedReplicas int",
        "4 availableReplicas int", "5 unavailableReplicas int",
        "6 conditions [DeploymentCondition]", "7 readyReplicas int", "8 collisionCount int!",
        "9 terminatingReplicas int!",
    ),
    "DeploymentCondition": (
        "1 type str!", "2 status str!", "4 reason str", "5 message str",
        "6 lastUpdateTime Time", "7 lastTransitionTime Time",
    ),
    # -- k8s.io/api/batch/v1 ------------------------------------------------------------------
    "Job": ("1 metadata ObjectMeta", "2 spec JobSpec", "3 status JobStatus"),
    "JobSpec": (
        "1 parallelism int!", "2 completions int!", "3 activeDeadlineSeconds int!",
        "4 selector LabelSelector", "5 manualSelector bool!", "6 template PodTemplateSpec",
        "7 backoffLimit int!", "8 ttlSecondsAfterFinished int!", "9 completionMode str!",
        "10 suspend bool!", "11 podFailurePolicy PodFailurePolicy",
        "12 backoffLimitPerIndex int!", "13 maxFailedIndexes int!",
        "14 podReplacementPolicy str!", "15 managedBy str!", "16 successPolicy SuccessPolicy",
    ),
    "JobStatus": (
        "1 conditions [JobCondition]", "2 startTime Time", "3 completionTime Time",
        "4 active int", "5 succeeded int", "6 failed int", "7 completedIndexes str",
        "8 uncountedTerminatedPods UncountedTerminatedPods", "9 ready int!",
        "10 failedIndexes str!", "11 terminating int!",
    ),
    "JobCondition": (
        "1 type str!", "2 status str!", "3 lastProbeTime Time", "4 lastTransitionTime Time",
        "5 reason str", "6 message str",
    ),
    "UncountedTerminatedPods": ("1 succeeded [str]", "2 failed [str]"),
    "PodFailurePolicy": ("1 rules [PodFailurePolicyRule]",),
    "PodFailurePolicyRule": (
        "1 action str!", "2 onExitCodes PodFailurePolicyOnExitCodesRequirement",
        "3 onPodConditions [PodFailurePolicyOnPodConditionsPattern]",
    ),
    "PodFailurePolicyOnExitCodesRequirement": (
        "1 containerName str!", "2 operator str!", "3 values [int]",
    ),
    "PodFailurePolicyOnPodConditionsPattern": ("1 type str!", "2 status str!"),
    "SuccessPolicy": ("1 rules [SuccessPolicyRule]",),
    "SuccessPolicyRule": ("1 succeededIndexes str!", "2 succeededCount int!"),
    # -- k8s.io/api/rbac/v1 -------------------------------------------------------------------
    "Role": ("1 metadata ObjectMeta", "2 rules [PolicyRule]"),
    "ClusterRole": (
        "1 metadata ObjectMeta", "2 rules [PolicyRule]", "3 aggregationRule AggregationRule",
    ),
    "PolicyRule": (
        "1 verbs [str]", "2 apiGroups [str]", "3 resources [str]", "4 resourceNames [str]",
        "5 nonResourceURLs [str]",
    ),
    "AggregationRule": ("1 clusterRoleSelectors [LabelSelector]",),
    "RoleBinding": ("1 metadata ObjectMeta", "2 subjects [Subject]", "3 roleRef RoleRef"),
    "ClusterRoleBinding": ("1 metadata ObjectMeta", "2 subjects [Subject]", "3 roleRef RoleRef"),
    "Subject": ("1 kind str!", "2 apiGroup str", "3 name str!", "4 namespace str"),
    "RoleRef": ("1 apiGroup str!", "2 kind str!", "3 name str!"),
    # -- k8s.io/api/coordination/v1 -----------------------------------------------------------
    "Lease": ("1 metadata ObjectMeta", "2 spec LeaseSpec"),
    "LeaseSpec": (
        "1 holderIdentity str!", "2 leaseDurationSeconds int!", "3 acquireTime MicroTime",
        "4 renewTime MicroTime", "5 leaseTransitions int!", "6 strategy str!",
        "7 preferredHolder str!",
    ),
}

MESSAGES: dict[str, dict[int, FieldSpec]] = {
    message: dict(parse_field(text) for text in fields) for message, fields in _TABLES.items()
}

# (apiVersion, kind) of a request body → its top-level message.
TOP_LEVEL: dict[tuple[str, str], str] = {
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "Namespace"): "Namespace",
    ("v1", "Event"): "Event",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("apps/v1", "Deployment"): "Deployment",
    ("batch/v1", "Job"): "Job",
    ("coordination.k8s.io/v1", "Lease"): "Lease",
    ("rbac.authorization.k8s.io/v1", "Role"): "Role",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "RoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "ClusterRole",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "ClusterRoleBinding",
}

# DeleteOptions is registered in every group version, so clients label it with whichever
# group version they are talking to.
ANY_VERSION_KINDS: dict[str, str] = {"DeleteOptions": "DeleteOptions"}


def top_level_message(api_version: str, kind: str) -> str | None:
    """The message name for a request body of this apiVersion and kind, or None if unknown."""
    return TOP_LEVEL.get((api_version, kind)) or ANY_VERSION_KINDS.get(kind)

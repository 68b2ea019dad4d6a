"""OpenAPI v3 schemas of the built-in kinds, whole objects from apiVersion to status.

They drive pruning (fields not declared here are dropped, as Go decoding drops them on the
real server), strict field validation, defaulting and `kubectl explain`. Parts the server
does not model field by field (a Job's pod template, a CRD's openAPIV3Schema) keep unknown
fields with `x-kubernetes-preserve-unknown-fields`, so nothing a client sends is lost.
Descriptions summarise the Kubernetes API reference.
"""

from __future__ import annotations

from controllerkit.apiserver.builtin_meta import (
    condition,
    label_selector,
    object_meta,
    object_reference,
    resource,
)
from controllerkit.apiserver.resources import JSONObject
from controllerkit.apiserver.schema_builders import (
    array,
    boolean,
    free_form,
    integer,
    obj,
    string,
    string_list,
    string_map,
    timestamp,
)


def namespace_schema() -> JSONObject:
    return resource(
        "Namespace provides a scope for names. Use of multiple namespaces is optional.",
        spec=obj("Spec defines the behaviour of the Namespace.",
                 finalizers=string_list(
                     "An opaque list of values that must be empty to permanently remove the "
                     "object from storage.")),
        status=obj(
            "Status describes the current status of a Namespace.",
            conditions=array("The latest available observations of the namespace's state.",
                             condition("A condition of a namespace."),
                             **{"x-kubernetes-list-type": "map",
                                "x-kubernetes-list-map-keys": ["type"]}),
            phase=string("The current lifecycle phase of the namespace: Active or "
                         "Terminating.")),
    )


def config_map_schema() -> JSONObject:
    return resource(
        "ConfigMap holds configuration data for pods to consume.",
        binaryData=string_map(
            "Binary data, each value base64-encoded. Keys must consist of alphanumeric "
            "characters, '-', '_' or '.' and must not overlap with the keys in data.",
            format="byte"),
        data=string_map(
            "Configuration data. Keys must consist of alphanumeric characters, '-', '_' or "
            "'.'; values with non-UTF-8 byte sequences belong in binaryData."),
        immutable=boolean(
            "If true, data stored in the ConfigMap cannot be updated (only object metadata "
            "can be modified)."),
    )


def secret_schema() -> JSONObject:
    return resource(
        "Secret holds secret data of a certain type. The total bytes of the values in the "
        "data field must be less than the maximum object size.",
        data=string_map(
            "The secret data, each value base64-encoded. Keys must consist of alphanumeric "
            "characters, '-', '_' or '.'.", format="byte"),
        immutable=boolean(
            "If true, data stored in the Secret cannot be updated (only object metadata can "
            "be modified)."),
        stringData=string_map(
            "Write-only convenience field for non-binary secret data given as strings; "
            "merged into data on write, overwriting existing keys. Never output when "
            "reading."),
        type=string("Used to facilitate programmatic handling of secret data, e.g. "
                    "Opaque or kubernetes.io/tls."),
    )


def core_event_schema() -> JSONObject:
    return resource(
        "Event is a report of an event somewhere in the cluster.",
        action=string("What action was taken or failed regarding the involved object."),
        count=integer("The number of times this event has occurred."),
        eventTime=timestamp("Time when this event was first observed (microsecond precision)."),
        firstTimestamp=timestamp("The time at which the event was first recorded."),
        involvedObject=object_reference("The object that this event is about."),
        lastTimestamp=timestamp("The time at which the most recent occurrence was recorded."),
        message=string("A human-readable description of the status of this operation."),
        reason=string("A short, machine-understandable string giving the reason for the "
                      "transition into the object's current status."),
        related=object_reference("Optional secondary object for more complex actions."),
        reportingComponent=string("Name of the controller that emitted this event, e.g. "
                                  "kubernetes.io/kubelet."),
        reportingInstance=string("ID of the controller instance, e.g. kubelet-xyzf."),
        series=_event_series("Data about the event series this event represents, if any.",
                             "Time of the last occurrence observed."),
        source=obj("The component reporting this event.",
                   component=string("Component from which the event is generated."),
                   host=string("Node name on which the event is generated.")),
        type=string("Type of this event (Normal, Warning); new types may be added."),
    )


def events_v1_event_schema() -> JSONObject:
    return resource(
        "Event is a report of an event somewhere in the cluster. It generally denotes some "
        "state change in the system.",
        action=string("What action was taken or failed regarding the regarding object."),
        deprecatedCount=integer("The deprecated field assuring backward compatibility with "
                                "the core/v1 Event type."),
        deprecatedFirstTimestamp=timestamp("The deprecated field assuring backward "
                                           "compatibility with the core/v1 Event type."),
        deprecatedLastTimestamp=timestamp("The deprecated field assuring backward "
                                          "compatibility with the core/v1 Event type."),
        deprecatedSource=obj("The deprecated field assuring backward compatibility with the "
                             "core/v1 Event type.",
                             component=string("Component from which the event is generated."),
                             host=string("Node name on which the event is generated.")),
        eventTime=timestamp("Time when this event was first observed. Required."),
        note=string("A human-readable description of the status of this operation."),
        reason=string("Why the action was taken, in UpperCamelCase."),
        regarding=object_reference("The object this event is about."),
        related=object_reference("Optional secondary object for more complex actions."),
        reportingController=string("Name of the controller that emitted this event."),
        reportingInstance=string("ID of the controller instance."),
        series=_event_series("Data about the event series this event represents, if any.",
                             "Time when the last event in the series was observed."),
        type=string("Type of this event (Normal, Warning); new types may be added."),
    ) | {"required": ["eventTime"]}


def _event_series(description: str, last_observed: str) -> JSONObject:
    return obj(description,
               count=integer("Number of occurrences in this series up to the last heartbeat."),
               lastObservedTime=timestamp(last_observed))


def lease_schema() -> JSONObject:
    return resource(
        "Lease defines a lease concept: a time-bound claim a holder renews.",
        spec=obj(
            "Specification of the Lease.",
            acquireTime=timestamp("When the current lease was acquired."),
            holderIdentity=string("The identity of the holder of a current lease."),
            leaseDurationSeconds=integer(
                "Duration that candidates for a lease need to wait to force acquire it, "
                "measured against the time of last observed renewTime."),
            leaseTransitions=integer("The number of transitions of the lease between "
                                     "holders."),
            preferredHolder=string("Signals to a lease holder that the lease has a more "
                                   "optimal holder and should be given up."),
            renewTime=timestamp("When the current holder of the lease last updated it."),
            strategy=string("The strategy for picking the leader for coordinated leader "
                            "election."),
        ),
    )


def job_schema() -> JSONObject:
    return resource(
        "Job represents the configuration of a single job.",
        spec=obj(
            "Specification of the desired behaviour of the job.",
            required=["template"],
            activeDeadlineSeconds=integer(
                "Seconds relative to startTime the job may be continuously active before "
                "the system tries to terminate it.", format="int64"),
            backoffLimit=integer("Number of retries before marking this job failed.",
                                 default=6),
            backoffLimitPerIndex=integer("Number of retries within an index before marking "
                                         "that index failed (Indexed completion mode only)."),
            completionMode=string("How pod completions are tracked: NonIndexed or Indexed.",
                                  default="NonIndexed"),
            completions=integer("The desired number of successfully finished pods."),
            managedBy=string("The controller that manages the Job; immutable."),
            manualSelector=boolean("Controls generation of pod labels and pod selectors; "
                                   "leave unset unless you are certain."),
            maxFailedIndexes=integer("Maximal number of failed indexes before marking the "
                                     "Job failed (with backoffLimitPerIndex)."),
            parallelism=integer("The maximum desired number of pods running at any time.",
                                default=1),
            podFailurePolicy=free_form("How failed pods influence the backoffLimit."),
            podReplacementPolicy=string("When to create replacement pods: "
                                        "TerminatingOrFailed or Failed.",
                                        default="TerminatingOrFailed"),
            selector=label_selector("A label query over pods that should match the pod "
                                    "count; normally generated by the system."),
            successPolicy=free_form("When the Job can be declared succeeded based on the "
                                    "set of succeeded pods."),
            suspend=boolean("Whether the Job controller should create pods; true suspends "
                            "the Job.", default=False),
            template=_pod_template(),
            ttlSecondsAfterFinished=integer(
                "Limits the lifetime of a Job that has finished execution; after it, the "
                "Job is eligible to be automatically deleted."),
        ),
        status=obj(
            "Current status of the job.",
            active=integer("The number of pending and running pods."),
            completedIndexes=string("Completed indexes in text format (Indexed mode)."),
            completionTime=timestamp("When the job was completed."),
            conditions=array("The latest available observations of the job's state.",
                             condition("A condition of a job.",
                                       lastProbeTime=timestamp("Last time the condition was "
                                                               "checked.")),
                             **{"x-kubernetes-list-type": "atomic"}),
            failed=integer("The number of pods which reached phase Failed."),
            failedIndexes=string("Failed indexes in text format (with backoffLimitPerIndex)."),
            ready=integer("The number of active pods which have a Ready condition."),
            startTime=timestamp("When the job controller started processing the job."),
            succeeded=integer("The number of pods which reached phase Succeeded."),
            terminating=integer("The number of pods which are terminating."),
            uncountedTerminatedPods=obj(
                "UIDs of pods that terminated but the controller has not yet accounted for.",
                failed=string_list("UIDs of failed pods.",
                                   **{"x-kubernetes-list-type": "set"}),
                succeeded=string_list("UIDs of succeeded pods.",
                                      **{"x-kubernetes-list-type": "set"})),
        ),
    )


def _pod_template() -> JSONObject:
    return obj(
        "Describes the pod that will be created when executing a job.",
        metadata=object_meta(),
        spec=free_form("Specification of the desired behaviour of the pod (containers, "
                       "restartPolicy, volumes, ...)."),
    )

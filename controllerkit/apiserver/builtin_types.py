"""The built-in kinds the server always serves, with the real server's flags and names.

Each `ResourceType` carries the schema of its whole object (see `builtin_schemas`), the
short names and categories discovery publishes, and printer columns for `kubectl get`.

Printer columns have the shape of CRD `additionalPrinterColumns` (`name`, `type`,
`jsonPath`, optional `description`/`priority`). A column with a `countOf` list of JSON
paths shows the number of entries in those maps rather than a value (ConfigMap and Secret
`Data`), which a plain JSONPath cannot express.
"""

from __future__ import annotations

from controllerkit.apiserver.builtin_schemas import (
    config_map_schema,
    core_event_schema,
    events_v1_event_schema,
    job_schema,
    lease_schema,
    namespace_schema,
    secret_schema,
)
from controllerkit.apiserver.crd_schema import crd_schema
from controllerkit.apiserver.kind_rows import KIND_ROWS
from controllerkit.apiserver.kind_table import row_types
from controllerkit.apiserver.resources import ALL_VERBS, JSONObject, ResourceType

_AGE: JSONObject = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
# Namespaces are removed one at a time; the real server offers no deletecollection for them.
_NAMESPACE_VERBS = tuple(verb for verb in ALL_VERBS if verb != "deletecollection")
# The real server's order of API groups, which `/apis` follows.
_GROUP_ORDER = ("", "apps", "events.k8s.io", "batch", "networking.k8s.io",
                "rbac.authorization.k8s.io", "apiextensions.k8s.io", "coordination.k8s.io")


def builtin_types() -> list[ResourceType]:
    """Every built-in kind, grouped by API group in the real server's order.

    They are the kinds written out in this module and the rows of `kind_rows` (workloads,
    services, networking, RBAC). Flags follow the real server. Of this module's kinds, only
    Jobs and CRDs track `metadata.generation`; every built-in accepts strategic-merge
    patches; DELETE answers with the object for Namespaces and CRDs (their deletion is
    always pending behind a finalizer) and with a `Status` for the others; Jobs deleted
    without a propagationPolicy orphan their pods (batch/v1 compatibility), so the DELETE of
    a Job normally answers with the Job, which waits for the `orphan` finalizer.
    """
    types = [*_hand_written_types(), *row_types(KIND_ROWS)]
    return sorted(types, key=lambda rtype: _GROUP_ORDER.index(rtype.group))


def _hand_written_types() -> list[ResourceType]:
    return [
        ResourceType(
            group="", version="v1", kind="Namespace", plural="namespaces",
            singular="namespace", namespaced=False, short_names=("ns",), has_status=True,
            schema=namespace_schema(), tracks_generation=False, strategic_merge=True,
            delete_returns_object=True, verbs=_NAMESPACE_VERBS,
            printer_columns=(
                {"name": "Status", "type": "string", "jsonPath": ".status.phase",
                 "description": "The current lifecycle phase of the namespace."},
                _AGE,
            ),
        ),
        ResourceType(
            group="", version="v1", kind="ConfigMap", plural="configmaps",
            singular="configmap", namespaced=True, short_names=("cm",),
            schema=config_map_schema(), tracks_generation=False, strategic_merge=True,
            delete_returns_object=False,
            printer_columns=(
                {"name": "Data", "type": "integer", "jsonPath": ".data",
                 "countOf": [".data", ".binaryData"],
                 "description": "Number of entries in data and binaryData."},
                _AGE,
            ),
        ),
        ResourceType(
            group="", version="v1", kind="Secret", plural="secrets", singular="secret",
            namespaced=True, schema=secret_schema(), tracks_generation=False,
            strategic_merge=True, delete_returns_object=False,
            printer_columns=(
                {"name": "Type", "type": "string", "jsonPath": ".type",
                 "description": "The type of the secret."},
                {"name": "Data", "type": "integer", "jsonPath": ".data", "countOf": [".data"],
                 "description": "Number of entries in data."},
                _AGE,
            ),
        ),
        ResourceType(
            group="", version="v1", kind="Event", plural="events", singular="event",
            namespaced=True, short_names=("ev",), schema=core_event_schema(),
            tracks_generation=False, strategic_merge=True, delete_returns_object=False,
            printer_columns=_core_event_columns(),
        ),
        ResourceType(
            group="events.k8s.io", version="v1", kind="Event", plural="events",
            singular="event", namespaced=True, short_names=("ev",),
            schema=events_v1_event_schema(), tracks_generation=False, strategic_merge=True,
            delete_returns_object=False,
            printer_columns=(
                {"name": "Type", "type": "string", "jsonPath": ".type"},
                {"name": "Reason", "type": "string", "jsonPath": ".reason"},
                {"name": "Object", "type": "string", "jsonPath": ".regarding.name"},
                {"name": "Message", "type": "string", "jsonPath": ".note"},
                _AGE,
            ),
        ),
        ResourceType(
            group="coordination.k8s.io", version="v1", kind="Lease", plural="leases",
            singular="lease", namespaced=True, schema=lease_schema(),
            tracks_generation=False, strategic_merge=True, delete_returns_object=False,
            printer_columns=(
                {"name": "Holder", "type": "string", "jsonPath": ".spec.holderIdentity",
                 "description": "The identity of the current holder of the lease."},
                _AGE,
            ),
        ),
        ResourceType(
            group="batch", version="v1", kind="Job", plural="jobs", singular="job",
            namespaced=True, categories=("all",), has_status=True, schema=job_schema(),
            tracks_generation=True, strategic_merge=True, delete_returns_object=False,
            default_propagation="Orphan",
        ),
        ResourceType(
            group="apiextensions.k8s.io", version="v1", kind="CustomResourceDefinition",
            plural="customresourcedefinitions", singular="customresourcedefinition",
            namespaced=False, short_names=("crd", "crds"), categories=("api-extensions",),
            has_status=True, schema=crd_schema(), tracks_generation=True,
            strategic_merge=True, delete_returns_object=True,
            printer_columns=(
                # The real server prints the creation time itself here, not an age.
                {"name": "Created At", "type": "string",
                 "jsonPath": ".metadata.creationTimestamp"},
            ),
        ),
    ]


def _core_event_columns() -> tuple[JSONObject, ...]:
    return (
        {"name": "Last Seen", "type": "date", "jsonPath": ".lastTimestamp"},
        {"name": "Type", "type": "string", "jsonPath": ".type"},
        {"name": "Reason", "type": "string", "jsonPath": ".reason"},
        {"name": "Object", "type": "string", "jsonPath": ".involvedObject.name"},
        {"name": "Message", "type": "string", "jsonPath": ".message"},
    )

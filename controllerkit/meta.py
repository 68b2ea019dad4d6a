"""What an object is and where it lives: resource kinds and object keys.

`ResourceKind` names a served resource the way the REST API addresses it (group, version,
plural) and the way objects name themselves (apiVersion, kind). Built-in kinds are module
constants; CRD kinds are declared once, usually by a `CustomResource` model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

JSONObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ResourceKind:
    """A served resource: REST path pieces and the object's apiVersion/kind."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """`widgets.example.com`, or `configmaps` for the core group."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        """The REST path of the collection, or of one object (and its subresource).

        A namespaced kind with no namespace addresses the collection across all namespaces.
        """
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            prefix += f"/namespaces/{namespace}"
        path = f"{prefix}/{self.plural}"
        if name:
            path += f"/{name}"
            if subresource:
                path += f"/{subresource}"
        elif subresource:
            raise ValueError("a subresource needs an object name")
        return path

    def __str__(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


ObjectKey = tuple[str, str]
"""(namespace, name); namespace is "" for cluster-scoped objects."""


def object_key(obj: Mapping[str, Any]) -> ObjectKey:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def resource_version(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


NAMESPACE = ResourceKind("", "v1", "Namespace", "namespaces", namespaced=False)
CONFIG_MAP = ResourceKind("", "v1", "ConfigMap", "configmaps")
SECRET = ResourceKind("", "v1", "Secret", "secrets")
EVENT = ResourceKind("", "v1", "Event", "events")
EVENTS_V1_EVENT = ResourceKind("events.k8s.io", "v1", "Event", "events")
LEASE = ResourceKind("coordination.k8s.io", "v1", "Lease", "leases")
JOB = ResourceKind("batch", "v1", "Job", "jobs")
CUSTOM_RESOURCE_DEFINITION = ResourceKind(
    "apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
    namespaced=False,
)

BUILTIN_KINDS = (NAMESPACE, CONFIG_MAP, SECRET, EVENT, EVENTS_V1_EVENT, LEASE, JOB,
                 CUSTOM_RESOURCE_DEFINITION)


# --- Typed object metadata -------------------------------------------------------------------
# The pydantic models below are the typed view of the fields every object shares. The runtime
# works on plain dicts; these are built when code asks for a typed object.

LIST_MAP_KEYS_MARKER = "x-controllerkit-list-map-keys"
"""JSON-schema key a `KubeModel` with `__list_map_keys__` carries; `crd_for` turns it into
`x-kubernetes-list-type: map` on the enclosing array."""


def json_field_name(python_name: str) -> str:
    """The JSON name of a Python field: camelCase, a trailing underscore dropped.

    The underscore lets a field use a Python keyword as its JSON name (`continue_`).
    """
    return to_camel(python_name.rstrip("_"))


class KubeModel(BaseModel):
    """Base for models of Kubernetes JSON: snake_case in Python, camelCase on the wire.

    Fields validate from either name (`observed_generation` or `observedGeneration`) and
    serialise under the camelCase name when dumped `by_alias=True`. Attribute docstrings
    become field descriptions in JSON schemas (and so in generated CRDs).

    A model meant as the item type of a list keyed like a map (conditions by `type`, ports by
    `name`) names its keys in `__list_map_keys__`; `crd_for` then declares such lists as
    `x-kubernetes-list-type: map`, so server-side apply merges them item by item.
    """

    model_config = ConfigDict(
        alias_generator=json_field_name, populate_by_name=True, use_attribute_docstrings=True
    )

    __list_map_keys__: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        if cls.__list_map_keys__:
            target = handler.resolve_ref_schema(schema)
            target[LIST_MAP_KEYS_MARKER] = [json_field_name(k) for k in cls.__list_map_keys__]
        return schema


class OwnerReference(KubeModel):
    """An object this one depends on; deleting the owner garbage-collects the dependant."""

    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    """True for the single managing controller of this object."""
    block_owner_deletion: bool | None = None
    """With foreground deletion, the owner waits for this object to go first."""


class ObjectMeta(KubeModel):
    """`metadata` of an object. Fields the model does not name are kept as they came.

    Server-set fields (uid, resourceVersion, generation, timestamps) are None until the
    server has stored the object.
    """

    model_config = ConfigDict(extra="allow")

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: AwareDatetime | None = None
    deletion_timestamp: AwareDatetime | None = None
    deletion_grace_period_seconds: int | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    owner_references: list[OwnerReference] | None = None
    finalizers: list[str] | None = None
    managed_fields: list[dict[str, Any]] | None = None


class ListMeta(KubeModel):
    """`metadata` of a list: its resourceVersion and where the next page starts."""

    resource_version: str | None = None
    continue_: str | None = None
    remaining_item_count: int | None = None


ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(KubeModel):
    """One observation of an object's state, keyed by `type` (metav1.Condition).

    Lists of conditions are maps keyed by `type`: at most one condition per type.
    """

    __list_map_keys__ = ("type",)

    type: str = Field(min_length=1, max_length=316)
    """The aspect observed, in CamelCase (`Ready`, `Progressing`)."""
    status: ConditionStatus
    """Whether the condition holds: True, False or Unknown."""
    reason: str | None = None
    """Why the status is what it is, in CamelCase, for machines."""
    message: str | None = None
    """Why the status is what it is, for humans."""
    last_transition_time: AwareDatetime | None = None
    """When `status` last changed (not when the condition was last written)."""
    observed_generation: int | None = None
    """The `metadata.generation` the condition was computed from."""


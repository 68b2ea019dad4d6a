"""The meta.k8s.io/v1 schemas every OpenAPI document carries: ObjectMeta, ListMeta, Status.

Client-side `kubectl apply` of built-in kinds resolves `metadata` through these (labels,
annotations, the merge keys of ownerReferences and finalizers), and `kubectl explain` prints them.
"""

from __future__ import annotations

from typing import Any

from .resources import JSONObject

META = "io.k8s.apimachinery.pkg.apis.meta.v1"


def ref_property(ref: str, description: str, *, v2: bool) -> JSONObject:
    """A described property holding a referenced schema, in each version's idiom."""
    if v2:
        return {"$ref": ref, "description": description}
    # OpenAPI 3.0 ignores siblings of `$ref`, so the real server wraps it in `allOf`.
    return {"allOf": [{"$ref": ref}], "description": description}


def type_meta_properties() -> dict[str, JSONObject]:
    return {
        "apiVersion": _string("APIVersion defines the versioned schema of this representation "
                              "of an object. Servers should convert recognized schemas to the "
                              "latest internal value, and may reject unrecognized values."),
        "kind": _string("Kind is a string value representing the REST resource this object "
                        "represents. Servers may infer this from the endpoint the client "
                        "submits requests to. Cannot be updated. In CamelCase."),
    }


def meta_definitions(prefix: str, *, v2: bool) -> dict[str, JSONObject]:
    """ObjectMeta, ListMeta, Status and what they reference, for one document's components."""

    def ref(name: str, description: str) -> JSONObject:
        return ref_property(f"{prefix}{META}.{name}", description, v2=v2)

    def array_of(name: str, description: str, **extensions: Any) -> JSONObject:
        return {"type": "array", "description": description,
                "items": {"$ref": f"{prefix}{META}.{name}"}, **extensions}

    read_only = " Populated by the system. Read-only."
    definitions: dict[str, JSONObject] = {
        "ObjectMeta": _object("ObjectMeta is metadata that all persisted resources must have.", {
            "annotations": _string_map("Unstructured key value map stored with a resource that "
                                       "tools may set to store arbitrary metadata."),
            "creationTimestamp": ref("Time", "The server time when this object was created, "
                                     "in RFC 3339 form and UTC." + read_only),
            "deletionGracePeriodSeconds": _integer(
                "Seconds allowed for this object to terminate gracefully before it is removed. "
                "Only set when deletionTimestamp is also set." + read_only),
            "deletionTimestamp": ref("Time", "When this resource will be deleted; set by the "
                                     "server when a deletion is requested." + read_only),
            "finalizers": {**_string_array("Must be empty before the object is deleted. Each "
                                           "entry names a component that will remove it."),
                           "x-kubernetes-list-type": "set",
                           "x-kubernetes-patch-strategy": "merge"},
            "generateName": _string("An optional prefix the server uses to generate a unique "
                                    "name when name is not set."),
            "generation": _integer("A sequence number representing a specific generation of "
                                   "the desired state." + read_only),
            "labels": _string_map("Map of string keys and values that can be used to "
                                  "organize and categorize (scope and select) objects."),
            "managedFields": array_of("ManagedFieldsEntry", "Which manager owns which fields "
                                      "(server-side apply).", **{"x-kubernetes-list-type":
                                                                  "atomic"}),
            "name": _string("Name must be unique within a namespace. Is required when creating "
                            "resources, unless generateName is set. Cannot be updated."),
            "namespace": _string("The space within which each name must be unique. Not all "
                                 "objects are scoped to a namespace. Cannot be updated."),
            "ownerReferences": array_of(
                "OwnerReference", "Objects this object depends on. When all of them have been "
                "deleted, this object is garbage collected.", **{
                    "x-kubernetes-list-map-keys": ["uid"], "x-kubernetes-list-type": "map",
                    "x-kubernetes-patch-merge-key": "uid",
                    "x-kubernetes-patch-strategy": "merge"}),
            "resourceVersion": _string("An opaque value identifying the internal version of "
                                       "this object, for concurrency control and watches."
                                       + read_only),
            "selfLink": _string("Deprecated: no longer populated by the system."),
            "uid": _string("The unique in time and space value for this object." + read_only),
        }),
        "ListMeta": _object("ListMeta describes metadata that synthetic resources must have.", {
            "continue": _string("Set when more results are available: pass it as `continue` "
                                "to fetch the next page."),
            "remainingItemCount": _integer("The number of items after this page, when known."),
            "resourceVersion": _string("The version of the collection this list was read at."),
            "selfLink": _string("Deprecated: no longer populated by the system."),
        }),
        "Time": {"type": "string", "format": "date-time",
                 "description": "An RFC 3339 date and time, in UTC."},
        "FieldsV1": {"type": "object", "description": "A set of fields as a trie, in JSON."},
        "OwnerReference": _object("Enough information to identify an owning object.", {
            "apiVersion": _string("API version of the referent."),
            "blockOwnerDeletion": _boolean("Whether the owner waits for this object's "
                                           "deletion in foreground deletion."),
            "controller": _boolean("Whether this reference points to the managing controller."),
            "kind": _string("Kind of the referent."),
            "name": _string("Name of the referent."),
            "uid": _string("UID of the referent."),
        }, required=["apiVersion", "kind", "name", "uid"], **{"x-kubernetes-map-type": "atomic"}),
        "ManagedFieldsEntry": _object("The fields one manager owns, and how they were set.", {
            "apiVersion": _string("The version of the resource the fields are for."),
            "fieldsType": _string("The format of fieldsV1; only FieldsV1."),
            "fieldsV1": ref("FieldsV1", "The owned fields."),
            "manager": _string("The identifier of the workflow managing these fields."),
            "operation": _string("Apply or Update: the operation that set these fields."),
            "subresource": _string("The subresource the fields were written through."),
            "time": ref("Time", "When the entry was last changed."),
        }),
        "Status": _object("Status is a return value for calls that don't return other objects.", {
            **type_meta_properties(),
            "code": _integer("Suggested HTTP return code for this status.", "int32"),
            "details": ref("StatusDetails", "Extended data associated with the reason."),
            "message": _string("A human-readable description of the status of this operation."),
            "metadata": ref("ListMeta", "Standard list metadata."),
            "reason": _string("A machine-readable description of why the operation failed."),
            "status": _string("Status of the operation: Success or Failure."),
        }, **{"x-kubernetes-group-version-kind": [
            {"group": "", "kind": "Status", "version": "v1"}]}),
        "StatusDetails": _object("Details of a failure, set by the server.", {
            "causes": array_of("StatusCause", "The causes of the failure.",
                               **{"x-kubernetes-list-type": "atomic"}),
            "group": _string("The group of the resource the status is about."),
            "kind": _string("The kind of the resource the status is about."),
            "name": _string("The name of the object the status is about."),
            "retryAfterSeconds": _integer("Seconds to wait before retrying.", "int32"),
            "uid": _string("The UID of the object the status is about."),
        }),
        "StatusCause": _object("One cause of a failure, often a field.", {
            "field": _string("The field of the resource that caused the failure."),
            "message": _string("A human-readable description of the cause."),
            "reason": _string("A machine-readable description of the cause."),
        }),
        "DeleteOptions": _object("Options for a delete request.", {
            **type_meta_properties(),
            "dryRun": _string_array("When present, modifications are not persisted."),
            "gracePeriodSeconds": _integer("Seconds before the object should be deleted."),
            "orphanDependents": _boolean("Deprecated: use propagationPolicy."),
            "preconditions": ref("Preconditions", "Must be fulfilled before the deletion."),
            "propagationPolicy": _string("Orphan, Background or Foreground."),
        }),
        "Preconditions": _object("Conditions a write requires of the current object.", {
            "resourceVersion": _string("The required resourceVersion."),
            "uid": _string("The required UID."),
        }),
        "Patch": {"type": "object", "description": "The body of a PATCH request."},
    }
    return {f"{META}.{name}": schema for name, schema in definitions.items()}


def _object(description: str, properties: dict[str, JSONObject], **extra: Any) -> JSONObject:
    return {"description": description, "type": "object", "properties": properties, **extra}


def _string(description: str) -> JSONObject:
    return {"type": "string", "description": description}


def _integer(description: str, number_format: str = "int64") -> JSONObject:
    return {"type": "integer", "format": number_format, "description": description}


def _boolean(description: str) -> JSONObject:
    return {"type": "boolean", "description": description}


def _string_map(description: str) -> JSONObject:
    return {"type": "object", "description": description,
            "additionalProperties": {"type": "string", "default": ""}}


def _string_array(description: str) -> JSONObject:
    return {"type": "array", "description": description,
            "items": {"type": "string", "default": ""}}

"""The OpenAPI v3 schema of `apiextensions.k8s.io/v1` CustomResourceDefinition objects.

No field is marked required here: `crds.validate_crd` reports missing fields with the real
server's causes, and duplicating them here would report each twice. A version's
`openAPIV3Schema` is kept verbatim (it is itself a schema, with keys no fixed schema could
list), as is `subresources.status`, which is an empty object by design.
"""

from __future__ import annotations

from controllerkit.apiserver.builtin_meta import condition, resource
from controllerkit.apiserver.resources import JSONObject
from controllerkit.apiserver.schema_builders import (
    array,
    boolean,
    free_form,
    integer,
    obj,
    string,
    string_list,
)


def crd_schema() -> JSONObject:
    return resource(
        "CustomResourceDefinition represents a resource that should be exposed on the API "
        "server. Its name must be in the format <.spec.name>.<.spec.group>.",
        spec=obj(
            "Describes how a user wants their resource to appear.",
            conversion=obj(
                "How custom resources are converted between versions.",
                strategy=string("How custom resources are converted between versions: None "
                                "(only apiVersion changes) or Webhook."),
                webhook=obj(
                    "How to call the conversion webhook; required when strategy is Webhook.",
                    clientConfig=_webhook_client_config(),
                    conversionReviewVersions=string_list(
                        "Ordered list of preferred ConversionReview versions the webhook "
                        "expects."))),
            group=string("The API group of the defined custom resource, e.g. stable.example.com."),
            names=_names("The resource and kind names for the custom resource."),
            preserveUnknownFields=boolean(
                "Indicates that object fields not specified in the schema should be kept "
                "when persisting to storage. Deprecated; use "
                "x-kubernetes-preserve-unknown-fields in the schema instead."),
            scope=string("Whether the defined custom resource is cluster- or namespace-scoped: "
                         "Cluster or Namespaced."),
            versions=array("All versions of the defined custom resource.", _version(),
                           **{"x-kubernetes-list-type": "atomic"}),
        ),
        status=obj(
            "Status of the CustomResourceDefinition.",
            acceptedNames=_names("The names actually being used to serve discovery; they "
                                 "may differ from spec.names on conflict."),
            conditions=array(
                "The latest available observations of the definition's state.",
                condition("A condition of a CustomResourceDefinition."),
                **{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]}),
            storedVersions=string_list(
                "All versions of this resource that were ever persisted; a version is only "
                "removed once a migration ensures no objects remain in it.",
                **{"x-kubernetes-list-type": "atomic"}),
        ),
    )


def _names(description: str) -> JSONObject:
    return obj(
        description,
        categories=string_list("Grouped resources this resource belongs to (e.g. 'all'); "
                               "used by clients such as kubectl get all."),
        kind=string("The serialised kind of the resource, normally CamelCase and singular."),
        listKind=string("The serialised kind of the list; defaults to `kind`List."),
        plural=string("The plural name served at /apis/<group>/<version>/.../<plural>; "
                      "must be all lowercase."),
        shortNames=string_list("Short names for the resource, exposed in discovery for "
                               "kubectl get <shortname>; all lowercase."),
        singular=string("The singular name; all lowercase, defaults to the lowercased kind."),
    )


def _version() -> JSONObject:
    return obj(
        "A version of the custom resource.",
        additionalPrinterColumns=array(
            "Additional columns returned in Table output.",
            obj("A column for server-side printing.",
                description=string("A human-readable description of this column."),
                format=string("An optional OpenAPI type definition for this column, e.g. "
                              "name."),
                jsonPath=string("A simple JSON path evaluated against each custom resource "
                                "to produce the value of this column."),
                name=string("A human-readable name for the column."),
                priority=integer("Relative importance; columns above 0 are shown only in "
                                 "wide output."),
                type=string("An OpenAPI type for this column: integer, number, string, "
                            "boolean or date.")),
            **{"x-kubernetes-list-type": "atomic"}),
        deprecated=boolean("Whether this version is deprecated; requests to it get a "
                           "warning header."),
        deprecationWarning=string("Overrides the default warning returned to clients for a "
                                  "deprecated version."),
        name=string("The version name, e.g. v1 or v2beta1; served under "
                    "/apis/<group>/<version>/..."),
        schema=obj("Schema used for validation, pruning and defaulting of this version.",
                   openAPIV3Schema=free_form("The OpenAPI v3 schema of the custom resource.")),
        selectableFields=array(
            "Paths to fields that may be used as field selectors.",
            obj("A field that may be used with field selectors.",
                jsonPath=string("A simple JSON path to the field.")),
            **{"x-kubernetes-list-type": "atomic"}),
        served=boolean("Whether this version is served via REST APIs."),
        storage=boolean("Whether this version is used when persisting custom resources; "
                        "exactly one version must be the storage version."),
        subresources=obj(
            "The subresources this version of the custom resource has.",
            scale=obj("Enables the scale subresource.",
                      labelSelectorPath=string("JSON path to the label selector in the "
                                               "status (or spec)."),
                      specReplicasPath=string("JSON path under .spec to the desired "
                                              "replicas."),
                      statusReplicasPath=string("JSON path under .status to the observed "
                                                "replicas.")),
            status=free_form("Enables the status subresource; an empty object.")),
    )


def _webhook_client_config() -> JSONObject:
    return obj(
        "How to reach the conversion webhook: a url or a service reference.",
        caBundle=string("A PEM-encoded CA bundle used to validate the webhook's server "
                        "certificate.", format="byte"),
        service=obj("A reference to the service of the webhook.",
                    name=string("The name of the service."),
                    namespace=string("The namespace of the service."),
                    path=string("An optional URL path at which the webhook is contacted."),
                    port=integer("An optional port of the service; defaults to 443.")),
        url=string("The location of the webhook, in standard URL form "
                   "(scheme://host:port/path)."),
    )

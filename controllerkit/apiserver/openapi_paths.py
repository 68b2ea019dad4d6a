"""The paths and operations of OpenAPI documents, named and tagged as the real server does.

Every operation carries its kind in `x-kubernetes-group-version-kind`; writes declare the
`dryRun`, `fieldManager` and `fieldValidation` query parameters, which kubectl looks for before
it leaves validation to the server.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .resources import JSONObject, ResourceType

_QUERY_PARAMETERS: dict[str, tuple[str, str]] = {
    "pretty": ("string", "If 'true', then the output is pretty printed."),
    "dryRun": ("string", "When present, modifications are not persisted. The only valid "
                         "value is All."),
    "fieldManager": ("string", "The name of the actor or entity making these changes; "
                               "required for apply patches."),
    "fieldValidation": ("string", "How the server treats unknown and duplicate fields in the "
                                  "request: Ignore, Warn or Strict. The server checks them."),
    "force": ("boolean", "Apply patches only: take ownership of fields other managers own."),
    "allowWatchBookmarks": ("boolean", "Watch only: send BOOKMARK events."),
    "continue": ("string", "The token of the next page of a list."),
    "fieldSelector": ("string", "Select objects by fields (metadata.name, "
                                "metadata.namespace)."),
    "labelSelector": ("string", "Select objects by labels."),
    "limit": ("integer", "The maximum number of objects in one page of a list."),
    "resourceVersion": ("string", "The resourceVersion a read or watch starts from."),
    "resourceVersionMatch": ("string", "How resourceVersion applies to a list."),
    "sendInitialEvents": ("boolean", "Watch only: start with the current objects."),
    "timeoutSeconds": ("integer", "Close the list or watch call after this long."),
    "watch": ("boolean", "Watch for changes instead of listing."),
    "gracePeriodSeconds": ("integer", "Seconds before the object should be deleted."),
    "orphanDependents": ("boolean", "Deprecated: use propagationPolicy."),
    "propagationPolicy": ("string", "Orphan, Background or Foreground garbage collection."),
}
_LIST = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
         "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds",
         "watch")
_DELETE = ("dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy")
_WRITE = ("dryRun", "fieldManager", "fieldValidation")
_RESPONSE_TEXT = {200: "OK", 201: "Created", 202: "Accepted"}
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                "application/merge-patch+json")


class _Route(NamedTuple):
    path: str
    method: str
    action: str  # x-kubernetes-action
    verb: str  # what the operation id starts with
    subject: str  # the rest of the operation id: NamespacedWidget, WidgetForAllNamespaces, ...
    description: str
    query: tuple[str, ...]
    body: str  # "", "object", "patch" or "delete_options"
    response: str  # "object", "list" or "status"
    codes: tuple[int, ...]


def resource_paths(rtype: ResourceType, refs: dict[str, str], *, v2: bool) -> dict[str, Any]:
    """The path items serving a type, each operation tagged with its kind."""
    group_id = _operation_id_part(rtype.group.removesuffix(".k8s.io") or "core", capitalize=True)
    operation_prefix = group_id + _operation_id_part(rtype.version, capitalize=True)
    tag = f"{_operation_id_part(rtype.group.removesuffix('.k8s.io') or 'core')}_{rtype.version}"
    paths: dict[str, Any] = {}
    for route in _routes(rtype):
        operation: JSONObject = {
            "description": route.description,
            "operationId": f"{route.verb}{operation_prefix}{route.subject}",
            "tags": [tag],
            "x-kubernetes-action": route.action,
            "x-kubernetes-group-version-kind": {
                "group": rtype.group, "kind": rtype.kind, "version": rtype.version},
        }
        render = _v2_operation if v2 else _v3_operation
        render(operation, rtype, refs, route.query, route.body, refs[route.response],
               (200, *route.codes))
        path_item = paths.setdefault(
            route.path, {"parameters": _path_parameters(route.path, rtype.kind, v2=v2)})
        path_item[route.method] = operation
    return paths


def _routes(rtype: ResourceType) -> list[_Route]:
    prefix = f"/apis/{rtype.group}/{rtype.version}" if rtype.group else f"/api/{rtype.version}"
    scoped = "Namespaced" + rtype.kind if rtype.namespaced else rtype.kind
    collection = f"{prefix}{'/namespaces/{namespace}' if rtype.namespaced else ''}/{rtype.plural}"
    item, kind = collection + "/{name}", rtype.kind
    article = "an" if kind[:1] in "AEIOU" else "a"
    patch_query = (*_WRITE, "force")
    verbs = set(rtype.verbs)
    routes: list[_Route] = []
    if "list" in verbs:
        if rtype.namespaced:
            routes.append(_Route(f"{prefix}/{rtype.plural}", "get", "list", "list",
                                 f"{kind}ForAllNamespaces", f"list or watch objects of kind "
                                 f"{kind}", _LIST, "", "list", ()))
        routes.append(_Route(collection, "get", "list", "list", scoped,
                             f"list or watch objects of kind {kind}", _LIST, "", "list", ()))
    if "create" in verbs:
        routes.append(_Route(collection, "post", "post", "create", scoped,
                             f"create {article} {kind}", _WRITE, "object", "object", (201, 202)))
    if "deletecollection" in verbs:
        routes.append(_Route(collection, "delete", "deletecollection", "delete",
                             "Collection" + scoped, f"delete collection of {kind}",
                             _LIST + _DELETE, "delete_options", "status", ()))
    if "get" in verbs:
        routes.append(_Route(item, "get", "get", "read", scoped, f"read the specified {kind}",
                             (), "", "object", ()))
    if "update" in verbs:
        routes.append(_Route(item, "put", "put", "replace", scoped,
                             f"replace the specified {kind}", _WRITE, "object", "object",
                             (201,)))
    if "patch" in verbs:
        routes.append(_Route(item, "patch", "patch", "patch", scoped,
                             f"partially update the specified {kind}", patch_query, "patch",
                             "object", (201,)))
    if "delete" in verbs:
        routes.append(_Route(item, "delete", "delete", "delete", scoped,
                             f"delete {article} {kind}", _DELETE, "delete_options", "object",
                             (202,)))
    if rtype.has_status:
        status = item + "/status"
        routes += [
            _Route(status, "get", "get", "read", scoped + "Status",
                   f"read status of the specified {kind}", (), "", "object", ()),
            _Route(status, "put", "put", "replace", scoped + "Status",
                   f"replace status of the specified {kind}", _WRITE, "object", "object",
                   (201,)),
            _Route(status, "patch", "patch", "patch", scoped + "Status",
                   f"partially update status of the specified {kind}", patch_query, "patch",
                   "object", (201,)),
        ]
    return routes


def _v3_operation(operation: JSONObject, rtype: ResourceType, refs: dict[str, str],
                  query: tuple[str, ...], body: str, response_ref: str,
                  codes: tuple[int, ...]) -> None:
    if query:
        operation["parameters"] = [_parameter(name, "query", v2=False) for name in query]
    if body == "patch":
        types = (*_PATCH_TYPES, "application/strategic-merge-patch+json") if (
            rtype.strategic_merge) else _PATCH_TYPES
        operation["requestBody"] = {"required": True, "content": {
            media: {"schema": {"$ref": refs["patch"]}} for media in types}}
    elif body:
        operation["requestBody"] = {"required": body == "object", "content": {
            "*/*": {"schema": {"$ref": refs[body]}}}}
    content = {"application/json": {"schema": {"$ref": response_ref}}}
    operation["responses"] = {
        **{str(code): {"description": _RESPONSE_TEXT[code], "content": content}
           for code in codes},
        "401": {"description": "Unauthorized"},
    }


def _v2_operation(operation: JSONObject, rtype: ResourceType, refs: dict[str, str],
                  query: tuple[str, ...], body: str, response_ref: str,
                  codes: tuple[int, ...]) -> None:
    parameters = [_parameter(name, "query", v2=True) for name in query]
    if body:
        parameters.insert(0, {"name": "body", "in": "body", "required": body != "delete_options",
                              "schema": {"$ref": refs[body]}})
    if parameters:
        operation["parameters"] = parameters
    if body == "patch":
        operation["consumes"] = list(_PATCH_TYPES) + (
            ["application/strategic-merge-patch+json"] if rtype.strategic_merge else [])
    else:
        operation["consumes"] = ["*/*"]
    operation["produces"] = ["application/json"]
    operation["schemes"] = ["https"]
    operation["responses"] = {
        **{str(code): {"description": _RESPONSE_TEXT[code], "schema": {"$ref": response_ref}}
           for code in codes},
        "401": {"description": "Unauthorized"},
    }


def _path_parameters(path: str, kind: str, *, v2: bool) -> list[JSONObject]:
    parameters: list[JSONObject] = []
    if "{name}" in path:
        parameters.append(_parameter("name", "path", v2=v2, description=f"name of the {kind}"))
    if "{namespace}" in path:
        parameters.append(_parameter("namespace", "path", v2=v2, description=(
            "object name and auth scope, such as for teams and projects")))
    parameters.append(_parameter("pretty", "query", v2=v2))
    return parameters


def _parameter(name: str, location: str, *, v2: bool, description: str = "") -> JSONObject:
    kind, text = _QUERY_PARAMETERS.get(name, ("string", description))
    parameter: JSONObject = {"name": name, "in": location, "description": description or text}
    if location == "path":
        parameter["required"] = True
    if v2:
        return {**parameter, "type": kind, "uniqueItems": True}
    return {**parameter, "schema": {"type": kind, "uniqueItems": True}}


def _operation_id_part(text: str, *, capitalize: bool = False) -> str:
    """Letters and digits of `text`, camel-cased at each separator (`example.com` → exampleCom)."""
    out: list[str] = []
    upper = capitalize
    for position, char in enumerate(text):
        if char.isalpha() or char == "_" or (position and char.isdigit()):
            out.append(char.upper() if upper else char)
            upper = False
        else:
            upper = True
    return "".join(out)

"""CustomResourceDefinitions generated from typed models (`crd_for`).

The schema comes from the model's pydantic JSON schema, rewritten into the structural
OpenAPI v3 subset the Kubernetes API server requires:

- every `$ref` is inlined (recursive models cannot be expressed and are refused);
- `X | None` becomes `X` with `nullable: true`; `int | str` becomes
  `x-kubernetes-int-or-string`; other unions are refused (a structural schema cannot say
  "one of these shapes");
- `Literal`/`Enum` become `enum` (a single `Literal` too: OpenAPI v3.0 has no `const`);
- `dict[str, X]` becomes `additionalProperties: X`; `dict[str, Any]`, `Any` and models with
  `extra="allow"` keep unknown fields (`x-kubernetes-preserve-unknown-fields`);
- `set[X]` of scalars becomes `x-kubernetes-list-type: set`; a list of a `KubeModel` with
  `__list_map_keys__` (such as `Condition`) becomes `x-kubernetes-list-type: map`;
- `gt`/`lt` bounds become OpenAPI v3.0 boolean `exclusiveMinimum`/`exclusiveMaximum`;
- titles and annotations Kubernetes does not know are dropped; descriptions (docstrings,
  attribute docstrings, `Field(description=...)`) and defaults are kept; `None` defaults and
  `None` members of defaults are dropped, so server-side defaulting never writes nulls;
- formats are kept only where pydantic and Kubernetes mean the same thing (`date-time`,
  `date`, `uuid`, `email`, ...); `duration` is dropped, since pydantic writes ISO 8601 and
  Kubernetes expects Go durations.

The root's `apiVersion` and `kind` are strings and `metadata` is `type: object`, which is all
the server allows there. A spec with no required field defaults to `{}`, so an object may
leave it out and still gets every spec default. Anything else pydantic emits that cannot be
expressed raises `UnsupportedSchema` naming the field, rather than producing a CRD a server
would refuse or read differently.
"""

from __future__ import annotations

import copy
from typing import Any

from .meta import LIST_MAP_KEYS_MARKER, JSONObject
from .resource import Resource

# Keywords of Kubernetes' JSONSchemaProps that a generated schema may carry as they are.
_KEPT_KEYWORDS = frozenset({
    "description", "type", "format", "default", "enum", "required", "nullable", "example",
    "maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum", "multipleOf",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "maxProperties",
    "minProperties", "items", "properties", "additionalProperties", "externalDocs",
})
# Annotations pydantic emits that carry no validation Kubernetes could apply.
_DROPPED_KEYWORDS = frozenset({
    "title", "examples", "readOnly", "writeOnly", "deprecated", "$comment", "$schema", "$id",
    "$defs", "definitions", "contentMediaType", "contentEncoding",
})
# Formats whose meaning is the same for pydantic's serialiser and Kubernetes' validator.
_KEPT_FORMATS = frozenset({
    "date-time", "date", "uuid", "uuid1", "uuid3", "uuid4", "uuid5", "email", "uri",
    "hostname", "ipv4", "ipv6", "password", "byte",
})
_SCALAR_TYPES = frozenset({"string", "integer", "number", "boolean"})
_NULL = {"type": "null"}


class UnsupportedSchema(TypeError):
    """A model uses a type that a structural CRD schema cannot express.

    `model` is the model's name, `path` the field (`spec.ports[].protocol`), `reason` what
    is wrong and how to express it instead.
    """

    def __init__(self, model: str, path: str, reason: str) -> None:
        super().__init__(f"{model}: {path or '<root>'}: {reason}")
        self.model = model
        self.path = path
        self.reason = reason


def crd_for(model: type[Resource]) -> JSONObject:
    """The CustomResourceDefinition (`apiextensions.k8s.io/v1`) serving `model`'s kind.

    `model` is a `Resource` subclass with a declared kind in a non-core group (normally a
    `CustomResource`). The CRD has one version, served and stored; the status subresource
    when the model has a `status` field; the declared names, short names, categories and
    printer columns; and an `openAPIV3Schema` that is structural, so a real API server and
    the embedded one accept it and prune, default and validate objects by it.

    Guaranteed: `model.to_dict()` of any valid model instance validates against the schema,
    and an object the server returns validates as `model`. Not guaranteed: every pydantic
    validator is mirrored (custom validators, cross-field rules and Python-only regex syntax
    are checked by the model, not the server). Raises `UnsupportedSchema` for types a
    structural schema cannot express and `TypeError` for a model without a custom kind.
    """
    declaration = getattr(model, "__declaration__", None)
    if declaration is None:
        raise TypeError(f"{model.__name__} declares no kind: give its class statement group=, "
                        f"version=, kind= and plural=")
    kind = declaration.kind
    if not kind.group:
        raise TypeError(f"{model.__name__} is {kind.kind} in the core group, which is built in; "
                        f"a CustomResourceDefinition needs a group such as 'example.com'")
    names: JSONObject = {
        "plural": kind.plural, "singular": declaration.singular, "kind": kind.kind,
        "listKind": declaration.list_kind,
    }
    if declaration.short_names:
        names["shortNames"] = list(declaration.short_names)
    if declaration.categories:
        names["categories"] = list(declaration.categories)
    version: JSONObject = {
        "name": kind.version, "served": True, "storage": True,
        "schema": {"openAPIV3Schema": structural_schema(model)},
    }
    if "status" in model.model_fields:
        version["subresources"] = {"status": {}}
    if declaration.printer_columns:
        version["additionalPrinterColumns"] = [c.to_dict() for c in declaration.printer_columns]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": kind.group_resource},
        "spec": {
            "group": kind.group,
            "scope": "Namespaced" if kind.namespaced else "Cluster",
            "names": names,
            "versions": [version],
        },
    }


def structural_schema(model: type[Resource]) -> JSONObject:
    """`model`'s JSON schema as a structural `openAPIV3Schema` for a CRD (see module doc)."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    rewriter = _StructuralRewriter(model.__name__, raw.get("$defs") or {})
    schema = rewriter.rewrite(raw, "")
    schema.pop(LIST_MAP_KEYS_MARKER, None)
    properties: JSONObject = schema.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string", "description": (
        "The versioned schema of this representation of an object.")}
    properties["kind"] = {"type": "string", "description": (
        "The REST resource this object represents.")}
    properties["metadata"] = {"type": "object"}
    spec: JSONObject = properties.get("spec") or {}
    defaulted_spec = bool(spec) and not spec.get("required") and "default" not in spec
    if defaulted_spec:
        # A spec with no required field may be left out: the server fills in its defaults.
        spec["default"] = {}
    required = [name for name in schema.get("required") or []
                if name not in ("apiVersion", "kind", "metadata")
                and not (name == "spec" and defaulted_spec)]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    schema.pop("nullable", None)
    schema.pop("x-kubernetes-preserve-unknown-fields", None)
    return schema


class _StructuralRewriter:
    """Rewrites one pydantic JSON schema; `path` arguments name fields for errors."""

    def __init__(self, model: str, definitions: JSONObject) -> None:
        self.model = model
        self.definitions = definitions

    def fail(self, path: str, reason: str) -> UnsupportedSchema:
        return UnsupportedSchema(self.model, path, reason)

    def rewrite(self, node: JSONObject, path: str, resolving: tuple[str, ...] = ()) -> JSONObject:
        # A union's surviving branch may itself be a reference: repeat until neither applies.
        while True:
            node, resolving = self._inline(node, path, resolving)
            if "anyOf" not in node:
                break
            node = self._collapse_unions(node, path)
        if "oneOf" in node or "allOf" in node or "not" in node:
            raise self.fail(path, "unions and intersections of shapes cannot be expressed; "
                                  "use one model with optional fields")
        out: JSONObject = {}
        for keyword, value in node.items():
            if keyword in _DROPPED_KEYWORDS:
                if keyword == "examples" and isinstance(value, list) and value:
                    out.setdefault("example", value[0])
                continue
            if keyword == "const":
                out["enum"] = [value]
            elif keyword == "properties":
                out["properties"] = {
                    name: self._rewrite_unlisted(sub, _join(path, name), resolving)
                    for name, sub in value.items()
                }
            elif keyword == "items":
                if not isinstance(value, dict):
                    raise self.fail(path, "arrays must have one item schema")
                out["items"] = self.rewrite(value, f"{path}[]", resolving)
            elif keyword == "additionalProperties":
                if value is True:
                    out["x-kubernetes-preserve-unknown-fields"] = True
                elif isinstance(value, dict):
                    out["additionalProperties"] = self._rewrite_unlisted(value, f"{path}[*]",
                                                                         resolving)
                # False (extra="forbid") is left to the server's pruning of unknown fields.
            elif keyword == "format":
                if value in _KEPT_FORMATS:
                    out["format"] = value
            elif keyword in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(
                value, bool
            ):
                out["minimum" if keyword == "exclusiveMinimum" else "maximum"] = value
                out[keyword] = True
            elif keyword == "uniqueItems":
                continue  # resolved below, once the item schema is known
            elif keyword in _KEPT_KEYWORDS or keyword.startswith("x-kubernetes-"):
                out[keyword] = value
            elif keyword == LIST_MAP_KEYS_MARKER:
                out[keyword] = value  # the enclosing array lifts it, anything else drops it
            elif keyword == "prefixItems":
                raise self.fail(path, "tuples cannot be expressed; use a list or a model")
            else:
                raise self.fail(path, f"JSON schema keyword {keyword!r} has no structural "
                                      f"equivalent")
        self._finish(out, node, path)
        return out

    def _rewrite_unlisted(self, node: JSONObject, path: str,
                          resolving: tuple[str, ...]) -> JSONObject:
        """`rewrite` for a schema that is not an array's items: list-map keys mean nothing."""
        out = self.rewrite(node, path, resolving)
        out.pop(LIST_MAP_KEYS_MARKER, None)
        return out

    def _inline(self, node: JSONObject, path: str,
                resolving: tuple[str, ...]) -> tuple[JSONObject, tuple[str, ...]]:
        """`node` with a `$ref` (or a single-branch `allOf`) replaced by what it names.

        Keywords next to the reference (a field's description or default) win over the
        referenced schema's own.
        """
        while True:
            if "$ref" in node:
                name = str(node["$ref"]).rsplit("/", 1)[-1]
                if name in resolving:
                    cycle = " -> ".join((*resolving[resolving.index(name):], name))
                    raise self.fail(path, f"recursive type {cycle} cannot be expressed; type "
                                          f"the recursive field as dict[str, Any]")
                if name not in self.definitions:
                    raise self.fail(path, f"unknown schema reference {node['$ref']!r}")
                siblings = {k: v for k, v in node.items() if k != "$ref"}
                node = {**self.definitions[name], **siblings}
                resolving = (*resolving, name)
            elif isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
                siblings = {k: v for k, v in node.items() if k != "allOf"}
                node = {**node["allOf"][0], **siblings}
            else:
                return node, resolving

    def _collapse_unions(self, node: JSONObject, path: str) -> JSONObject:
        """`X | None` as X with `nullable: true`; `int | str` as int-or-string."""
        branches = node["anyOf"]
        outer = {k: v for k, v in node.items() if k != "anyOf"}
        nullable = _NULL in branches
        rest = [b for b in branches if b != _NULL]
        if len(rest) == 1:
            collapsed = {**rest[0], **outer}
        elif sorted(str(b.get("type")) for b in rest) == ["integer", "string"] and all(
            set(b) == {"type"} for b in rest
        ):
            collapsed = {**outer, "x-kubernetes-int-or-string": True}
        else:
            raise self.fail(path, "a union of several types cannot be expressed; use X | None, "
                                  "int | str, one model with optional fields, or "
                                  "dict[str, Any]")
        if nullable:
            collapsed["nullable"] = True
        return collapsed

    def _finish(self, out: JSONObject, source: JSONObject, path: str) -> None:
        """Fix-ups that need the whole rewritten node: types, list types, defaults."""
        if out.get("type") == "null":
            raise self.fail(path, "a field that can only be None cannot be expressed")
        items = out.get("items")
        if isinstance(items, dict):
            keys = items.pop(LIST_MAP_KEYS_MARKER, None)
            if keys:
                self._check_map_keys(items, keys, path)
                out.setdefault("x-kubernetes-list-type", "map")
                out.setdefault("x-kubernetes-list-map-keys", list(keys))
            elif source.get("uniqueItems") and items.get("type") in _SCALAR_TYPES:
                out.setdefault("x-kubernetes-list-type", "set")
        if not out.get("type") and not out.get("x-kubernetes-int-or-string"):
            out["x-kubernetes-preserve-unknown-fields"] = True  # Any: no shape to check
        if out.get("x-kubernetes-preserve-unknown-fields") and out.get("type") == "object" \
                and "additionalProperties" in out:
            del out["additionalProperties"]
        if "default" in out:
            if out["default"] is None:
                del out["default"]
            else:
                out["default"] = _without_nulls(out["default"], out)

    def _check_map_keys(self, items: JSONObject, keys: list[str], path: str) -> None:
        required = set(items.get("required") or [])
        for key in keys:
            key_schema = (items.get("properties") or {}).get(key)
            if key_schema is None:
                raise self.fail(f"{path}[]", f"list-map key {key!r} is not a field")
            if key not in required and "default" not in key_schema:
                raise self.fail(f"{path}[].{key}", "a list-map key must be required or have "
                                                   "a default")
            if key_schema.get("nullable"):
                raise self.fail(f"{path}[].{key}", "a list-map key cannot be optional (None)")


def _without_nulls(value: Any, schema: JSONObject) -> Any:
    """A default with the None members of declared fields removed.

    pydantic writes a model-typed default with every field, unset optionals as null; the
    server would store those nulls, and a round trip through the model would drop them.
    Values under `x-kubernetes-preserve-unknown-fields` are kept as they are.
    """
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        cleaned: JSONObject = {}
        for key, member in value.items():
            sub = properties.get(key) or (additional if isinstance(additional, dict) else None)
            if sub is None:
                cleaned[key] = copy.deepcopy(member)
            elif member is not None:
                cleaned[key] = _without_nulls(member, sub)
        return cleaned
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_without_nulls(member, schema["items"]) for member in value]
    return copy.deepcopy(value)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name

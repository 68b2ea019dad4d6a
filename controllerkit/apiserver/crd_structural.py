"""The structural-schema rules the real server enforces on CRD schemas (`apiextensions.k8s.io/v1`).

A structural schema declares every field's `type` outside of `anyOf`/`allOf`/`oneOf`/`not`,
whose branches may only restrict values. These rules are what make pruning and defaulting
well defined. Causes come back sorted by their text, as the real server sorts them.
"""

from __future__ import annotations

import re
from typing import Any

from controllerkit.apiserver import field_errors as fe
from controllerkit.apiserver.errors import Cause
from controllerkit.apiserver.resources import JSONObject
from controllerkit.apiserver.schema_formats import go_regex

_ROOT, _ITEM, _FIELD = "root", "item", "field"
_JUNCTORS = ("allOf", "anyOf", "oneOf")
_INT_OR_STRING_BRANCHES = [{"type": "integer"}, {"type": "string"}]

# Keywords a branch of anyOf/allOf/oneOf/not may not carry, and why.
_NESTED_FORBIDDEN = (
    ("type", "must be empty to be structural"),
    ("default", "must be undefined to be structural"),
    ("title", "must be empty to be structural"),
    ("description", "must be empty to be structural"),
    ("externalDocs", "must be undefined to be structural"),
    ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
    ("x-kubernetes-embedded-resource", "must be false to be structural"),
    ("x-kubernetes-int-or-string", "must be false to be structural"),
    ("x-kubernetes-list-map-keys", "must be empty to be structural"),
    ("x-kubernetes-list-type", "must be undefined to be structural"),
    ("x-kubernetes-map-type", "must be undefined to be structural"),
    ("x-kubernetes-validations", "must be empty to be structural"),
)
# What a root `metadata` schema may say besides restricting name and generateName.
_METADATA_IGNORED_KEYWORDS = frozenset({"type", "default"})


def structural_causes(schema: JSONObject, path: str) -> list[Cause]:
    """Violations of the structural-schema rules in `schema`, sorted by their text."""
    causes = _invariant_causes(schema, _ROOT, path)
    causes.extend(_completeness_causes(schema, schema, path, path))
    return sorted(causes, key=lambda c: f"{c.field}: {c.message}")


def _invariant_causes(schema: JSONObject, level: str, path: str) -> list[Cause]:
    causes: list[Cause] = []
    schema_type = schema.get("type") or ""
    items = schema.get("items")
    if schema_type == "array" and items is None:
        causes.append(fe.required(f"{path}.items", "must be specified"))
    if isinstance(items, dict):
        causes.extend(_invariant_causes(items, _ITEM, f"{path}.items"))
    properties = schema.get("properties") or {}
    for name, sub in properties.items():
        if isinstance(sub, dict):
            causes.extend(_invariant_causes(sub, _FIELD, f"{path}.properties[{name}]"))
    additional = schema.get("additionalProperties")
    if additional is not None:
        if level == _ROOT:
            causes.append(fe.forbidden(f"{path}.additionalProperties", "must not be used at "
                                                                       "the root"))
        if isinstance(additional, dict):
            causes.extend(_invariant_causes(additional, _FIELD, f"{path}.additionalProperties"))
    causes.extend(_extension_causes(schema, path))
    causes.extend(_value_validation_causes(schema, path, skip_int_or_string=True))
    embedded = bool(schema.get("x-kubernetes-embedded-resource"))
    if embedded and schema_type != "object":
        detail = "must be object if x-kubernetes-embedded-resource is true"
        causes.append(fe.required(f"{path}.type", detail) if not schema_type
                      else fe.invalid(f"{path}.type", schema_type, detail))
    elif (not schema_type and not schema.get("x-kubernetes-int-or-string")
          and not schema.get("x-kubernetes-preserve-unknown-fields")):
        where = {_ROOT: "at the root", _ITEM: "for specified array items",
                 _FIELD: "for specified object fields"}[level]
        causes.append(fe.required(f"{path}.type", f"must not be empty {where}"))
    if embedded and additional is not None:
        causes.append(fe.forbidden(f"{path}.additionalProperties",
                                   "must not be used if x-kubernetes-embedded-resource is set"))
    if level == _ROOT and schema_type and schema_type != "object":
        causes.append(fe.invalid(f"{path}.type", schema_type, "must be object at the root"))
    if level == _ROOT or embedded:
        for name in ("kind", "apiVersion"):
            sub = properties.get(name)
            if isinstance(sub, dict) and sub.get("type") != "string":
                causes.append(fe.invalid(f"{path}.properties[{name}].type",
                                         sub.get("type") or "", "must be string"))
    metadata = properties.get("metadata")
    if isinstance(metadata, dict):
        causes.extend(_metadata_causes(metadata, level == _ROOT or embedded, level == _ROOT,
                                       f"{path}.properties[metadata]"))
    if embedded and not schema.get("x-kubernetes-preserve-unknown-fields") and not properties:
        causes.append(fe.required(f"{path}.properties",
                                  "must not be empty if x-kubernetes-embedded-resource is true "
                                  "without x-kubernetes-preserve-unknown-fields"))
    return causes


def _extension_causes(schema: JSONObject, path: str) -> list[Cause]:
    if not schema.get("x-kubernetes-int-or-string"):
        return []
    causes = []
    for extension in ("x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource"):
        if schema.get(extension):
            causes.append(fe.invalid(f"{path}.{extension}", True,
                                     "must be false if x-kubernetes-int-or-string is true"))
    return causes


def _metadata_causes(metadata: JSONObject, check_type: bool, at_root: bool,
                     path: str) -> list[Cause]:
    causes = []
    if check_type and metadata.get("type") != "object":
        causes.append(fe.invalid(f"{path}.type", metadata.get("type") or "", "must be object"))
    if at_root:
        properties = metadata.get("properties") or {}
        only_names = bool(properties) and set(properties) <= {"name", "generateName"}
        extra = [k for k in metadata
                 if k not in _METADATA_IGNORED_KEYWORDS and not (k == "properties" and only_names)
                 and metadata[k] not in (None, False, "", [], {})]
        if extra:
            causes.append(fe.forbidden(path, "must not specify anything other than name and "
                                             "generateName, but metadata is implicitly "
                                             "specified"))
    return causes


def _value_validation_causes(schema: JSONObject, path: str, *,
                             skip_int_or_string: bool) -> list[Cause]:
    causes: list[Cause] = []
    any_of = schema.get("anyOf") or []
    all_of = schema.get("allOf") or []
    skip_any_of = skip_int_or_string and _is_int_or_string_branches(any_of)
    skip_first_all_of = (skip_int_or_string and bool(all_of) and isinstance(all_of[0], dict)
                         and _is_int_or_string_branches(all_of[0].get("anyOf") or []))
    if not skip_any_of:
        causes.extend(_nested_list_causes(any_of, f"{path}.anyOf"))
    for position, branch in enumerate(all_of):
        if isinstance(branch, dict):
            causes.extend(_nested_causes(branch, f"{path}.allOf[{position}]",
                                         skip_any_of=skip_first_all_of and position == 0))
    causes.extend(_nested_list_causes(schema.get("oneOf") or [], f"{path}.oneOf"))
    negated = schema.get("not")
    if isinstance(negated, dict):
        causes.extend(_nested_causes(negated, f"{path}.not", skip_any_of=False))
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and pattern:
        try:
            go_regex(pattern)
        except re.error as err:
            causes.append(fe.invalid(f"{path}.pattern", pattern,
                                     f"must be a valid regular expression, but isn't: {err}"))
    return causes


def _nested_list_causes(branches: list[Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    for position, branch in enumerate(branches):
        if isinstance(branch, dict):
            causes.extend(_nested_causes(branch, f"{path}[{position}]", skip_any_of=False))
    return causes


def _nested_causes(branch: JSONObject, path: str, *, skip_any_of: bool) -> list[Cause]:
    causes: list[Cause] = []
    if skip_any_of:
        causes.extend(_value_validation_causes({k: v for k, v in branch.items() if k != "anyOf"},
                                               path, skip_int_or_string=False))
    else:
        causes.extend(_value_validation_causes(branch, path, skip_int_or_string=False))
    items = branch.get("items")
    if isinstance(items, dict):
        causes.extend(_nested_causes(items, f"{path}.items", skip_any_of=False))
    for name, sub in (branch.get("properties") or {}).items():
        if isinstance(sub, dict):
            causes.extend(_nested_causes(sub, f"{path}.properties[{name}]", skip_any_of=False))
    for keyword, detail in _NESTED_FORBIDDEN:
        present = (branch.get(keyword) is not None if keyword == "default"
                   else branch.get(keyword) not in (None, False, "", [], {}))
        if present:
            causes.append(fe.forbidden(f"{path}.{keyword}", detail))
    if branch.get("nullable"):
        causes.append(fe.forbidden(f"{path}.nullable", "must be false to be structural"))
    if branch.get("additionalProperties") is not None:
        causes.append(fe.forbidden(f"{path}.additionalProperties",
                                   "must be undefined to be structural"))
    if "metadata" in (branch.get("properties") or {}):
        causes.append(fe.forbidden(f"{path}.properties[metadata]",
                                   "must not be specified in a nested context"))
    return causes


def _is_int_or_string_branches(branches: list[Any]) -> bool:
    return branches == _INT_OR_STRING_BRANCHES


def _completeness_causes(value_schema: JSONObject, structure: JSONObject | None,
                         structure_path: str, value_path: str) -> list[Cause]:
    """Fields named inside junctors must also be declared by the structure around them.

    Like the real server, only the junctors of the schema passed in (the root) and the
    junctors nested inside them are checked.
    """
    causes: list[Cause] = []
    for junctor in _JUNCTORS:
        for position, branch in enumerate(value_schema.get(junctor) or []):
            if isinstance(branch, dict):
                causes.extend(_branch_completeness(branch, structure, structure_path,
                                                   f"{value_path}.{junctor}[{position}]"))
    negated = value_schema.get("not")
    if isinstance(negated, dict):
        causes.extend(_branch_completeness(negated, structure, structure_path,
                                           f"{value_path}.not"))
    return causes


def _branch_completeness(branch: JSONObject, structure: JSONObject | None,
                         structure_path: str, value_path: str) -> list[Cause]:
    if structure is None:
        return [fe.required(structure_path, f"because it is defined in {value_path}")]
    causes = _completeness_causes(branch, structure, structure_path, value_path)
    items = branch.get("items")
    if isinstance(items, dict):
        structure_items = structure.get("items")
        causes.extend(_branch_completeness(
            items, structure_items if isinstance(structure_items, dict) else None,
            f"{structure_path}.items", f"{value_path}.items"))
    structure_properties = structure.get("properties") or {}
    for name, sub in (branch.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        sub_structure = structure_properties.get(name)
        if sub_structure is None:
            causes.append(fe.required(f"{structure_path}.properties[{name}]",
                                      f"because it is defined in {value_path}.properties[{name}]"))
        else:
            causes.extend(_branch_completeness(sub, sub_structure,
                                               f"{structure_path}.properties[{name}]",
                                               f"{value_path}.properties[{name}]"))
    return causes

"""Validation of CustomResourceDefinition objects, with the real server's causes.

`validate_crd` complements `metadata_validation.validate_metadata` (which checks the name
syntax, labels, annotations, ...): it checks that the name is `<plural>.<group>` and
everything under `spec` and `status`.

Like the real server, a `v1` CRD whose versions all carry the same schema, subresources or
printer columns is validated as if those were given once for all versions: causes about
them name `spec.validation.openAPIV3Schema`, `spec.subresources` and
`spec.additionalPrinterColumns` rather than `spec.versions[i]...`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from controllerkit.apiserver import field_errors as fe
from controllerkit.apiserver.crd_schema_validation import crd_schema_causes
from controllerkit.apiserver.errors import Cause
from controllerkit.apiserver.name_formats import dns1035_label_errors, dns1123_subdomain_errors
from controllerkit.apiserver.resources import JSONObject

_SCOPES = ["Cluster", "Namespaced"]
_COLUMN_TYPES = "boolean,date,integer,number,string"
_COLUMN_FORMATS = "byte,date,date-time,double,float,int32,int64,password"
_APPROVAL_ANNOTATION = "api-approved.kubernetes.io"
_APPROVAL_PR = "https://github.com/kubernetes/enhancements/pull/1111"
_NAME_MESSAGE = 'must be spec.names.plural+"."+spec.group'


def validate_crd(crd: JSONObject) -> list[Cause]:
    """Every reason the real server would refuse to store `crd` (after its defaults).

    Apply `crds.apply_crd_defaults` first, as the server defaults before validating.
    """
    metadata = crd.get("metadata") or {}
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [fe.required("spec")]
    names: JSONObject = spec["names"] if isinstance(spec.get("names"), dict) else {}
    required_name = f"{names.get('plural') or ''}.{spec.get('group') or ''}"
    causes: list[Cause] = []
    for field in ("generateName", "name"):
        value = metadata.get(field)
        if value and value != required_name:
            causes.append(fe.invalid(f"metadata.{field}", value, _NAME_MESSAGE))
    causes.extend(_spec_causes(spec, names))
    status: JSONObject = crd["status"] if isinstance(crd.get("status"), dict) else {}
    causes.extend(_names_causes(status.get("acceptedNames") or {}, "status.acceptedNames"))
    causes.extend(_stored_versions_causes(status.get("storedVersions"),
                                          _versions(spec)))
    causes.extend(_approval_causes(spec.get("group") or "", metadata.get("annotations") or {}))
    if spec.get("preserveUnknownFields") is True:
        causes.append(fe.invalid("spec.preserveUnknownFields", True,
                                 "cannot set to true, set x-kubernetes-preserve-unknown-fields "
                                 "to true in spec.versions[*].schema instead"))
    return causes


def _spec_causes(spec: JSONObject, names: JSONObject) -> list[Cause]:
    causes = _group_causes(spec.get("group") or "")
    scope = spec.get("scope") or ""
    if not scope:
        causes.append(fe.required("spec.scope"))
    elif scope not in _SCOPES:
        causes.append(fe.not_supported("spec.scope", scope, _SCOPES))
    versions = _versions(spec)
    shared = {field: _shared(versions, field)
              for field in ("schema", "subresources", "additionalPrinterColumns")}
    for position, version in enumerate(versions):
        if not (version.get("schema") or {}).get("openAPIV3Schema"):
            causes.append(fe.required(f"spec.versions[{position}].schema.openAPIV3Schema",
                                      "schemas are required"))
    any_status = any("status" in (v.get("subresources") or {}) for v in versions)
    seen: set[str] = set()
    unique = True
    for position, version in enumerate(versions):
        path = f"spec.versions[{position}]"
        name = version.get("name") or ""
        unique = unique and name not in seen
        seen.add(name)
        errors = dns1035_label_errors(name)
        if errors:
            causes.append(fe.invalid(f"{path}.name", name, ",".join(errors)))
        causes.extend(_deprecation_causes(version, path))
        if shared["schema"] is None:
            has_status = "status" in (version.get("subresources") or {})
            causes.extend(_schema_causes(version.get("schema"), f"{path}.schema", has_status))
        if shared["subresources"] is None:
            causes.extend(_subresource_causes(version.get("subresources"), f"{path}.subresources"))
        if shared["additionalPrinterColumns"] is None:
            causes.extend(_columns_causes(version.get("additionalPrinterColumns"),
                                          f"{path}.additionalPrinterColumns"))
    if not unique:
        causes.append(_versions_cause(versions, "must contain unique version names"))
    if sum(1 for v in versions if v.get("storage") is True) != 1:
        causes.append(_versions_cause(versions,
                                      "must have exactly one version marked as storage version"))
    for field in ("plural", "singular", "kind", "listKind"):
        if not names.get(field):
            causes.append(fe.required(f"spec.names.{field}"))
    causes.extend(_names_causes(names, "spec.names"))
    causes.extend(_schema_causes(shared["schema"], "spec.validation", any_status))
    causes.extend(_subresource_causes(shared["subresources"], "spec.subresources"))
    causes.extend(_columns_causes(shared["additionalPrinterColumns"],
                                  "spec.additionalPrinterColumns"))
    causes.extend(_conversion_causes(spec.get("conversion"), spec.get("preserveUnknownFields")))
    return causes


def _versions(spec: JSONObject) -> list[JSONObject]:
    versions = spec.get("versions")
    return [v for v in versions if isinstance(v, dict)] if isinstance(versions, list) else []


def _shared(versions: list[JSONObject], field: str) -> Any:
    """The value every version gives `field`, when they all give the same one, else None."""
    if not versions:
        return None
    first = versions[0].get(field)
    return first if all(v.get(field) == first for v in versions) else None


def _group_causes(group: str) -> list[Cause]:
    if not group:
        return [fe.required("spec.group")]
    errors = dns1123_subdomain_errors(group)
    if errors:
        return [fe.invalid("spec.group", group, ",".join(errors))]
    if "." not in group:
        return [fe.invalid("spec.group", group, "should be a domain with at least one dot")]
    return []


def _versions_cause(versions: list[JSONObject], detail: str) -> Cause:
    rendered = ", ".join(
        "apiextensions.CustomResourceDefinitionVersion{"
        f"Name:{fe.go_quote(str(v.get('name') or ''))}, Served:{_go_bool(v.get('served'))}, "
        f"Storage:{_go_bool(v.get('storage'))}}}"
        for v in versions)
    return fe.invalid_rendered(
        "spec.versions", f"[]apiextensions.CustomResourceDefinitionVersion{{{rendered}}}", detail)


def _go_bool(value: Any) -> str:
    return "true" if value is True else "false"


def _names_causes(names: JSONObject, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for field in ("plural", "singular"):
        value = names.get(field) or ""
        errors = dns1035_label_errors(value) if value else []
        if errors:
            causes.append(fe.invalid(f"{path}.{field}", value, ",".join(errors)))
    for field in ("kind", "listKind"):
        value = names.get(field) or ""
        errors = dns1035_label_errors(value.lower()) if value else []
        if errors:
            causes.append(fe.invalid(f"{path}.{field}", value,
                                     "may have mixed case, but should otherwise match: "
                                     + ",".join(errors)))
    for field in ("shortNames", "categories"):
        for position, value in enumerate(names.get(field) or []):
            errors = dns1035_label_errors(value)
            if errors:
                causes.append(fe.invalid(f"{path}.{field}[{position}]", value, ",".join(errors)))
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        causes.append(fe.invalid(f"{path}.listKind", names["listKind"],
                                 "kind and listKind may not be the same"))
    return causes


def _deprecation_causes(version: JSONObject, path: str) -> list[Cause]:
    warning = version.get("deprecationWarning")
    if warning is None:
        return []
    field = f"{path}.deprecationWarning"
    if not version.get("deprecated"):
        return [fe.invalid(field, warning, "can only be set for deprecated versions")]
    causes = []
    if len(warning) > 256:
        causes.append(fe.invalid(field, warning, "must be <= 256 characters long"))
    if not warning:
        causes.append(fe.invalid(field, warning, "must not be an empty string"))
    for position, char in enumerate(warning):
        if not char.isprintable():
            causes.append(fe.invalid(field, warning, "must only contain printable UTF-8 "
                                                     "characters; non-printable character "
                                                     f"found at index {position}"))
            break
    return causes


def _schema_causes(schema: Any, path: str, status_enabled: bool) -> list[Cause]:
    if not isinstance(schema, dict) or schema.get("openAPIV3Schema") is None:
        return []
    return crd_schema_causes(schema["openAPIV3Schema"], f"{path}.openAPIV3Schema",
                             status_enabled=status_enabled)


def _subresource_causes(subresources: Any, path: str) -> list[Cause]:
    scale = subresources.get("scale") if isinstance(subresources, dict) else None
    if not isinstance(scale, dict):
        return []
    causes: list[Cause] = []
    for field, prefixes, where in (
        ("specReplicasPath", (".spec.",), ".spec"),
        ("statusReplicasPath", (".status.",), ".status"),
        ("labelSelectorPath", (".spec.", ".status."), "either .spec or .status"),
    ):
        value = scale.get(field) or ""
        field_path = f"{path}.scale.{field}"
        if not value:
            if field != "labelSelectorPath":
                causes.append(fe.required(field_path))
            continue
        path_causes = _simple_json_path_causes(value, field_path)
        if path_causes:
            causes.extend(path_causes)
        elif not value.startswith(prefixes):
            causes.append(fe.invalid(field_path, value, f"should be a json path under {where}"))
    return causes


def _columns_causes(columns: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for position, column in enumerate(columns if isinstance(columns, list) else []):
        column_path = f"{path}[{position}]"
        column = column if isinstance(column, dict) else {}
        if not column.get("name"):
            causes.append(fe.required(f"{column_path}.name"))
        column_type = column.get("type") or ""
        if not column_type:
            causes.append(fe.required(f"{column_path}.type", f"must be one of {_COLUMN_TYPES}"))
        elif column_type not in _COLUMN_TYPES.split(","):
            causes.append(fe.invalid(f"{column_path}.type", column_type,
                                     f"must be one of {_COLUMN_TYPES}"))
        column_format = column.get("format") or ""
        if column_format and column_format not in _COLUMN_FORMATS.split(","):
            causes.append(fe.invalid(f"{column_path}.format", column_format,
                                     f"must be one of {_COLUMN_FORMATS}"))
        json_path = column.get("jsonPath") or ""
        if not json_path:
            causes.append(fe.required(f"{column_path}.JSONPath"))
        else:
            causes.extend(_simple_json_path_causes(json_path, f"{column_path}.JSONPath"))
    return causes


def _simple_json_path_causes(value: str, path: str) -> list[Cause]:
    if not value.startswith("."):
        return [fe.invalid(path, value, "must be a simple json path starting with .")]
    return []


def _conversion_causes(conversion: Any, preserve_unknown_fields: Any) -> list[Cause]:
    if not isinstance(conversion, dict):
        return []
    path = "spec.conversion"
    strategy = conversion.get("strategy") or ""
    causes: list[Cause] = []
    if strategy and strategy != "None" and preserve_unknown_fields is True:
        causes.append(fe.invalid(f"{path}.strategy", strategy,
                                 "must be None if spec.preserveUnknownFields is true"))
    if not strategy:
        causes.append(fe.required(f"{path}.strategy"))
    elif strategy not in ("None", "Webhook"):
        causes.append(fe.not_supported(f"{path}.strategy", strategy, ["None", "Webhook"]))
    webhook = conversion.get("webhook") if isinstance(conversion.get("webhook"), dict) else None
    client_config = (webhook or {}).get("clientConfig")
    review_versions = (webhook or {}).get("conversionReviewVersions")
    if strategy != "Webhook":
        if client_config is not None:
            causes.append(fe.forbidden(f"{path}.webhookClientConfig",
                                       "should not be set when strategy is not set to Webhook"))
        if review_versions:
            causes.append(fe.forbidden(f"{path}.conversionReviewVersions",
                                       "should not be set when strategy is not set to Webhook"))
        return causes
    if not isinstance(client_config, dict):
        causes.append(fe.required(f"{path}.webhookClientConfig",
                                  "required when strategy is set to Webhook"))
    elif (client_config.get("url") is None) == (client_config.get("service") is None):
        causes.append(fe.required(f"{path}.webhookClientConfig",
                                  "exactly one of url or service is required"))
    causes.extend(_review_versions_causes(review_versions, f"{path}.conversionReviewVersions"))
    return causes


def _review_versions_causes(versions: Any, path: str) -> list[Cause]:
    if not isinstance(versions, list) or not versions:
        return [fe.required(path)]
    causes: list[Cause] = []
    seen: set[str] = set()
    for position, version in enumerate(versions):
        if version in seen:
            causes.append(fe.invalid(f"{path}[{position}]", version, "duplicate version"))
            continue
        seen.add(version)
        causes.extend(fe.invalid(f"{path}[{position}]", version, message)
                      for message in dns1035_label_errors(str(version)))
    if not seen & {"v1", "v1beta1"}:
        causes.append(fe.invalid_rendered(path, fe.go_string_slice([str(v) for v in versions]),
                                          "must include at least one of v1, v1beta1"))
    return causes


def _stored_versions_causes(stored: Any, versions: list[JSONObject]) -> list[Cause]:
    path = "status.storedVersions"
    if not isinstance(stored, list) or not stored:
        rendered = fe.go_string_slice(stored if isinstance(stored, list) else None)
        return [fe.invalid_rendered(path, rendered, "must have at least one stored version")]
    causes: list[Cause] = []
    remaining = {name: position for position, name in enumerate(stored)}
    for version in versions:
        name = version.get("name") or ""
        if version.get("storage") is True and name not in remaining:
            causes.append(fe.invalid_rendered(path, fe.go_string_slice(stored),
                                              f"must have the storage version {name}"))
        remaining.pop(name, None)
    for name, position in remaining.items():
        causes.append(fe.invalid(
            f"{path}[{position}]", name,
            f"missing from spec.versions; {name} was previously a storage version, and must "
            f"remain in spec.versions until a storage migration ensures no data remains "
            f"persisted in {name} and removes {name} from status.storedVersions"))
    return causes


def _approval_causes(group: str, annotations: JSONObject) -> list[Cause]:
    protected = group in ("k8s.io", "kubernetes.io") or group.endswith(
        (".k8s.io", ".kubernetes.io"))
    if not protected:
        return []
    field = f"metadata.annotations[{_APPROVAL_ANNOTATION}]"
    value = annotations.get(_APPROVAL_ANNOTATION)
    if value is None:
        return [fe.required(field, f'protected groups must have approval annotation '
                                   f'"{_APPROVAL_ANNOTATION}", see {_APPROVAL_PR}')]
    if value.startswith("unapproved") or _is_url(value):
        return []
    return [fe.invalid(field, value, f'protected groups must have approval annotation '
                                     f'"{_APPROVAL_ANNOTATION}" with either a URL or a reason '
                                     f'starting with "unapproved", see {_APPROVAL_PR}')]


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)

"""Objects as they are stored in git: sanitised of cluster-assigned state, rendered as YAML
with a stable key order so the same object always gives the same bytes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import yaml

# Metadata that describes the object rather than this cluster's copy of it. Everything else
# (uid, resourceVersion, generation, creationTimestamp, managedFields, selfLink, finalizers,
# deletion state) is assigned by the cluster and would turn every write into a commit.
# ownerReferences are dropped too: they name the owner by uid, which only means something in
# the cluster that assigned it, and they change whenever the owner is recreated.
KEPT_METADATA: Final = ("name", "namespace", "labels", "annotations")
# kubectl apply stores the whole previous manifest here — for a Secret, its values in clear.
LAST_APPLIED_ANNOTATION: Final = "kubectl.kubernetes.io/last-applied-configuration"
_LEADING_KEYS: Final = ("apiVersion", "kind", "metadata")


def sanitize(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without cluster-assigned state: `status` and every metadata field except
    name, namespace, labels and annotations (minus kubectl's last-applied annotation) are
    dropped; empty labels/annotations are omitted. The input is not modified."""
    clean: dict[str, Any] = {
        key: value for key, value in obj.items() if key not in ("status", "metadata")
    }
    metadata = obj.get("metadata") or {}
    kept: dict[str, Any] = {}
    for field in KEPT_METADATA:
        value = metadata.get(field)
        if field == "annotations" and value:
            value = {k: v for k, v in value.items() if k != LAST_APPLIED_ANNOTATION}
        if value:
            kept[field] = value
    clean["metadata"] = kept
    return clean


def render_yaml(obj: Mapping[str, Any], *, last: Sequence[str] = ()) -> bytes:
    """YAML with apiVersion, kind and metadata first (name, namespace, labels, annotations
    leading inside it), the keys named in `last` at the end, everything else in sorted order;
    multi-line strings as literal blocks so diffs stay line by line."""
    top = [key for key in _LEADING_KEYS if key in obj]
    top += [key for key in sorted(obj) if key not in _LEADING_KEYS and key not in last]
    top += [key for key in last if key in obj]
    ordered = {key: _sorted(obj[key]) for key in top}
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping):
        leading = [key for key in KEPT_METADATA if key in metadata]
        rest = sorted(key for key in metadata if key not in KEPT_METADATA)
        ordered["metadata"] = {key: _sorted(metadata[key]) for key in leading + rest}
    text = yaml.dump(
        ordered,
        Dumper=_ManifestDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
    )
    return text.encode()


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _sorted(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_sorted(item) for item in value]
    return value


class _ManifestDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as `|` blocks and indents lists under keys."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not _has_trailing_space(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _has_trailing_space(value: str) -> bool:
    # PyYAML cannot keep trailing spaces on a line inside a literal block; it would fall back
    # to a quoted scalar anyway, so ask for it directly.
    return any(line != line.rstrip(" \t") for line in value.split("\n"))


_ManifestDumper.add_representer(str, _represent_text)

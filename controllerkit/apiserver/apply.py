"""Server-side apply and the `metadata.managedFields` bookkeeping behind it.

`server_side_apply` merges an applied configuration into the live object and records who owns
which fields (real FieldsV1 entries); `record_update` keeps the record current across ordinary
writes. Both return the new full object; the caller validates, bumps generation and
resourceVersion, and stores it. Simplifications against the real server, on purpose:

- List shapes follow the schema's `x-kubernetes-list-type`/`-list-map-keys` when present;
  otherwise a list of maps whose items all carry `name` (or all carry `type`, like conditions) is
  associative on that key, and every other list is atomic: one field, owned and replaced whole.
- Field sets hold leaves and list items; a map is a member of its own only when empty.
- `null` in an applied configuration means the field is omitted. New associative list items
  are appended after the live ones.
- managedFields sent by a client on an ordinary write are ignored; the stored record stands.

As on the real server, every write is recorded from the object's creation on. An object stored
without managedFields (written before they were tracked) stays so through ordinary writes; its
first apply hands its fields to a `before-first-apply` manager, so changing them conflicts.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, replace
from typing import Any, Final

import yaml

from controllerkit.apiserver.codec import MAX_NESTING_DEPTH, check_depth
from controllerkit.apiserver.errors import Cause, StatusError, bad_request
from controllerkit.apiserver.fieldsets import (
    MISSING,
    Path,
    changed_paths,
    fields_v1,
    json_equal,
    merge_values,
    owned_paths,
    path_order,
    path_string,
    paths_from_fields_v1,
    remove_fields,
    value_at,
    without_nulls,
)
from controllerkit.apiserver.resources import JSONObject

APPLY_PATCH_CONTENT_TYPE: Final = "application/apply-patch+yaml"
FIELD_MANAGER_MAX_LENGTH: Final = 128
# Nodes that aliases may add to a YAML body beyond one per byte.
ALIAS_EXPANSION_ALLOWANCE: Final = 100_000

# Server-maintained metadata: an applied configuration cannot set these on a live object.
_SYSTEM_METADATA: Final = (
    "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
    "managedFields", "selfLink",
)

# Owns the fields of an object that had no managedFields when it was first applied.
BEFORE_FIRST_APPLY: Final = "before-first-apply"
# kubectl's client-side apply record; fields it still describes may be taken by kubectl's
# server-side apply without a conflict (the upgrade from client-side apply).
LAST_APPLIED_ANNOTATION: Final = "kubectl.kubernetes.io/last-applied-configuration"
_KUBECTL: Final = "kubectl"

# (manager, operation, subresource, apiVersion of an Update): one managedFields entry each.
_Identity = tuple[str, str, str, str]


@dataclass(frozen=True)
class _Entry:
    """One managedFields entry; `stored` is the entry as read, reused while nothing changes."""

    manager: str
    operation: str
    api_version: str
    subresource: str
    time: str | None
    paths: frozenset[Path]
    stored: JSONObject | None = None

    @property
    def identity(self) -> _Identity:
        # Appliers keep one entry whatever version they apply with; updaters get one per version.
        version = "" if self.operation == "Apply" else self.api_version
        return (self.manager, self.operation, self.subresource, version)

    def with_paths(self, paths: set[Path] | frozenset[Path]) -> _Entry:
        if paths == self.paths:
            return self
        return replace(self, paths=frozenset(paths), stored=None)

    def to_json(self) -> JSONObject:
        if self.stored is not None:
            return copy.deepcopy(self.stored)
        entry: JSONObject = {"manager": self.manager, "operation": self.operation,
                             "apiVersion": self.api_version}
        if self.time is not None:
            entry["time"] = self.time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = fields_v1(self.paths)
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry

    def described(self) -> str:
        """The manager as conflict messages name it: `"kubectl" using apps/v1`."""
        text = json.dumps(self.manager, ensure_ascii=False)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource, ensure_ascii=False)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text

    def sort_identity(self) -> str:
        """The real server's manager identifier, whose text orders conflict messages."""
        fields: JSONObject = {"manager": self.manager, "operation": self.operation}
        if self.operation != "Apply" and self.api_version:
            fields["apiVersion"] = self.api_version
        if self.subresource:
            fields["subresource"] = self.subresource
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def server_side_apply(
    current: JSONObject | None,
    applied: JSONObject,
    *,
    manager: str,
    force: bool,
    now: str,
    subresource: str = "",
    schema: JSONObject | None = None,
    has_status_subresource: bool = False,
) -> JSONObject:
    """Apply `applied` as `manager` and return the new full object.

    `current` is the live object, or None to create. Fields of `applied` that another manager
    owns and whose live value differs are conflicts: 409 `Conflict` with one
    `FieldManagerConflict` cause each, unless `force`, which moves them to `manager`. A live
    object without managedFields has its fields owned by `before-first-apply` first. The
    manager `kubectl` takes without a conflict the fields that kubectl's last-applied
    annotation still describes with their live values (the client-side apply upgrade). Fields
    `manager` applied last time and omits now are removed unless someone else owns them.
    Through `subresource="status"` only `.status` is applied; with `has_status_subresource` an
    apply to the main resource ignores `.status`. `now` (RFC 3339) stamps the applier's entry
    only when its fields or values change, so an identical re-apply returns an object equal to
    `current`. The caller still checks a `metadata.resourceVersion` precondition in `applied`.
    """
    _require_identity(applied, _name_of(current or {}))
    config = without_nulls(applied)
    view = _applied_view(config, subresource, has_status_subresource)
    live = current if current is not None else _skeleton(config)
    entries = _decode_entries(live)
    if current is not None and not entries:
        entries = _before_first_apply(current, str(config["apiVersion"]), now, schema)
    applier_id = (manager, "Apply", subresource, "")
    previous = entries.pop(applier_id, None)

    applied_paths = owned_paths(view, schema)
    merged = merge_values(copy.deepcopy(live), view, schema)
    changed = changed_paths(live, merged, applied_paths)
    conflicts = sorted(
        ((entry, path) for entry in entries.values() for path in entry.paths & changed),
        key=lambda conflict: (conflict[0].sort_identity(), path_order(conflict[1])),
    )
    if conflicts and not force and manager == _KUBECTL:
        allowed = _described_by_last_applied(live, schema)
        conflicts = [(entry, path) for entry, path in conflicts if path not in allowed]
    if conflicts and not force:
        raise _conflict_error(conflicts)
    entries = {key: entry.with_paths(entry.paths - changed) for key, entry in entries.items()}

    others_own: set[Path] = set().union(*(entry.paths for entry in entries.values()))
    if previous is not None:
        doomed = set(previous.paths - applied_paths - others_own)
        remove_fields(merged, doomed, applied_paths | others_own)

    entries = _existing_only(entries, merged)
    api_version = str(config["apiVersion"])
    content_changed = not json_equal(_with_managed_fields(merged, None),
                                     _with_managed_fields(live, None))
    if previous is None or previous.paths != applied_paths or content_changed \
            or previous.api_version != api_version:
        entries[applier_id] = _Entry(manager, "Apply", api_version, subresource, now,
                                     frozenset(applied_paths))
    else:
        entries[applier_id] = previous
    return _with_entries(merged, live, entries)


def record_update(
    old: JSONObject,
    new: JSONObject,
    *,
    manager: str,
    operation: str = "Update",
    now: str,
    subresource: str = "",
    api_version: str,
    schema: JSONObject | None = None,
) -> JSONObject:
    """`new` with managedFields brought up to date after a non-apply write by `manager`.

    The fields whose values changed from `old` to `new` move to `manager`'s entry for
    (`operation`, `subresource`, `api_version`), stamped `now`; other managers lose them, and
    everyone loses fields that no longer exist. Values are never touched. A create passes an
    `old` without a uid (`{}`): every field of `new` is then `manager`'s. An existing object
    without managedFields is returned without managedFields, as the real server leaves it.
    """
    if not _stored_entries(old) and (old.get("metadata") or {}).get("uid"):
        return _with_managed_fields(new, None)
    entries = _decode_entries(old)
    old_paths, new_paths = owned_paths(old, schema), owned_paths(new, schema)
    changed = changed_paths(old, new, new_paths)
    removed = old_paths - new_paths
    if not changed and not removed:
        return _with_managed_fields(new, copy.deepcopy(_stored_entries(old)) or None)

    previous = entries.pop((manager, operation, subresource,
                            "" if operation == "Apply" else api_version), None)
    entries = {key: entry.with_paths(entry.paths - changed - removed)
               for key, entry in entries.items()}
    own = (previous.paths if previous is not None else frozenset()) - removed
    updater = _Entry(manager, operation, api_version, subresource, now, frozenset(own | changed))
    entries[updater.identity] = updater
    return _with_entries(new, old, _existing_only(entries, new))


def check_apply_config(applied: JSONObject, *, api_version: str, kind: str, name: str) -> None:
    """Reject an applied configuration that does not fit the request URL, with the real texts.

    `api_version`, `kind` and `name` are what the URL addresses (400 `BadRequest` otherwise).
    """
    if applied.get("apiVersion") != api_version or applied.get("kind") != kind:
        raise _invalid_type(applied)
    _require_identity(applied, name)
    applied_name = applied["metadata"]["name"]
    if applied_name != name:
        raise bad_request(f"the name of the object ({applied_name}) does not match the name on "
                          f"the URL ({name})")


def parse_apply_body(body: bytes) -> JSONObject:
    """The applied configuration in a request body (YAML, or JSON as a subset of YAML).

    An empty document is an empty configuration; anything but a mapping is 400 `BadRequest`.
    """
    try:
        text = body.decode("utf-8")
        loader = _DeepApplyLoader if _may_nest_deeply(text) else _ApplyLoader
        documents = yaml.load_all(text, Loader=loader)
        document = next(iter(documents), None)
        # Aliases may expand without bound; an alias-free document has fewer nodes than bytes.
        parsed = _as_json(document, [len(text) + ALIAS_EXPANSION_ALLOWANCE])
    except (UnicodeDecodeError, yaml.YAMLError, ValueError) as exc:
        raise bad_request(f"error decoding YAML: {exc}") from exc
    except RecursionError:
        raise bad_request("error decoding YAML: the document is nested too deeply") from None
    if parsed is None:
        return {}
    check_depth(parsed)
    if not isinstance(parsed, dict):
        go_type = {list: "array", str: "string", bool: "bool"}.get(type(parsed), "number")
        raise bad_request(
            "error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot "
            f"unmarshal {go_type} into Go value of type map[string]interface {{}}"
        )
    return parsed


def manager_from_user_agent(user_agent: str) -> str:
    """The fieldManager a write without one is recorded under: the user agent up to its first
    `/`, without unprintable characters, cut to 128 bytes (`kubectl/v1.32.0 (...)` → `kubectl`)."""
    out: list[str] = []
    size = 0
    for char in user_agent.split("/", 1)[0]:
        if not (char.isprintable() or char == " "):
            continue
        size += len(char.encode("utf-8"))
        if size > FIELD_MANAGER_MAX_LENGTH:
            break
        out.append(char)
    return "".join(out)


# --- managedFields -----------------------------------------------------------------------------


def _decode_entries(obj: JSONObject) -> dict[_Identity, _Entry]:
    """The managedFields of `obj` by manager identity; malformed entries are dropped."""
    entries: dict[_Identity, _Entry] = {}
    for raw in _stored_entries(obj):
        if not isinstance(raw, dict) or not isinstance(raw.get("manager"), str):
            continue
        time = raw.get("time")
        entry = _Entry(
            manager=raw["manager"], operation=str(raw.get("operation", "")),
            api_version=str(raw.get("apiVersion", "")), subresource=str(raw.get("subresource", "")),
            time=time if isinstance(time, str) else None,
            paths=frozenset(paths_from_fields_v1(raw.get("fieldsV1"))), stored=raw,
        )
        known = entries.get(entry.identity)
        entries[entry.identity] = known.with_paths(known.paths | entry.paths) if known else entry
    return entries


def _before_first_apply(live: JSONObject, api_version: str, now: str,
                        schema: JSONObject | None) -> dict[_Identity, _Entry]:
    """The entry that owns every field of an object never tracked, before its first apply."""
    entry = _Entry(BEFORE_FIRST_APPLY, "Update", api_version, "", now,
                   frozenset(owned_paths(live, schema)))
    return {entry.identity: entry} if entry.paths else {}


def _described_by_last_applied(live: JSONObject, schema: JSONObject | None) -> set[Path]:
    """The fields kubectl's last-applied annotation on `live` sets to their live values."""
    annotations = (live.get("metadata") or {}).get("annotations")
    text = annotations.get(LAST_APPLIED_ANNOTATION) if isinstance(annotations, dict) else None
    try:
        last_applied = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return set()
    if not isinstance(last_applied, dict) or last_applied.get("apiVersion") != live.get(
            "apiVersion"):
        return set()
    described = owned_paths(last_applied, schema)
    return described - changed_paths(last_applied, live, described)


def _with_entries(obj: JSONObject, before: JSONObject,
                  entries: dict[_Identity, _Entry]) -> JSONObject:
    """`obj` carrying `entries`, kept in stored order when none of them changed."""
    kept = [entry for entry in entries.values() if entry.paths]
    stored = _stored_entries(before)
    if len(kept) == len(stored) and all(entry.stored is not None for entry in kept):
        return _with_managed_fields(obj, copy.deepcopy(stored))
    kept.sort(key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource))
    return _with_managed_fields(obj, [entry.to_json() for entry in kept] or None)


def _existing_only(entries: dict[_Identity, _Entry], obj: JSONObject) -> dict[_Identity, _Entry]:
    """The entries without the fields `obj` no longer has."""
    return {key: entry.with_paths({p for p in entry.paths if value_at(obj, p) is not MISSING})
            for key, entry in entries.items()}


def _with_managed_fields(obj: JSONObject, managed: list[Any] | None) -> JSONObject:
    metadata = dict(obj.get("metadata") or {})
    metadata.pop("managedFields", None)
    if managed:
        metadata["managedFields"] = managed
    return {**obj, "metadata": metadata}


def _stored_entries(obj: JSONObject) -> list[Any]:
    managed = (obj.get("metadata") or {}).get("managedFields")
    return managed if isinstance(managed, list) else []


# --- the applied configuration -----------------------------------------------------------------


def _require_identity(applied: JSONObject, url_name: str) -> None:
    if not applied.get("apiVersion") or not applied.get("kind"):
        raise _invalid_type(applied)
    metadata = applied.get("metadata")
    if isinstance(metadata, dict) and metadata.get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        raise bad_request(f"the name of the object ({url_name} based on URL) was undeterminable: "
                          "name must be provided")


def _invalid_type(applied: JSONObject) -> StatusError:
    api_version = str(applied.get("apiVersion") or "")
    group, _, version = api_version.rpartition("/")
    return bad_request(f"invalid object type: {group}/{version}, Kind={applied.get('kind') or ''}")


def _name_of(obj: JSONObject) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _skeleton(config: JSONObject) -> JSONObject:
    """The identity of an object about to be created, before any applied field is merged."""
    metadata = {key: config["metadata"][key] for key in ("name", "namespace")
                if key in config["metadata"]}
    return {"apiVersion": config["apiVersion"], "kind": config["kind"], "metadata": metadata}


def _applied_view(config: JSONObject, subresource: str, has_status_subresource: bool) -> JSONObject:
    """The part of the configuration this write may set (the real server resets the rest)."""
    if subresource == "status":
        return {"status": config["status"]} if "status" in config else {}
    view = {key: value for key, value in config.items()
            if not (key == "status" and has_status_subresource)}
    view["metadata"] = {key: value for key, value in config["metadata"].items()
                        if key not in _SYSTEM_METADATA}
    return view


def _conflict_error(conflicts: list[tuple[_Entry, Path]]) -> StatusError:
    causes = [Cause("FieldManagerConflict", f"conflict with {entry.described()}", path_string(path))
              for entry, path in conflicts]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = (f"Apply failed with 1 conflict: conflict with {entry.described()}: "
                   f"{path_string(path)}")
    else:
        lines: list[str] = []
        last_manager = ""
        for entry, path in conflicts:
            if entry.sort_identity() != last_manager:
                last_manager = entry.sort_identity()
                lines.append(f"conflicts with {entry.described()}:")
            lines.append(f"- {path_string(path)}")
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return StatusError(409, "Conflict", message, causes=causes)


# --- YAML ----------------------------------------------------------------------------------------


class _ApplyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML that keeps timestamps as strings, as the JSON-bound Go decoder does."""


_ApplyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _DeepApplyLoader(yaml.SafeLoader):
    """`_ApplyLoader` in pure Python, for input that may nest deeply: libyaml's composer
    recurses on the C stack and kills the process on such input; this one raises
    RecursionError instead."""


_DeepApplyLoader.yaml_implicit_resolvers = _ApplyLoader.yaml_implicit_resolvers


def _may_nest_deeply(text: str) -> bool:
    """Whether YAML text could nest collections deeper than MAX_NESTING_DEPTH: by brackets
    (flow style) or by a line's indentation and `- `/`? ` indicators (block style)."""
    if text.count("{") + text.count("[") > MAX_NESTING_DEPTH:
        depth = peak = 0
        for match in re.finditer(r"[\[\]{}]", text):
            depth = depth + 1 if match.group() in "[{" else max(0, depth - 1)
            peak = max(peak, depth)
        if peak > MAX_NESTING_DEPTH:
            return True
    return any(len(m) > MAX_NESTING_DEPTH for m in re.findall(r"(?m)^[ \t?:-]+", text))


def _as_json(value: Any, budget: list[int]) -> Any:
    """YAML data as JSON data: keys become strings; NaN and infinities are refused.

    `budget[0]` is how many more nodes may be produced (ValueError beyond): aliases make a
    few bytes of YAML expand exponentially."""
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError("the document contains excessive aliasing")
    if isinstance(value, dict):
        return {key if isinstance(key, str) else json.dumps(key, default=str):
                _as_json(item, budget) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_json(item, budget) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"json: unsupported value: {value}")
    if value is None or isinstance(value, str | int | float):
        return value
    raise ValueError(f"unsupported YAML value of type {type(value).__name__}")

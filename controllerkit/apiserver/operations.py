"""Create, update and patch: the write path every verb that stores an object goes through.

The steps mirror the real server's generic registry: decode and check the body against the URL,
restore what the server owns, keep `.status` and the rest apart (status subresource), prune,
default and validate against the schema, bump `generation` only for changes outside metadata and
status, and store nothing (no resourceVersion, no event) when the result equals what is stored.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

from . import apply as ssa
from . import patching
from .binary_data import canonical_binary_data
from .deletion import Deletion
from .errors import (
    Cause,
    StatusError,
    already_exists,
    bad_request,
    conflict,
    invalid,
    not_found,
    unsupported_media_type,
)
from .lifecycle import (
    SERVER_OWNED_METADATA,
    WriteContext,
    changed_paths,
    comparable,
    desired_state,
    finalizers,
    generated_name,
    is_deleting,
    new_uid,
    now_rfc3339,
)
from .metadata_validation import validate_metadata
from .resources import GroupResource, JSONObject, ResourceType
from .schema import apply_defaults, prune, unknown_fields, validate
from .schema_pruning import strict_decoding_error, unknown_field_warnings
from .store import ObjectStore
from .watch import as_version

STATUS = "status"
CRD_GROUP = "apiextensions.k8s.io"


class Operations:
    """The object write path over one store."""

    def __init__(
        self,
        store: ObjectStore,
        deletion: Deletion,
        *,
        strict_status: bool,
        admit: Callable[
            [GroupResource, JSONObject | None, JSONObject], tuple[JSONObject, list[Cause]]
        ],
        after_commit: Callable[[ResourceType, JSONObject], None],
    ) -> None:
        self.store = store
        self.deletion = deletion
        # Off, a status write is what a real server makes of it: unconditional unless it
        # carries a resourceVersion, and everything outside `.status` reset to what is stored.
        self.strict_status = strict_status
        # Kind-specific validation (CRDs) and follow-ups (registering a CRD's types).
        self._admit = admit
        self._after_commit = after_commit

    # -- create ------------------------------------------------------------------------------

    def create(
        self, rtype: ResourceType, namespace: str, body: JSONObject, ctx: WriteContext
    ) -> JSONObject:
        obj = self._checked_body(rtype, namespace, body, name_from_url="")
        meta = obj["metadata"]
        # Only a number the real server can parse counts; anything else is dropped unread.
        if _parsed_resource_version(meta.pop("resourceVersion", None)):
            raise bad_request("resourceVersion should not be set on objects to be created")
        if rtype.namespaced:
            self.deletion.check_namespace_accepts(rtype, namespace, meta.get("name", ""))
        self.deletion.check_kind_accepts(rtype)
        if not meta.get("name") and meta.get("generateName"):
            for _ in range(8):
                candidate = generated_name(str(meta["generateName"]))
                if self.store.get(rtype.group_resource, namespace, candidate) is None:
                    meta["name"] = candidate
                    break
        for key in SERVER_OWNED_METADATA:
            meta.pop(key, None)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = now_rfc3339()
        if rtype.tracks_generation:
            meta["generation"] = 1
        if rtype.has_status:
            obj.pop(STATUS, None)
        obj = self._admitted(rtype, None, obj, ctx)
        name = obj["metadata"]["name"]
        if self.store.get(rtype.group_resource, namespace, name) is not None:
            raise already_exists(rtype.plural, rtype.group, name)
        if ctx.field_manager:
            obj = ssa.record_update({}, obj, manager=ctx.field_manager, now=now_rfc3339(),
                                    api_version=rtype.api_version, schema=rtype.schema)
        if ctx.dry_run:
            return obj
        stored = self.store.commit("ADDED", rtype.group_resource, obj)
        self._after_commit(rtype, stored)
        return stored

    # -- update ------------------------------------------------------------------------------

    def update(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        body: JSONObject,
        ctx: WriteContext,
        *,
        subresource: str = "",
    ) -> JSONObject:
        current = self._existing(rtype, namespace, name)
        obj = self._checked_body(rtype, namespace, body, name_from_url=name)
        sent_rv = str(obj["metadata"].get("resourceVersion") or "")
        if _parsed_resource_version(sent_rv) == 0:  # "0" is no precondition either
            sent_rv = ""
        if subresource == STATUS:
            self._require_precondition(rtype, name, present=bool(sent_rv))
        if not sent_rv and not _allows_unconditional_update(rtype):
            raise invalid(rtype.plural, rtype.group, name, [Cause(
                "FieldValueInvalid", "Invalid value: 0x0: must be specified for an update",
                "metadata.resourceVersion")])
        if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise conflict(rtype.plural, rtype.group, name)
        return self._write(rtype, current, obj, ctx, subresource=subresource, sent=body)

    # -- patch -------------------------------------------------------------------------------

    def patch(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        patch_body: bytes,
        content_type: str,
        ctx: WriteContext,
        *,
        subresource: str = "",
        force: bool = False,
    ) -> tuple[JSONObject, bool]:
        """Apply a patch; returns the object and whether it was created (apply only)."""
        media = content_type.split(";")[0].strip().lower()
        current = self.store.get(rtype.group_resource, namespace, name)
        if media == patching.APPLY_PATCH:
            return self._apply(rtype, namespace, name, current, patch_body, ctx,
                               subresource=subresource, force=force)
        if force:
            raise StatusError(422, "Invalid", "force: Forbidden: may not be specified for "
                              "non-apply patch")
        if current is None:
            raise not_found(rtype.plural, rtype.group, name)
        patch_doc = _decode_patch(patch_body)
        if media == patching.MERGE_PATCH:
            patched = patching.apply_merge_patch(current, patch_doc)
        elif media == patching.JSON_PATCH:
            patched = patching.apply_json_patch(current, patch_doc)
        elif media == patching.STRATEGIC_MERGE_PATCH and rtype.strategic_merge:
            patched = patching.apply_strategic_merge_patch(current, patch_doc)
        else:
            raise unsupported_media_type(content_type)
        if subresource == STATUS:
            self._require_precondition(rtype, name, present=_mentions_rv(media, patch_doc))
        self._check_patched_identity(rtype, namespace, name, current, patched)
        if patched["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise conflict(rtype.plural, rtype.group, name)
        return self._write(rtype, current, patched, ctx, subresource=subresource), False

    def _apply(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        current: JSONObject | None,
        patch_body: bytes,
        ctx: WriteContext,
        *,
        subresource: str,
        force: bool,
    ) -> tuple[JSONObject, bool]:
        if not ctx.field_manager:
            raise StatusError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: '
                              "fieldManager: Required value: is required for apply patch")
        applied = ssa.parse_apply_body(patch_body)
        ssa.check_apply_config(applied, api_version=rtype.api_version, kind=rtype.kind,
                               name=name)
        applied = self._checked_body(rtype, namespace, applied, name_from_url=name)
        sent_rv = str(applied["metadata"].get("resourceVersion") or "")
        if subresource == STATUS:
            self._require_precondition(rtype, name, present=bool(sent_rv))
        if current is None:
            if subresource:
                raise not_found(rtype.plural, rtype.group, name)
            if sent_rv:
                raise not_found(rtype.plural, rtype.group, name)
            merged = ssa.server_side_apply(None, applied, manager=ctx.field_manager, force=force,
                                           now=now_rfc3339(), schema=rtype.schema,
                                           has_status_subresource=rtype.has_status)
            create_ctx = dataclasses.replace(ctx, field_manager="", verb="patch")
            return self.create(rtype, namespace, merged, create_ctx), True
        if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise conflict(rtype.plural, rtype.group, name)
        merged = ssa.server_side_apply(
            as_version(current, rtype.api_version), applied, manager=ctx.field_manager,
            force=force, now=now_rfc3339(), subresource=subresource, schema=rtype.schema,
            has_status_subresource=rtype.has_status,
        )
        merged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        no_manager = dataclasses.replace(ctx, field_manager="")
        return self._write(rtype, current, merged, no_manager, subresource=subresource), False

    # -- shared steps ------------------------------------------------------------------------

    def _write(
        self,
        rtype: ResourceType,
        current: JSONObject,
        obj: JSONObject,
        ctx: WriteContext,
        *,
        subresource: str,
        sent: JSONObject | None = None,
    ) -> JSONObject:
        meta = obj["metadata"]
        current_meta = current["metadata"]
        for key in SERVER_OWNED_METADATA:
            if key in current_meta:
                meta[key] = current_meta[key]
            else:
                meta.pop(key, None)
        meta["resourceVersion"] = current_meta["resourceVersion"]
        if "managedFields" not in meta and "managedFields" in current_meta:
            meta["managedFields"] = current_meta["managedFields"]
        if subresource == STATUS:
            if self.strict_status:
                self._check_status_only(rtype, current, obj, sent)
            # Everything but `.status` stays as stored (the status strategy); `.status` is taken
            # as written, so a PUT without one removes it.
            written_status = obj.get(STATUS)
            obj = dict(current)
            if written_status is None:
                obj.pop(STATUS, None)
            else:
                obj[STATUS] = written_status
            obj["metadata"] = dict(current_meta)
            if "managedFields" in meta:
                obj["metadata"]["managedFields"] = meta["managedFields"]
        elif rtype.has_status:
            obj.pop(STATUS, None)
            if STATUS in current:
                obj[STATUS] = current[STATUS]
        if is_deleting(current):
            added = set(finalizers(obj)) - set(finalizers(current))
            if added:
                raise invalid(rtype.kind, rtype.group, meta["name"], [Cause(
                    "FieldValueForbidden",
                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers {sorted(added)!r}", "metadata.finalizers")])
        obj = self._admitted(rtype, current, obj, ctx)
        if rtype.tracks_generation and desired_state(obj) != desired_state(current):
            obj["metadata"]["generation"] = int(current_meta.get("generation") or 0) + 1
        if ctx.field_manager:
            obj = ssa.record_update(current, obj, manager=ctx.field_manager, now=now_rfc3339(),
                                    subresource=subresource, api_version=rtype.api_version,
                                    schema=rtype.schema)
        if comparable(obj) == comparable(current):
            return current
        if ctx.dry_run:
            return obj
        if is_deleting(obj) and not finalizers(obj):
            return self.deletion.remove(rtype.group_resource, obj)
        stored = self.store.commit("MODIFIED", rtype.group_resource, obj)
        self._after_commit(rtype, stored)
        return stored

    def _admitted(
        self, rtype: ResourceType, current: JSONObject | None, obj: JSONObject, ctx: WriteContext
    ) -> JSONObject:
        """Decode byte fields, prune, default and validate; raises 400 (a byte field that is not
        base64, strict unknown fields) or 422 (invalid)."""
        obj = canonical_binary_data(rtype.group_resource, obj)
        if rtype.schema is not None:
            if ctx.field_validation != "Ignore":
                unknown = [p.lstrip(".") for p in unknown_fields(obj, rtype.schema)]
                if unknown and ctx.field_validation == "Strict":
                    # Bodies that are decoded (create, update) name the kind; patches do not.
                    decoded = ctx.verb in ("create", "update")
                    raise strict_decoding_error(unknown, kind=rtype.kind if decoded else "",
                                                version=rtype.version)
                ctx.warnings.extend(unknown_field_warnings(unknown))
            obj = apply_defaults(prune(obj, rtype.schema), rtype.schema)
        name = obj["metadata"].get("name", "")
        is_namespace = (rtype.group, rtype.plural) == ("", "namespaces")
        causes = validate_metadata(
            obj, namespaced=rtype.namespaced, name_rule="label" if is_namespace else "subdomain"
        )
        if rtype.schema is not None:
            causes.extend(validate(obj, rtype.schema))
        obj, extra = self._admit(rtype.group_resource, current, obj)
        causes.extend(extra)
        if causes:
            raise invalid(rtype.kind, rtype.group, name, causes)
        return obj

    def _checked_body(
        self, rtype: ResourceType, namespace: str, body: JSONObject, *, name_from_url: str
    ) -> JSONObject:
        """A private deep copy of the body, checked against the URL it was sent to."""
        obj = copy.deepcopy(body)
        api_version = obj.get("apiVersion") or rtype.api_version
        kind = obj.get("kind") or rtype.kind
        if api_version != rtype.api_version:
            raise bad_request(f"the API version in the data ({api_version}) does not match the "
                              f"expected API version ({rtype.api_version})")
        if kind != rtype.kind:
            raise bad_request(f"the kind in the data ({kind}) does not match the expected kind "
                              f"({rtype.kind})")
        obj["apiVersion"], obj["kind"] = api_version, kind
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        if rtype.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if name_from_url:
            if meta.get("name") and meta["name"] != name_from_url:
                raise bad_request(f"the name of the object ({meta['name']}) does not match the "
                                  f"name on the URL ({name_from_url})")
            meta["name"] = name_from_url
        return obj

    def _check_patched_identity(
        self, rtype: ResourceType, namespace: str, name: str, current: JSONObject,
        patched: JSONObject,
    ) -> None:
        meta = patched.get("metadata")
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        if meta.get("name") != name or meta.get("namespace", "") != current["metadata"].get(
            "namespace", ""
        ):
            raise bad_request("a patch cannot change the name or namespace of an object")
        if patched.get("apiVersion") != current.get("apiVersion") or patched.get(
            "kind"
        ) != current.get("kind"):
            raise bad_request("a patch cannot change the apiVersion or kind of an object")
        meta.setdefault("resourceVersion", current["metadata"]["resourceVersion"])
        if meta.get("uid") and meta["uid"] != current["metadata"].get("uid"):
            raise conflict(rtype.plural, rtype.group, name,
                           f"Precondition failed: UID in precondition: {meta['uid']}, UID in "
                           f"object meta: {current['metadata'].get('uid')}")

    def _existing(self, rtype: ResourceType, namespace: str, name: str) -> JSONObject:
        current = self.store.get(rtype.group_resource, namespace, name)
        if current is None:
            raise not_found(rtype.plural, rtype.group, name)
        return current

    def _require_precondition(self, rtype: ResourceType, name: str, *, present: bool) -> None:
        if self.strict_status and not present:
            raise invalid(rtype.kind, rtype.group, name, [Cause(
                "FieldValueRequired",
                "Required value: status writes must carry the resourceVersion they were computed "
                "from (optimistic concurrency); read the object and send its "
                "metadata.resourceVersion", "metadata.resourceVersion")])

    def _check_status_only(
        self, rtype: ResourceType, current: JSONObject, obj: JSONObject,
        sent: JSONObject | None,
    ) -> None:
        """Reject a status write that would change anything but `.status` (strict mode).

        For PUT, only what the client sent counts: a body that leaves out `spec` or a metadata
        key does not ask to remove it. Patches are compared in full, after applying them.
        """
        before = _outside_status(current)
        after = _outside_status(obj)
        if sent is not None:
            after = _only_sent(after, sent)
            before = _only_sent(before, sent)
        paths = changed_paths(before, after)
        if paths:
            raise invalid(rtype.kind, rtype.group, current["metadata"]["name"], [
                Cause("FieldValueForbidden",
                      "Forbidden: only .status may be changed through the status subresource",
                      path)
                for path in paths
            ])


def _allows_unconditional_update(rtype: ResourceType) -> bool:
    """Whether a PUT without a resourceVersion overwrites what is stored, as the real
    registries' `AllowUnconditionalUpdate` says: yes for built-in kinds but Leases and CRDs,
    never for custom resources."""
    return not rtype.is_custom and rtype.group_resource not in _CONDITIONAL_UPDATES_ONLY


_CONDITIONAL_UPDATES_ONLY = frozenset({
    GroupResource("coordination.k8s.io", "leases"),
    GroupResource(CRD_GROUP, "customresourcedefinitions"),
})


def _parsed_resource_version(value: object) -> int | None:
    """A resourceVersion as the real server reads it (a decimal unsigned 64-bit number),
    or None when it is absent or is not one."""
    text = str(value or "")
    if not (text.isascii() and text.isdigit()) or int(text) >= 1 << 64:
        return None
    return int(text)


def _outside_status(obj: JSONObject) -> JSONObject:
    ignored_meta = {"resourceVersion", "managedFields", *SERVER_OWNED_METADATA}
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k not in ignored_meta}
    rest = {k: v for k, v in obj.items() if k not in (STATUS, "metadata", "apiVersion", "kind")}
    return {**rest, "metadata": meta}


def _only_sent(obj: JSONObject, sent: JSONObject) -> JSONObject:
    sent_meta = sent.get("metadata") if isinstance(sent.get("metadata"), dict) else {}
    assert isinstance(sent_meta, dict)
    out: JSONObject = {k: v for k, v in obj.items() if k != "metadata" and k in sent}
    out["metadata"] = {k: v for k, v in obj["metadata"].items() if k in sent_meta}
    return out


def _decode_patch(body: bytes) -> Any:
    from .codec import decode_any

    return decode_any(body, what="the patch")


def _mentions_rv(media: str, patch_doc: Any) -> bool:
    """Whether a patch carries a resourceVersion precondition."""
    if media == patching.JSON_PATCH:
        return isinstance(patch_doc, list) and any(
            isinstance(op, dict) and op.get("path") == "/metadata/resourceVersion"
            for op in patch_doc
        )
    meta = patch_doc.get("metadata") if isinstance(patch_doc, dict) else None
    return isinstance(meta, dict) and bool(meta.get("resourceVersion"))

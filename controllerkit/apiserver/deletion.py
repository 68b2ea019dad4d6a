"""Deletion: finalizers, propagation over ownerReferences, namespace and CRD termination.

What the real cluster spreads over the API server, the garbage collector and the namespace and
CRD finalizing controllers happens here synchronously, in the order those controllers produce:
an object with finalizers gets `deletionTimestamp` (MODIFIED) and stays until the last finalizer
is removed (DELETED); dependents of a removed owner are deleted (Background), or lose their
owner reference (Orphan, via the `orphan` finalizer), or are deleted before the owner
(Foreground, via the `foregroundDeletion` finalizer); a deleted namespace empties itself and then
disappears; a deleted CRD removes its custom resources and then disappears. Setting
`deletionTimestamp` bumps a tracked `metadata.generation`, as the real server does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import StatusError, conflict, forbidden, not_found
from .lifecycle import finalizers, is_deleting, now_rfc3339, with_metadata
from .resources import GroupResource, JSONObject, Registry, ResourceType
from .store import ObjectStore

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
NAMESPACES = GroupResource("", "namespaces")
CRDS = GroupResource("apiextensions.k8s.io", "customresourcedefinitions")
POLICIES = ("Background", "Foreground", "Orphan")


@dataclass(frozen=True)
class DeleteOptions:
    propagation_policy: str = ""
    precondition_uid: str = ""
    precondition_resource_version: str = ""
    dry_run: bool = False

    @staticmethod
    def from_body(body: Any, query_policy: str = "", dry_run: bool = False) -> DeleteOptions:
        policy = query_policy
        uid = rv = ""
        if isinstance(body, dict):
            policy = policy or str(body.get("propagationPolicy") or "")
            if not policy and body.get("orphanDependents") is True:
                policy = "Orphan"
            pre = body.get("preconditions")
            if isinstance(pre, dict):
                uid = str(pre.get("uid") or "")
                rv = str(pre.get("resourceVersion") or "")
            dry_run = dry_run or "All" in (body.get("dryRun") or [])
        if policy and policy not in POLICIES:
            raise StatusError(422, "Invalid", f'DeleteOptions.propagationPolicy: Unsupported '
                              f'value: "{policy}": supported values: "Foreground", '
                              f'"Background", "Orphan"')
        return DeleteOptions(policy, uid, rv, dry_run)


class Deletion:
    """Deletes objects and runs the cascades a deletion triggers."""

    def __init__(
        self,
        store: ObjectStore,
        registry: Registry,
        *,
        on_removed: Callable[[GroupResource, JSONObject], None],
    ) -> None:
        self.store = store
        self.registry = registry
        self._on_removed = on_removed

    # -- admission checks used by create -----------------------------------------------------

    def check_namespace_accepts(self, rtype: ResourceType, namespace: str, name: str) -> None:
        ns = self.store.get(NAMESPACES, "", namespace)
        if ns is None:
            raise not_found("namespaces", "", namespace)
        if is_deleting(ns):
            raise forbidden(
                f'{_qualified(rtype)} "{name}" is forbidden: unable to create new content in '
                f"namespace {namespace} because it is being terminated",
                plural=rtype.plural, group=rtype.group, name=name,
            )

    def check_kind_accepts(self, rtype: ResourceType) -> None:
        if rtype.crd_name:
            crd = self.store.get(CRDS, "", rtype.crd_name)
            if crd is not None and is_deleting(crd):
                raise StatusError(405, "MethodNotAllowed", "create not allowed while custom "
                                  "resource definition is terminating")

    # -- delete ------------------------------------------------------------------------------

    def delete(
        self, rtype: ResourceType, namespace: str, name: str, options: DeleteOptions
    ) -> tuple[JSONObject, bool]:
        """Delete one object; returns it and whether it is gone (False: it is terminating)."""
        gr = rtype.group_resource
        obj = self.store.get(gr, namespace, name)
        if obj is None:
            raise not_found(rtype.plural, rtype.group, name)
        meta = obj["metadata"]
        if options.precondition_uid and options.precondition_uid != meta.get("uid"):
            raise conflict(rtype.plural, rtype.group, name,
                           f"Precondition failed: UID in precondition: "
                           f"{options.precondition_uid}, UID in object meta: {meta.get('uid')}")
        if (options.precondition_resource_version
                and options.precondition_resource_version != meta.get("resourceVersion")):
            raise conflict(rtype.plural, rtype.group, name,
                           f"Precondition failed: ResourceVersion in precondition: "
                           f"{options.precondition_resource_version}, ResourceVersion in object "
                           f"meta: {meta.get('resourceVersion')}")
        if options.dry_run:
            return obj, not finalizers(obj)
        if gr == NAMESPACES:
            return self._terminate_namespace(obj)
        if is_deleting(obj):
            return obj, False
        policy = options.propagation_policy or rtype.default_propagation
        dependents = self.store.dependents(meta.get("uid", ""))
        # As the real server: Foreground and Orphan always go through their finalizer, which the
        # garbage collector removes once it has dealt with the dependents (here, at once).
        pending = [f for f in finalizers(obj) if f not in (FOREGROUND, ORPHAN)]
        if policy == "Foreground":
            pending.append(FOREGROUND)
        elif policy == "Orphan":
            pending.append(ORPHAN)
        terminating = gr == CRDS and self.store.count(_crd_group_resource(obj)) > 0
        if not pending and not terminating:
            return self.remove(gr, obj), True
        marked = with_metadata(obj, deletionTimestamp=now_rfc3339(),
                               deletionGracePeriodSeconds=0, finalizers=pending or None)
        if int(meta.get("generation") or 0) > 0:
            marked["metadata"]["generation"] = int(meta["generation"]) + 1
        stored = self.store.commit("MODIFIED", gr, marked)
        if policy == "Foreground":
            for dep_gr, dep in dependents:
                self._delete_dependent(dep_gr, dep)
            self._release_foreground_owner(gr, stored)
        elif policy == "Orphan":
            for dep_gr, dep in dependents:
                self._drop_owner_ref(dep_gr, dep, meta.get("uid", ""))
            self._release_finalizer(gr, stored, ORPHAN)
        if terminating:
            crd_gr = _crd_group_resource(obj)
            for item in self.store.objects(crd_gr):
                self._delete_quietly(crd_gr, item)
            self._finish_crd_if_empty(crd_gr)
        current = self.store.get(gr, namespace, name)
        return (current, False) if current is not None else (stored, True)

    def remove(self, gr: GroupResource, obj: JSONObject) -> JSONObject:
        """Remove an object now (DELETED) and run the cascades its removal triggers."""
        removed = self.store.commit("DELETED", gr, dict(obj))
        meta = removed["metadata"]
        uid = meta.get("uid", "")
        self._on_removed(gr, removed)
        for dep_gr, dep in self.store.dependents(uid):
            self._collect_dependent(dep_gr, dep, uid)
        for ref in meta.get("ownerReferences") or ():
            owner = self.store.by_uid(str(ref.get("uid", ""))) if isinstance(ref, dict) else None
            if owner is not None:
                self._release_foreground_owner(*owner)
        namespace = meta.get("namespace", "")
        if namespace:
            self._finish_namespace_if_empty(namespace)
        if gr.group not in ("", "apiextensions.k8s.io"):
            self._finish_crd_if_empty(gr)
        return removed

    # -- cascades ----------------------------------------------------------------------------

    def _collect_dependent(self, gr: GroupResource, dep: JSONObject, owner_uid: str) -> None:
        """The garbage collector's decision for a dependent whose owner is gone."""
        others = [
            ref for ref in dep["metadata"].get("ownerReferences") or ()
            if isinstance(ref, dict) and ref.get("uid") != owner_uid
            and self.store.by_uid(str(ref.get("uid", ""))) is not None
        ]
        if others:
            self._drop_owner_ref(gr, dep, owner_uid)
        else:
            self._delete_dependent(gr, dep)

    def _delete_dependent(self, gr: GroupResource, dep: JSONObject) -> None:
        self._delete_quietly(gr, dep)

    def _delete_quietly(self, gr: GroupResource, obj: JSONObject) -> None:
        rtype = self.registry.any_version(gr)
        if rtype is None:
            return
        meta = obj["metadata"]
        # NotFound: a cascade reached it first.
        with contextlib.suppress(StatusError):
            self.delete(rtype, meta.get("namespace", ""), meta["name"],
                        DeleteOptions(propagation_policy="Background"))

    def _drop_owner_ref(self, gr: GroupResource, dep: JSONObject, owner_uid: str) -> None:
        current = self.store.get(gr, dep["metadata"].get("namespace", ""), dep["metadata"]["name"])
        if current is None:
            return
        refs = [r for r in current["metadata"].get("ownerReferences") or ()
                if not (isinstance(r, dict) and r.get("uid") == owner_uid)]
        self.store.commit("MODIFIED", gr, with_metadata(current, ownerReferences=refs or None))

    def _release_foreground_owner(self, gr: GroupResource, owner: JSONObject) -> None:
        meta = owner["metadata"]
        if not is_deleting(owner) or FOREGROUND not in finalizers(owner):
            return
        uid = meta.get("uid", "")
        if any(_blocks_owner(d, uid) for _g, d in self.store.dependents(uid)):
            return
        self._release_finalizer(gr, owner, FOREGROUND)

    def _release_finalizer(self, gr: GroupResource, obj: JSONObject, finalizer: str) -> None:
        """Remove `finalizer` from a terminating object: the last one removes the object,
        unless it is a CRD whose custom resources are still going."""
        current = self.store.get(gr, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if current is None or finalizer not in finalizers(current):
            return
        rest = [f for f in finalizers(current) if f != finalizer]
        if rest or (gr == CRDS and self.store.count(_crd_group_resource(current)) > 0):
            self.store.commit("MODIFIED", gr, with_metadata(current, finalizers=rest or None))
        else:
            self.remove(gr, with_metadata(current, finalizers=None))

    def _terminate_namespace(self, ns: JSONObject) -> tuple[JSONObject, bool]:
        name = ns["metadata"]["name"]
        if not is_deleting(ns):
            marked = with_metadata(ns, deletionTimestamp=now_rfc3339(),
                                   deletionGracePeriodSeconds=0)
            marked["status"] = {**(ns.get("status") or {}), "phase": "Terminating"}
            ns = self.store.commit("MODIFIED", NAMESPACES, marked)
            for gr, obj in list(self.store.in_namespace(name)):
                self._delete_quietly(gr, obj)
            self._finish_namespace_if_empty(name)
        current = self.store.get(NAMESPACES, "", name)
        return (current, False) if current is not None else (ns, True)

    def _finish_namespace_if_empty(self, namespace: str) -> None:
        ns = self.store.get(NAMESPACES, "", namespace)
        if ns is None or not is_deleting(ns) or finalizers(ns):
            return
        if self.store.namespace_is_empty(namespace):
            self.remove(NAMESPACES, ns)

    def _finish_crd_if_empty(self, gr: GroupResource) -> None:
        crd = self.store.get(CRDS, "", str(gr))
        if crd is None or not is_deleting(crd) or finalizers(crd):
            return
        if self.store.count(gr) == 0:
            self.remove(CRDS, crd)


def _blocks_owner(dep: JSONObject, owner_uid: str) -> bool:
    return any(
        isinstance(ref, dict) and ref.get("uid") == owner_uid and ref.get("blockOwnerDeletion")
        for ref in dep["metadata"].get("ownerReferences") or ()
    )


def _crd_group_resource(crd: JSONObject) -> GroupResource:
    spec = crd.get("spec") or {}
    return GroupResource(str(spec.get("group", "")), str((spec.get("names") or {}).get("plural",
                                                                                        "")))


def _qualified(rtype: ResourceType) -> str:
    return f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural

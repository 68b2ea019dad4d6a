"""The API server's state and the reads it answers, independent of HTTP.

`ApiEngine` wires the registry, the store, the write path and deletion together, keeps CRDs and
the types they serve in step, and answers get, list and watch set-up. The HTTP layer
(`handlers.py`) only translates requests and responses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import admission, crds
from .auth import AccessPolicy
from .builtin_types import builtin_types
from .deletion import CRDS, NAMESPACES, Deletion
from .discovery import Discovery
from .errors import (
    Cause,
    bad_request,
    expired,
    invalid,
    not_found,
    resource_not_found,
)
from .faults import FaultInjector, RequestLog
from .lifecycle import WriteContext, now_rfc3339
from .operations import Operations
from .pagination import ListPager
from .persistence import Persistence, SQLitePersistence
from .resources import GroupResource, JSONObject, Registry, ResourceType
from .routing import RequestInfo
from .selectors import FieldSelector, LabelSelector
from .store import ObjectStore
from .watch import Watcher, as_version

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True)
class ApiServerOptions:
    """Settings of an embedded API server; the CLI flags map onto these one to one."""

    host: str = "127.0.0.1"
    port: int = 0
    data_dir: Path | None = None
    tls: bool = False
    tokens_file: Path | None = None
    # Authenticate clients by TLS client certificate too (implies tls): certificates the
    # server's CA signed, or a CA in client_ca_file (which implies this); the kubeconfig the
    # server writes then carries a client certificate instead of a token.
    client_certificates: bool = False
    client_ca_file: Path | None = None
    kubeconfig_out: Path | None = None
    # One line per request (method, path, status, duration) to the
    # `controllerkit.apiserver.access` logger at INFO; off, an application logging at INFO
    # with the server in process does not get them.
    log_requests: bool = False
    # Events kept per resource for watches that resume from a resourceVersion; older ones get
    # 410 Expired. 100 is the real server's --default-watch-cache-size (its watch cache starts
    # there and grows while its events are younger than 75 seconds).
    watch_history: int = 100
    # A BOOKMARK is sent after this many quiet seconds on a watch that allows them.
    bookmark_interval: float = 5.0
    # A watcher further behind than this many events is closed (it re-watches).
    watch_queue_capacity: int = 10_000
    # A watch client that accepts no data for this long is disconnected.
    watch_write_timeout: float = 30.0
    # Watches without timeoutSeconds end after this long, as the real server's do.
    max_watch_seconds: float = 1800.0
    max_body_bytes: int = 3 * 1024 * 1024
    # The strict status contract, an opt-in stricter than a real server: status writes must
    # carry a resourceVersion precondition, and one that would change anything but `.status`
    # is refused naming the field instead of having it silently reset.
    strict_status: bool = False


class ApiEngine:
    """Everything the server knows, and the operations on it."""

    def __init__(self, options: ApiServerOptions) -> None:
        self.options = options
        self.registry = Registry()
        for rtype in builtin_types():
            self.registry.add(rtype)
        persistence: Persistence | None = None
        if options.data_dir is not None:
            persistence = SQLitePersistence.open(options.data_dir)
        self.store = ObjectStore(history_size=options.watch_history, persistence=persistence)
        self.deletion = Deletion(self.store, self.registry, on_removed=self._on_removed)
        self.operations = Operations(
            self.store,
            self.deletion,
            strict_status=options.strict_status,
            admit=admission.admit,
            after_commit=self._after_commit,
        )
        self.pager = ListPager()
        self.faults = FaultInjector()
        self.requests = RequestLog()
        self.discovery = Discovery(self.registry)
        self.access = (
            AccessPolicy.from_file(options.tokens_file)
            if options.tokens_file is not None
            else AccessPolicy.allow_all()
        )
        self._bootstrap()

    def _bootstrap(self) -> None:
        for crd in self.store.objects(CRDS):
            self._register_crd(crd)
        namespaces = self.registry.get("", "v1", "namespaces")
        assert namespaces is not None
        for name in DEFAULT_NAMESPACES:
            if self.store.get(NAMESPACES, "", name) is None:
                self.operations.create(namespaces, "", {"metadata": {"name": name}},
                                       _internal())

    def close(self) -> None:
        self.store.close()

    # -- resolution --------------------------------------------------------------------------

    def resolve(self, info: RequestInfo) -> ResourceType:
        """The served type a request addresses, with scope checks; 404 otherwise."""
        rtype = self.registry.get(info.group, info.version, info.plural)
        if rtype is None:
            raise resource_not_found()
        if info.namespace and not rtype.namespaced:
            raise resource_not_found()
        if rtype.namespaced and info.name and not info.namespace:
            raise resource_not_found()
        if info.verb == "create" and rtype.namespaced and not info.namespace:
            raise resource_not_found()
        if info.subresource and not (info.subresource == "status" and rtype.has_status):
            if rtype.is_custom:
                # The real server's custom resource handler names the object it was asked for.
                raise not_found(rtype.plural, rtype.group, info.name)
            raise resource_not_found()
        return rtype

    # -- reads -------------------------------------------------------------------------------

    def get(self, rtype: ResourceType, namespace: str, name: str) -> JSONObject:
        obj = self.store.get(rtype.group_resource, namespace, name)
        if obj is None:
            raise not_found(rtype.plural, rtype.group, name)
        return as_version(obj, rtype.api_version)

    def select(
        self,
        rtype: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
    ) -> list[JSONObject]:
        gr = rtype.group_resource
        exact = fields.exact_name()
        if exact is not None and namespace is not None:
            one = self.store.get(gr, namespace if rtype.namespaced else "", exact)
            candidates = [] if one is None else [one]
        else:
            candidates = self.store.objects(gr, namespace if rtype.namespaced else None)
        if labels.is_empty and fields.is_empty:
            return candidates
        return [
            obj for obj in candidates
            if (labels.is_empty or labels.matches(obj["metadata"].get("labels") or {}))
            and (fields.is_empty or fields.matches(obj))
        ]

    def list_page(
        self,
        rtype: ResourceType,
        namespace: str | None,
        *,
        labels: LabelSelector,
        fields: FieldSelector,
        limit: int,
        continue_token: str,
        resource_version: str,
        resource_version_match: str,
    ) -> tuple[list[JSONObject], JSONObject]:
        """The selected objects of one page and the list metadata.

        Lists are always served from the latest state: any resourceVersion not newer than the
        store's satisfies `NotOlderThan` (and the unset match); `Exact` is honoured only for
        the current resourceVersion (older states are not kept) and answers 410 otherwise.
        """
        if resource_version_match not in ("", "Exact", "NotOlderThan"):
            raise invalid("ListOptions", "meta.k8s.io", "", [Cause(
                "FieldValueNotSupported", f'Unsupported value: "{resource_version_match}": '
                'supported values: "Exact", "NotOlderThan"', "resourceVersionMatch")])
        if resource_version and not resource_version.isdigit():
            raise bad_request(f"invalid resource version: {resource_version!r}")
        if resource_version_match and not resource_version:
            raise invalid("ListOptions", "meta.k8s.io", "", [Cause(
                "FieldValueForbidden", "Forbidden: resourceVersionMatch is forbidden unless "
                "resourceVersion is provided", "resourceVersionMatch")])
        if resource_version_match == "Exact" and resource_version != str(
            self.store.resource_version
        ):
            raise expired(f"too old resource version: {resource_version} "
                          f"({self.store.resource_version})")
        scope = f"{rtype.group}/{rtype.plural}/{namespace or ''}"
        if continue_token:
            page = self.pager.next_page(continue_token, limit, scope=scope)
        else:
            selected = self.select(rtype, namespace, labels, fields)
            page = self.pager.first_page(selected, self.store.resource_version, limit,
                                         scope=scope)
        metadata: JSONObject = {"resourceVersion": str(page.resource_version)}
        if page.continue_token:
            metadata["continue"] = page.continue_token
            metadata["remainingItemCount"] = page.remaining
        api_version = rtype.api_version
        items = [as_version(obj, api_version) for obj in page.items]
        return items, metadata

    def open_watch(
        self,
        rtype: ResourceType,
        namespace: str | None,
        *,
        labels: LabelSelector,
        fields: FieldSelector,
        resource_version: str,
        send_initial_events: bool,
        resource_version_match: str,
    ) -> Watcher:
        """Register a watcher with its starting events queued; raises 410 when too old."""
        gr = rtype.group_resource
        watcher = Watcher(
            gr,
            api_version=rtype.api_version,
            kind=rtype.kind,
            namespace=namespace if rtype.namespaced else None,
            label_selector=labels,
            field_selector=fields,
            capacity=self.options.watch_queue_capacity,
        )
        if send_initial_events:
            if resource_version_match != "NotOlderThan":
                raise invalid("ListOptions", "meta.k8s.io", "", [Cause(
                    "FieldValueForbidden", "Forbidden: sendInitialEvents requires setting "
                    "resourceVersionMatch to NotOlderThan", "resourceVersionMatch")])
            for obj in self.select(rtype, namespace, labels, fields):
                watcher.queue_initial("ADDED", obj)
            watcher.queue_bookmark(self.store.resource_version, initial_events_end=True)
        elif resource_version_match:
            raise invalid("ListOptions", "meta.k8s.io", "", [Cause(
                "FieldValueForbidden", "Forbidden: resourceVersionMatch is forbidden for watch "
                "unless sendInitialEvents is provided", "resourceVersionMatch")])
        elif resource_version in ("", "0"):
            for obj in self.select(rtype, namespace, labels, fields):
                watcher.queue_initial("ADDED", obj)
        else:
            try:
                start = int(resource_version)
            except ValueError:
                raise bad_request(f"invalid resource version: {resource_version!r}") from None
            oldest = self.store.oldest_replayable(gr)
            if self.faults.take_watch_expiry():
                raise expired(f"too old resource version: {start} ({self.store.resource_version})")
            if start < oldest:
                raise expired(f"too old resource version: {start} ({oldest})")
            for event in self.store.events_after(gr, start):
                watcher.replay(event)
        self.store.subscribe(watcher)
        return watcher

    def close_watch(self, watcher: Watcher) -> None:
        self.store.unsubscribe(watcher)
        watcher.close()

    # -- kind-specific admission and follow-ups ----------------------------------------------

    def _after_commit(self, rtype: ResourceType, obj: JSONObject) -> None:
        if rtype.group_resource != CRDS:
            return
        self._register_crd(obj)
        status = crds.accepted_status(obj, now_rfc3339())
        if status != obj.get("status"):
            self.store.commit("MODIFIED", CRDS, {**obj, "status": status})

    def _register_crd(self, crd: JSONObject) -> None:
        name = crd["metadata"]["name"]
        served_before = {rtype.group_resource for rtype in self.registry.remove_crd(name)}
        for rtype in crds.crd_types(crd):
            self.registry.add(rtype)
            if rtype.group_resource not in served_before:
                self.store.begin_history(rtype.group_resource)

    def _on_removed(self, gr: GroupResource, obj: JSONObject) -> None:
        if gr == CRDS:
            removed = self.registry.remove_crd(obj["metadata"]["name"])
            for rtype in removed:
                self.store.drop_group_resource(rtype.group_resource)


def _internal() -> WriteContext:
    return WriteContext(field_validation="Ignore")

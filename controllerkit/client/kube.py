"""`KubeClient`: the `Client` protocol over HTTP, on one aiohttp session, with plain dicts.

```python
async with KubeClient.from_kubeconfig() as client:
    cm = await client.get(CONFIG_MAP, "settings", namespace="default")
    async for page in client.list_all(CONFIG_MAP, namespace="default"):
        ...
    async for event in client.watch(CONFIG_MAP, WatchOptions(resource_version=rv)):
        ...
```

Bodies are decoded with orjson into dicts and nothing else (no generated model classes);
every non-2xx answer raises its `ApiError` subclass carrying the kind, namespace, name and, for
writes, the resourceVersion sent. Reads answered 429 are retried after Retry-After (bounded);
writes raise `TooManyRequests` with `retry_after`. The session is created by `open()` (or
`async with`) and closed by `close()`, which also ends open watches.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import orjson

from ..errors import Conflict, Invalid
from ..meta import JSONObject, ResourceKind, resource_version
from .config import DEFAULT_TIMEOUTS, ClientConfig, ClientTimeouts
from .patches import encode_patch
from .protocol import ObjectList, PatchType, WatchEvent, WatchOptions
from .transport import RequestStats, Sleep, Subject, Transport
from .watch import decode_events
from .wire import (
    encode_object,
    namespace_for,
    object_list,
    object_name,
    selector_params,
    write_params,
)

if TYPE_CHECKING:
    from .typed import M, TypedClient

DEFAULT_PAGE_SIZE = 500
STALE_OBJECT_MESSAGE = (
    "the object has been modified; please apply your changes to the latest version and try again"
)

ConfigSource = ClientConfig | Callable[[], Awaitable[ClientConfig]]


class KubeClient:
    """A `Client` for one API server.

    Guarantees: one aiohttp session per client, created on `open()` and closed on `close()`
    (so `async with` leaves no unclosed session or connection, even when the body raises);
    objects are returned as the decoded JSON dicts, owned by the caller; list items carry
    `apiVersion` and `kind` like watch objects do. Not guaranteed: retries of anything but
    reads answered 429 and requests answered 401 whose credentials could be refreshed.

    Namespaced kinds need a namespace for single objects (an argument, or the object's
    `metadata.namespace` on create/update); the kubeconfig's namespace is never assumed.
    Lists and watches without a namespace span all namespaces.
    """

    def __init__(
        self,
        config: ConfigSource,
        *,
        read_retries: int = 5,
        max_retry_wait: float = 30.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """`config` is a `ClientConfig` or an async function producing one when the client
        opens. `read_retries`: how many times a read answered 429 is retried; each wait is the
        server's Retry-After capped at `max_retry_wait` seconds, slept with `sleep`."""
        self._config_source = config
        self._retry_options: dict[str, Any] = {
            "read_retries": read_retries, "max_retry_wait": max_retry_wait, "sleep": sleep,
        }
        self._transport: Transport | None = None
        if isinstance(config, ClientConfig):
            self._transport = Transport(config, **self._retry_options)

    @classmethod
    def from_kubeconfig(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        context: str | None = None,
        timeouts: ClientTimeouts = DEFAULT_TIMEOUTS,
        **options: Any,
    ) -> Self:
        """A client for a kubeconfig context, read when the client opens (see
        `ClientConfig.from_kubeconfig`). `options` are `KubeClient`'s keyword arguments."""

        async def load() -> ClientConfig:
            return await ClientConfig.from_kubeconfig(path, context=context, timeouts=timeouts)

        return cls(load, **options)

    @classmethod
    def in_cluster(cls, *, timeouts: ClientTimeouts = DEFAULT_TIMEOUTS, **options: Any) -> Self:
        """A client for the pod's service account (see `ClientConfig.in_cluster`)."""
        return cls(ClientConfig.in_cluster(timeouts=timeouts), **options)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        token: str | None = None,
        ca_file: str | None = None,
        ca_data: bytes | str | None = None,
        insecure_skip_tls_verify: bool = False,
        timeouts: ClientTimeouts = DEFAULT_TIMEOUTS,
        **options: Any,
    ) -> Self:
        """A client for a server URL with an optional bearer token and CA."""
        config = ClientConfig.from_url(
            url, token=token, ca_file=ca_file, ca_data=ca_data,
            insecure_skip_tls_verify=insecure_skip_tls_verify, timeouts=timeouts,
        )
        return cls(config, **options)

    @property
    def config(self) -> ClientConfig:
        """The configuration in use (available once open, or from the start if given)."""
        return self._require_transport().config

    @property
    def stats(self) -> RequestStats:
        """Requests sent by HTTP method, 429 answers seen, retries made."""
        return self._require_transport().stats

    async def open(self) -> None:
        """Load the configuration if it was deferred, and create the session. Idempotent."""
        if self._transport is None:
            source = self._config_source
            assert not isinstance(source, ClientConfig)
            self._transport = Transport(await source(), **self._retry_options)
        await self._transport.open()

    async def close(self) -> None:
        """End open watches and close the session. Idempotent; the client can be reopened."""
        if self._transport is not None:
            await self._transport.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def typed(self, model: type[M]) -> TypedClient[M]:
        """Typed access to `model.__kind__`: pydantic models in and out."""
        from .typed import TypedClient

        return TypedClient(self, model)

    def _require_transport(self) -> Transport:
        if self._transport is None:
            raise RuntimeError("the client is not open: use `async with` or `await open()`")
        return self._transport

    # reads

    async def api_groups(self) -> JSONObject:
        """Every served group as an `APIGroupList`, the core group first under the name ""
        (its versions from `/api`, the others from `/apis`)."""
        transport = self._require_transport()
        core = await transport.request("GET", "/api", subject=Subject("APIVersions"))
        named = await transport.request("GET", "/apis", subject=Subject("APIGroupList"))
        versions = [{"groupVersion": str(version), "version": str(version)}
                    for version in core.get("versions") or ()]
        groups = [{"name": "", "versions": versions,
                   "preferredVersion": versions[0] if versions else {}}] if versions else []
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [*groups, *(named.get("groups") or ())]}

    async def api_resources(self, api_version: str) -> JSONObject:
        """The discovery document (`APIResourceList`) of a group version (`v1`,
        `apps/v1`); `NotFound` when the server does not serve it."""
        path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        return await self._require_transport().request(
            "GET", path, subject=Subject("APIResourceList", "", api_version))

    async def get(
        self, kind: ResourceKind, name: str, *, namespace: str | None = None
    ) -> JSONObject:
        namespace = namespace_for(kind, namespace)
        return await self._require_transport().request(
            "GET", kind.path(namespace, name), subject=Subject(kind.kind, namespace or "", name)
        )

    async def list(
        self,
        kind: ResourceKind,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        limit: int | None = None,
        continue_token: str = "",
        resource_version: str = "",
    ) -> ObjectList:
        """One page (`limit`), or every object without `limit`."""
        params = selector_params(label_selector, field_selector)
        if limit is not None:
            params["limit"] = str(limit)
        if continue_token:
            params["continue"] = continue_token
        if resource_version:
            params["resourceVersion"] = resource_version
        answer = await self._require_transport().request(
            "GET", kind.path(namespace), params=params,
            subject=Subject(kind.kind, namespace or ""),
        )
        return object_list(kind, answer)

    async def list_all(
        self,
        kind: ResourceKind,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncGenerator[ObjectList, None]:
        """Every page of one consistent list, following continue tokens.

        All pages show the state at the first page's resourceVersion. When the server no longer
        holds that snapshot (410 on a continue token) `Expired` is raised: list again.
        """
        token = ""
        while True:
            page = await self.list(
                kind, namespace=namespace, label_selector=label_selector,
                field_selector=field_selector, limit=page_size, continue_token=token,
            )
            yield page
            token = page.continue_token
            if not token:
                return

    async def watch(
        self, kind: ResourceKind, options: WatchOptions, *, namespace: str | None = None
    ) -> AsyncGenerator[WatchEvent, None]:
        """Events from `options.resource_version` until the server ends the stream.

        ERROR events raise the mapped `ApiError` (`Expired` for 410); no event or bookmark for
        `options.stall_timeout` (default: the config's `timeouts.watch_stall`) raises
        `WatchStalled`. Close the iterator (`aclosing`) to stop early; closing the client ends
        it too.
        """
        params = selector_params(options.label_selector, options.field_selector)
        params["watch"] = "true"
        if options.resource_version:
            params["resourceVersion"] = options.resource_version
        if options.allow_bookmarks:
            params["allowWatchBookmarks"] = "true"
        if options.timeout_seconds is not None:
            params["timeoutSeconds"] = str(options.timeout_seconds)
        if options.send_initial_events:
            params["sendInitialEvents"] = "true"
            params["resourceVersionMatch"] = "NotOlderThan"
        params.update(options.extra)
        transport = self._require_transport()
        stall = options.stall_timeout or transport.config.timeouts.watch_stall
        subject = Subject(kind.kind, namespace or "", resource_version=options.resource_version)
        async with transport.stream(
            kind.path(namespace), subject=subject, params=params, stall_timeout=stall
        ) as response:
            events = decode_events(response, subject=subject, stall_timeout=stall)
            async with aclosing(events):
                async for event in events:
                    yield event

    # writes

    async def create(
        self,
        kind: ResourceKind,
        obj: Mapping[str, Any],
        *,
        namespace: str | None = None,
        field_manager: str = "",
        dry_run: bool = False,
    ) -> JSONObject:
        namespace = namespace_for(kind, namespace, obj)
        subject = Subject(kind.kind, namespace or "", object_name(obj))
        return await self._require_transport().request(
            "POST", kind.path(namespace), subject=subject, body=encode_object(kind, obj),
            params=write_params(field_manager, dry_run),
        )

    async def update(
        self,
        kind: ResourceKind,
        obj: Mapping[str, Any],
        *,
        field_manager: str = "",
        dry_run: bool = False,
    ) -> JSONObject:
        """PUT; the object's metadata.resourceVersion (if set) is the precondition."""
        return await self._put(kind, obj, None, field_manager, dry_run)

    async def update_status(
        self, kind: ResourceKind, obj: Mapping[str, Any], *, field_manager: str = ""
    ) -> JSONObject:
        """PUT to the status subresource; the object's resourceVersion is the precondition."""
        return await self._put(kind, obj, "status", field_manager, False)

    async def _put(
        self,
        kind: ResourceKind,
        obj: Mapping[str, Any],
        subresource: str | None,
        field_manager: str,
        dry_run: bool,
    ) -> JSONObject:
        name = object_name(obj)
        if not name:
            raise ValueError(f"cannot update a {kind.kind} without metadata.name")
        namespace = namespace_for(kind, None, obj)
        subject = Subject(kind.kind, namespace or "", name, resource_version(obj))
        return await self._require_transport().request(
            "PUT", kind.path(namespace, name, subresource), subject=subject,
            body=encode_object(kind, obj), params=write_params(field_manager, dry_run),
        )

    async def patch(
        self,
        kind: ResourceKind,
        name: str,
        patch: Mapping[str, Any] | Sequence[Any] | str,
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        field_manager: str = "",
        force: bool = False,
        dry_run: bool = False,
        resource_version: str = "",
    ) -> JSONObject:
        """A patch with the Content-Type of `patch_type` (see `patches.encode_patch`).

        `resource_version` makes it conditional, as for `patch_status`. Server-side apply
        (`PatchType.APPLY`) needs a `field_manager`; `force` is for apply only.
        """
        return await self._patch(
            kind, name, patch, namespace, patch_type, None, field_manager, force, dry_run,
            resource_version,
        )

    async def patch_status(
        self,
        kind: ResourceKind,
        name: str,
        patch: Mapping[str, Any] | Sequence[Any],
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        resource_version: str = "",
        field_manager: str = "",
    ) -> JSONObject:
        """A status patch, conditional on `resource_version` when given: `Conflict` (with that
        resourceVersion) when the object has moved on, whatever the patch type."""
        return await self._patch(
            kind, name, patch, namespace, patch_type, "status", field_manager, False, False,
            resource_version,
        )

    async def _patch(
        self,
        kind: ResourceKind,
        name: str,
        patch: Mapping[str, Any] | Sequence[Any] | str,
        namespace: str | None,
        patch_type: PatchType,
        subresource: str | None,
        field_manager: str,
        force: bool,
        dry_run: bool,
        precondition: str,
    ) -> JSONObject:
        patch_type = PatchType(patch_type)
        if patch_type is PatchType.APPLY and not field_manager:
            raise ValueError("server-side apply needs a field_manager")
        if force and patch_type is not PatchType.APPLY:
            raise ValueError("force applies to server-side apply (PatchType.APPLY) only")
        namespace = namespace_for(kind, namespace)
        encoded = encode_patch(patch, patch_type, resource_version=precondition)
        params = write_params(field_manager, dry_run)
        if force:
            params["force"] = "true"
        subject = Subject(kind.kind, namespace or "", name, precondition)
        try:
            return await self._require_transport().request(
                "PATCH", kind.path(namespace, name, subresource), subject=subject,
                body=encoded.body, content_type=encoded.content_type, params=params,
            )
        except Invalid as invalid:
            if patch_type is not PatchType.JSON or not precondition:
                raise
            # A failed `test` op is a generic 422; report a moved-on object as the Conflict
            # the merge form gives, so callers handle one error whatever the patch type.
            current = await self.get(kind, name, namespace=namespace)
            if resource_version(current) == precondition:
                raise
            raise Conflict(
                f"Operation cannot be fulfilled on {kind.group_resource} \"{name}\": "
                f"{STALE_OBJECT_MESSAGE}",
                reason="Conflict", status=invalid.status, kind=kind.kind,
                namespace=namespace or "", name=name, resource_version=precondition,
            ) from invalid

    async def delete(
        self,
        kind: ResourceKind,
        name: str,
        *,
        namespace: str | None = None,
        propagation_policy: str = "",
        precondition_uid: str = "",
        precondition_resource_version: str = "",
    ) -> JSONObject:
        """The deleted (or now terminating) object, or the server's Status for built-ins."""
        namespace = namespace_for(kind, namespace)
        options: JSONObject = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        preconditions = {
            key: value
            for key, value in (("uid", precondition_uid),
                               ("resourceVersion", precondition_resource_version))
            if value
        }
        if preconditions:
            options["preconditions"] = preconditions
        subject = Subject(kind.kind, namespace or "", name, precondition_resource_version)
        return await self._require_transport().request(
            "DELETE", kind.path(namespace, name), subject=subject, body=orjson.dumps(options)
        )


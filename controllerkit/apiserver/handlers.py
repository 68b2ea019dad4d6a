"""HTTP: from aiohttp requests to engine calls and back to Kubernetes-shaped responses.

One catch-all route; the path is parsed the way the real server parses it. Every failure leaves as
a `Status` body with the real reason and code, whatever raised it (a bad body, an oversized one,
a bug): the middleware turns anything unexpected into a 500 `InternalError` and the server keeps
serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from . import apply as ssa
from . import table
from .auth import Attributes, Identity
from .client_certificates import certificate_user
from .codec import decode_any, decode_object, encode
from .deletion import DeleteOptions
from .engine import ApiEngine
from .errors import StatusError, bad_request, method_not_allowed, resource_not_found, too_large
from .faults import RequestRecord
from .lifecycle import WriteContext
from .openapi import OpenAPIDocuments
from .openapi_protobuf import OPENAPI_V2_PROTOBUF, negotiate_v2_encoding
from .protobuf import PROTOBUF_MEDIA_TYPE, decode_kubernetes_protobuf
from .resources import JSONObject, ResourceType
from .routing import RequestInfo, parse_resource_path
from .selectors import FieldSelector, LabelSelector
from .unknown_paths import is_unknown_path, unknown_path
from .watch import as_version, error_line, pump

log = logging.getLogger("controllerkit.apiserver")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

JSON = "application/json"
HEALTH_PATHS = frozenset({"/healthz", "/livez", "/readyz"})
FIELD_VALIDATION = ("Strict", "Warn", "Ignore")
BASE_FIELDS = ("metadata.name", "metadata.namespace")
# Field selectors the real server supports beyond name and namespace, for the kinds we serve.
EXTRA_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "events"): (
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
        "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
        "involvedObject.fieldPath", "reason", "reportingComponent", "type",
    ),
    ("events.k8s.io", "events"): (
        "regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
        "reason", "reportingController", "type",
    ),
    ("", "namespaces"): ("status.phase",),
    ("", "secrets"): ("type",),
}


def json_response(
    body: Any, *, status: int = 200, warnings: list[str] | None = None
) -> web.Response:
    response = web.Response(body=encode(body), status=status, content_type=JSON)
    for text in warnings or ():
        response.headers.add("Warning", f'299 - "{_escape(text)}"')
    return response


def status_response(error: StatusError) -> web.Response:
    response = json_response(error.to_status(), status=error.code)
    if error.retry_after_seconds is not None:
        response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


@web.middleware
async def status_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except StatusError as error:
        return status_response(error)
    except web.HTTPRequestEntityTooLarge:
        # aiohttp's exception does not keep the limit; the request knows it.
        return status_response(too_large(request.client_max_size))
    except web.HTTPException as exc:
        return status_response(StatusError(exc.status, exc.reason.replace(" ", ""), exc.text or
                                           exc.reason))
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception as exc:  # a bug must not take the server down; the client learns of it
        log.exception("internal error serving %s %s", request.method, request.path)
        return status_response(StatusError(500, "InternalError", f"Internal error occurred: "
                                           f"{type(exc).__name__}: {exc}"))


class ApiHandlers:
    """The request handlers bound to one engine."""

    def __init__(self, engine: ApiEngine) -> None:
        self.engine = engine
        self.openapi = OpenAPIDocuments(engine.registry)

    def application(self) -> web.Application:
        app = web.Application(
            client_max_size=self.engine.options.max_body_bytes, middlewares=[status_errors]
        )
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        identity = self.engine.access.authenticate(request.headers.get("Authorization"),
                                                   certificate_user(peer))
        path = request.path.rstrip("/") or "/"
        query = request.query
        watch = query.get("watch", "").lower() in ("1", "true")
        info = parse_resource_path(path, request.method, watch_param=watch)
        if info is None:
            return self._non_resource(request, identity, path)
        try:
            rtype = self.engine.resolve(info)
        except StatusError as error:
            if not is_unknown_path(error):
                raise
            return unknown_path(path, self.engine.registry)
        self.engine.requests.add(RequestRecord(
            info.verb, info.group, info.plural, info.namespace, info.name, dict(query)))
        # A request on a Namespace object is authorised in that namespace, as the real
        # server does.
        scope = info.name if (info.group, info.plural) == ("", "namespaces") else info.namespace
        self.engine.access.authorize(identity, Attributes(
            verb=info.verb, group=info.group, resource=info.plural,
            subresource=info.subresource, namespace=scope, name=info.name,
        ))
        if info.verb == "get":
            return self._get(request, rtype, info)
        if info.verb == "list":
            return self._list(request, rtype, info)
        if info.verb == "watch":
            return await self._watch(request, rtype, info)
        if info.verb == "create":
            return await self._create(request, rtype, info)
        if info.verb == "update":
            return await self._update(request, rtype, info)
        if info.verb == "patch":
            return await self._patch(request, rtype, info)
        if info.verb == "delete":
            return await self._delete(request, rtype, info)
        return await self._delete_collection(request, rtype, info)

    # -- non-resource paths ------------------------------------------------------------------

    def _non_resource(self, request: web.Request, identity: Identity, path: str) -> web.Response:
        self.engine.access.authorize_non_resource(identity, path)
        if request.method != "GET":
            if self.engine.discovery.document(path) is not None:
                raise method_not_allowed(request.method)
            return unknown_path(path, self.engine.registry)
        if path in HEALTH_PATHS:
            return web.Response(text="ok", content_type="text/plain")
        if path == "/openapi/v2":
            return self._openapi_v2(request.headers.get("Accept", ""))
        if path == "/openapi/v3":
            return web.Response(body=self.openapi.v3_index(), content_type=JSON)
        if path.startswith("/openapi/v3/"):
            doc = self.openapi.v3_document(path.removeprefix("/openapi/v3/"))
            if doc is None:
                raise resource_not_found()
            return web.Response(body=doc, content_type=JSON)
        doc = self.engine.discovery.document(path)
        if doc is None:
            return unknown_path(path, self.engine.registry)
        return web.Response(body=doc, content_type=JSON)

    def _openapi_v2(self, accept: str) -> web.Response:
        encoding = negotiate_v2_encoding(accept)
        if encoding is None:
            return web.Response(status=406, headers={"Vary": "Accept"})
        if encoding == OPENAPI_V2_PROTOBUF:
            # The media type is not a valid Content-Type (`@`); the real server sends this.
            return web.Response(body=self.openapi.v2_protobuf(), headers={
                "Content-Type": "application/octet-stream", "Vary": "Accept"})
        return web.Response(body=self.openapi.v2(), content_type=JSON,
                            headers={"Vary": "Accept"})

    # -- reads -------------------------------------------------------------------------------

    def _get(self, request: web.Request, rtype: ResourceType, info: RequestInfo) -> web.Response:
        obj = self.engine.get(rtype, info.namespace, info.name)
        if table.wants_table(request.headers.get("Accept", "")):
            return json_response(table.to_table(
                rtype, [obj],
                include_object=table.validate_include_object(
                    request.query.get("includeObject", "")),
                list_metadata={"resourceVersion": obj["metadata"].get("resourceVersion", "")},
            ))
        return json_response(obj)

    def _list(self, request: web.Request, rtype: ResourceType, info: RequestInfo) -> web.Response:
        query = request.query
        items, metadata = self.engine.list_page(
            rtype,
            info.namespace or None,
            labels=LabelSelector.parse(query.get("labelSelector", "")),
            fields=self._fields(rtype, query.get("fieldSelector", "")),
            limit=_int_param(query, "limit", 0),
            continue_token=query.get("continue", ""),
            resource_version=query.get("resourceVersion", ""),
            resource_version_match=query.get("resourceVersionMatch", ""),
        )
        if table.wants_table(request.headers.get("Accept", "")):
            return json_response(table.to_table(
                rtype, items,
                include_object=table.validate_include_object(query.get("includeObject", "")),
                list_metadata=metadata,
            ))
        return json_response({
            "apiVersion": rtype.api_version,
            "kind": rtype.list_kind_name,
            "metadata": metadata,
            "items": items,
        })

    async def _watch(
        self, request: web.Request, rtype: ResourceType, info: RequestInfo
    ) -> web.StreamResponse:
        query = request.query
        options = self.engine.options
        timeout = float(_int_param(query, "timeoutSeconds", 0)) or options.max_watch_seconds
        bookmarks = query.get("allowWatchBookmarks", "").lower() in ("1", "true")
        send_initial = query.get("sendInitialEvents", "").lower() in ("1", "true")
        as_table = table.wants_table(request.headers.get("Accept", ""))
        include = table.validate_include_object(query.get("includeObject", ""))
        response = web.StreamResponse(status=200, headers={"Content-Type": JSON})
        response.enable_chunked_encoding()
        try:
            watcher = self.engine.open_watch(
                rtype,
                info.namespace or None,
                labels=LabelSelector.parse(query.get("labelSelector", "")),
                fields=self._fields(rtype, query.get("fieldSelector", "")),
                resource_version=query.get("resourceVersion", ""),
                send_initial_events=send_initial,
                resource_version_match=query.get("resourceVersionMatch", ""),
            )
        except StatusError as error:
            if error.code != 410:
                raise
            # The real server answers a too-old resourceVersion inside the stream.
            await response.prepare(request)
            await response.write(error_line(error.to_status()))
            await response.write_eof()
            return response
        if as_table:
            watcher.transform = _table_rows(rtype, include)
        await response.prepare(request)
        write_timeout = options.watch_write_timeout

        async def write(data: bytes) -> None:
            # A client that stops reading fills the socket buffer and the write never returns:
            # give up on it, so its connection and coroutine do not linger until it reads.
            try:
                await asyncio.wait_for(response.write(data), write_timeout)
            except TimeoutError:
                if request.transport is not None:
                    request.transport.abort()
                raise ConnectionResetError("watch client stopped reading") from None

        try:
            await pump(
                watcher,
                write,
                current_resource_version=lambda: self.engine.store.resource_version,
                duration=timeout,
                bookmark_interval=options.bookmark_interval if bookmarks else None,
                max_events=self.engine.faults.drop_watch_every or None,
            )
            await response.write_eof()
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self.engine.close_watch(watcher)
        return response

    def _fields(self, rtype: ResourceType, text: str) -> FieldSelector:
        supported = BASE_FIELDS + EXTRA_FIELDS.get((rtype.group, rtype.plural), ())
        return FieldSelector.parse(text, supported)

    # -- writes ------------------------------------------------------------------------------

    async def _create(
        self, request: web.Request, rtype: ResourceType, info: RequestInfo
    ) -> web.Response:
        body = await _body_object(request)
        ctx = _write_context(request, "create")
        obj = self.engine.operations.create(rtype, info.namespace, body, ctx)
        return json_response(as_version(obj, rtype.api_version), status=201,
                             warnings=ctx.warnings)

    async def _update(
        self, request: web.Request, rtype: ResourceType, info: RequestInfo
    ) -> web.Response:
        body = await _body_object(request)
        ctx = _write_context(request, "update")
        obj = self.engine.operations.update(rtype, info.namespace, info.name, body, ctx,
                                            subresource=info.subresource)
        return json_response(as_version(obj, rtype.api_version), warnings=ctx.warnings)

    async def _patch(
        self, request: web.Request, rtype: ResourceType, info: RequestInfo
    ) -> web.Response:
        body = await request.read()
        ctx = _write_context(request, "patch")
        if not request.query.get("fieldManager"):
            # Apply needs an explicit manager (the real server never derives it for apply).
            media = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if media == "application/apply-patch+yaml":
                ctx.field_manager = ""
        force = request.query.get("force", "").lower() in ("1", "true")
        obj, created = self.engine.operations.patch(
            rtype, info.namespace, info.name, body, request.headers.get("Content-Type", ""),
            ctx, subresource=info.subresource, force=force,
        )
        return json_response(as_version(obj, rtype.api_version), status=201 if created else 200,
                             warnings=ctx.warnings)

    async def _delete(
        self, request: web.Request, rtype: ResourceType, info: RequestInfo
    ) -> web.Response:
        options = await _delete_options(request)
        obj, gone = self.engine.deletion.delete(rtype, info.namespace, info.name, options)
        # A deletion that went through finalizing (foreground cascade) answers with the
        # terminating object, as the real server does, even if it completed at once here.
        if gone and not rtype.delete_returns_object and not obj["metadata"].get(
            "deletionTimestamp"
        ):
            return json_response(_success(rtype, obj))
        return json_response(as_version(obj, rtype.api_version))

    async def _delete_collection(
        self, request: web.Request, rtype: ResourceType, info: RequestInfo
    ) -> web.Response:
        options = await _delete_options(request)
        query = request.query
        selected = self.engine.select(
            rtype, info.namespace or None,
            LabelSelector.parse(query.get("labelSelector", "")),
            self._fields(rtype, query.get("fieldSelector", "")),
        )
        deleted = []
        for obj in selected:
            meta = obj["metadata"]
            try:
                result, _gone = self.engine.deletion.delete(
                    rtype, meta.get("namespace", ""), meta["name"], options)
            except StatusError as error:
                if error.code != 404:
                    raise
                continue
            deleted.append(as_version(result, rtype.api_version))
        # Every kind answers with the list of what it deleted, as the real server does.
        return json_response({
            "apiVersion": rtype.api_version, "kind": rtype.list_kind_name,
            "metadata": {"resourceVersion": str(self.engine.store.resource_version)},
            "items": deleted,
        })


def _table_rows(
    rtype: ResourceType, include_object: str
) -> Callable[[JSONObject], JSONObject]:
    first = [True]

    def render(obj: JSONObject) -> JSONObject:
        with_definitions, first[0] = first[0], False
        return table.to_table(rtype, [obj], include_object=include_object,
                              with_definitions=with_definitions)

    return render


async def _body_object(request: web.Request) -> JSONObject:
    raw = await request.read()
    media = request.headers.get("Content-Type", JSON).split(";")[0].strip().lower()
    if media in ("application/yaml", "application/apply-patch+yaml"):
        return ssa.parse_apply_body(raw)
    if media == PROTOBUF_MEDIA_TYPE:
        return decode_kubernetes_protobuf(raw)
    if media not in (JSON, ""):
        raise StatusError(415, "UnsupportedMediaType", f"the body of the request was in an "
                          f"unknown format - accepted media types include: application/json, "
                          f"application/yaml (got {media!r})")
    return decode_object(raw)


async def _delete_options(request: web.Request) -> DeleteOptions:
    raw = await request.read()
    media = request.headers.get("Content-Type", JSON).split(";")[0].strip().lower()
    body: Any = None
    if media == PROTOBUF_MEDIA_TYPE and raw:
        body = decode_kubernetes_protobuf(raw)
    elif raw.strip():
        body = decode_any(raw, what="DeleteOptions")
    return DeleteOptions.from_body(
        body,
        query_policy=request.query.get("propagationPolicy", ""),
        dry_run="All" in request.query.getall("dryRun", []),
    )


def _write_context(request: web.Request, verb: str) -> WriteContext:
    query = request.query
    validation = query.get("fieldValidation", "") or "Warn"
    if validation not in FIELD_VALIDATION:
        raise bad_request(f'fieldValidation: Unsupported value: "{validation}": supported '
                          f'values: "Ignore", "Strict", "Warn"')
    manager = query.get("fieldManager", "") or ssa.manager_from_user_agent(
        request.headers.get("User-Agent", "")
    )
    return WriteContext(
        dry_run="All" in query.getall("dryRun", []),
        field_manager=manager,
        verb=verb,
        field_validation=validation,
    )


def _int_param(query: Any, name: str, default: int) -> int:
    raw = query.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name}: invalid integer {raw!r}") from None
    if value < 0:
        raise bad_request(f"{name}: must be non-negative, got {value}")
    return value


def _success(rtype: ResourceType, obj: JSONObject) -> JSONObject:
    meta = obj["metadata"]
    details = {"name": meta["name"], "group": rtype.group, "kind": rtype.plural,
               "uid": meta.get("uid", "")}
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        # StatusDetails fields are omitempty: the core group has no `group` key.
        "details": {k: v for k, v in details.items() if v},
    }



"""The binding endpoints: upsert, read, and ask for a reconcile of a SpritzBinding by its key.

- `PUT /api/internal/v1/bindings/{namespace}/{bindingKey}`: create the binding of the key, or
  replace its spec wholesale (fields left out of the body are reset to their defaults, never
  merged with what was stored). Every upsert also asks for a reconcile. 201 when created,
  200 when replaced; 400 with a JSend `fail` naming each bad field.
- `GET` the same path: the binding (404 when the key has none).
- `POST .../{bindingKey}/reconcile`: stamp `spritz.sh/reconcile-requested-at`, which wakes the
  controller; 202.

The binding's object name comes from its key (`binding_resource_name`), so the key needs no
lookup table and two callers upserting one key always address the same object. Writes carry
the resourceVersion they read and are retried on conflict: concurrent upserts serialise, the
last one to be stored wins whole, and nothing else on the object (the controller's finalizer,
its status, other annotations) is lost.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web
from pydantic import ConfigDict, Field, ValidationError

from controllerkit import KubeModel
from controllerkit.client import Client
from controllerkit.errors import AlreadyExists, NotFound
from controllerkit.meta import JSONObject
from controllerkit.status import ConflictBackoff, retry_on_conflict

from ..kinds import SPRITZ_BINDING, BindingTemplate, InstanceRef, SpritzBindingSpec
from ..naming import RECONCILE_REQUEST_ANNOTATION, binding_resource_name
from .jsend import RequestRejected, field_errors, json_object, success

BINDINGS_PATH = "/api/internal/v1/bindings/{namespace}/{binding_key}"

# Concurrent upserts of one key conflict with each other; each retry re-reads, so a writer
# only loses a round to one that got in first. Enough rounds for a burst of writers.
UPSERT_ATTEMPTS = 25
UPSERT_BACKOFF = ConflictBackoff(initial=0.005, maximum=0.2)

_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


class _StrictTemplate(BindingTemplate):
    model_config = ConfigDict(extra="forbid")


class _StrictInstanceRef(InstanceRef):
    model_config = ConfigDict(extra="forbid")


class BindingUpsert(KubeModel):
    """The body of an upsert: the binding's spec without its key (the key is in the path).

    Unknown fields are refused, so a misspelt field is a 400, not silently dropped.
    `bindingKey` may be given only if it equals the key of the path.
    """

    model_config = ConfigDict(extra="forbid")

    binding_key: str | None = None
    desired_revision: str | None = Field(default=None, min_length=1)
    disconnected: bool = False
    attributes: dict[str, str] = {}
    template: _StrictTemplate
    adopt_active: _StrictInstanceRef | None = None
    adopted_revision: str | None = None

    def spec_for(self, binding_key: str) -> JSONObject:
        """The SpritzBinding spec (JSON) this body stands for, with `binding_key`."""
        fields = self.model_dump(exclude={"binding_key"})
        spec = SpritzBindingSpec.model_validate({**fields, "binding_key": binding_key})
        return spec.model_dump(mode="json", by_alias=True, exclude_none=True)


def reconcile_stamp(now: datetime) -> str:
    """The value of `spritz.sh/reconcile-requested-at`: UTC to the microsecond, so two
    requests in a row still differ (a change of the value is what wakes the controller)."""
    return now.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def binding_view(binding: JSONObject) -> JSONObject:
    """What the API answers about a binding: identifying metadata, the spec, the status."""
    metadata = binding.get("metadata") or {}
    return {
        "metadata": {key: metadata[key] for key in
                     ("name", "namespace", "creationTimestamp", "resourceVersion",
                      "generation") if key in metadata},
        "spec": binding.get("spec") or {},
        "status": binding.get("status") or {},
    }


def require_namespace(namespace: str) -> str:
    """`namespace` if it can name a namespace; `RequestRejected` naming `namespace` if not."""
    if not _NAMESPACE.fullmatch(namespace) or len(namespace) > 63:
        raise RequestRejected({"namespace": "must be a DNS label (a-z, 0-9, '-')"})
    return namespace


def binding_address(request: web.Request) -> tuple[str, str]:
    """(namespace, bindingKey) of the path; `RequestRejected` naming the bad one."""
    namespace = require_namespace(request.match_info["namespace"])
    key = request.match_info["binding_key"]
    if not key.strip() or key != key.strip():
        raise RequestRejected({"bindingKey": "must be non-empty, without surrounding "
                                             "whitespace"})
    return namespace, key


class BindingNotFound(Exception):
    """No binding exists for the key in the namespace."""

    def __init__(self, namespace: str, key: str) -> None:
        super().__init__(f"no binding with key {key!r} in namespace {namespace!r}")


class Bindings:
    """Binding operations on the API server (the client needs get, create, update and patch
    on spritzbindings)."""

    def __init__(self, client: Client, *, now: Callable[[], datetime]) -> None:
        self.client = client
        self.now = now

    async def upsert(self, namespace: str, key: str,
                     upsert: BindingUpsert) -> tuple[JSONObject, bool]:
        """Create the binding of `key` or replace its spec; (stored binding, created?).

        Raises `RequestRejected` (409) if the binding's name is taken by another key (a hash
        collision of keys), `Conflict` if writers kept racing past `UPSERT_ATTEMPTS`.
        """
        name = binding_resource_name(key)
        spec = upsert.spec_for(key)

        async def write() -> tuple[JSONObject, bool]:
            stamp = reconcile_stamp(self.now())
            current = await self._get_or_none(namespace, name)
            if current is None:
                try:
                    created = await self.client.create(SPRITZ_BINDING, {
                        "apiVersion": SPRITZ_BINDING.api_version, "kind": SPRITZ_BINDING.kind,
                        "metadata": {"name": name, "namespace": namespace,
                                     "annotations": {RECONCILE_REQUEST_ANNOTATION: stamp}},
                        "spec": spec,
                    }, namespace=namespace)
                    return created, True
                except AlreadyExists:
                    # Another upsert created it first: replace its spec instead.
                    current = await self.client.get(SPRITZ_BINDING, name, namespace=namespace)
            _check_key(current, key)
            body = copy.deepcopy(current)
            body["spec"] = spec
            metadata = body.setdefault("metadata", {})
            metadata["annotations"] = {**(metadata.get("annotations") or {}),
                                       RECONCILE_REQUEST_ANNOTATION: stamp}
            return await self.client.update(SPRITZ_BINDING, body), False

        return await retry_on_conflict(write, attempts=UPSERT_ATTEMPTS, backoff=UPSERT_BACKOFF)

    async def get(self, namespace: str, key: str) -> JSONObject:
        """The binding of `key`; `BindingNotFound` if there is none."""
        binding = await self._get_or_none(namespace, binding_resource_name(key))
        if binding is None:
            raise BindingNotFound(namespace, key)
        _check_key(binding, key)
        return binding

    async def request_reconcile(self, namespace: str, key: str) -> JSONObject:
        """Stamp the reconcile annotation (a merge patch: nothing else is touched)."""
        await self.get(namespace, key)
        patch = {"metadata": {"annotations": {
            RECONCILE_REQUEST_ANNOTATION: reconcile_stamp(self.now())}}}
        try:
            return await self.client.patch(SPRITZ_BINDING, binding_resource_name(key), patch,
                                           namespace=namespace)
        except NotFound:
            raise BindingNotFound(namespace, key) from None

    async def _get_or_none(self, namespace: str, name: str) -> JSONObject | None:
        try:
            return await self.client.get(SPRITZ_BINDING, name, namespace=namespace)
        except NotFound:
            return None


def _check_key(binding: JSONObject, key: str) -> None:
    stored = (binding.get("spec") or {}).get("bindingKey")
    if stored != key:
        raise RequestRejected({"bindingKey": f"the binding object of this key belongs to "
                                             f"another key ({stored!r})"}, status=409)


class BindingRoutes:
    """The HTTP handlers of the binding endpoints."""

    def __init__(self, bindings: Bindings) -> None:
        self.bindings = bindings

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_put(BINDINGS_PATH, self.put)
        router.add_get(BINDINGS_PATH, self.get)
        router.add_post(BINDINGS_PATH + "/reconcile", self.reconcile)

    async def put(self, request: web.Request) -> web.Response:
        namespace, key = binding_address(request)
        body = await json_object(request)
        try:
            upsert = BindingUpsert.model_validate(body)
        except ValidationError as invalid:
            raise RequestRejected(field_errors(invalid)) from None
        if upsert.binding_key is not None and upsert.binding_key != key:
            raise RequestRejected({"bindingKey": "must equal the key in the path"})
        stored, created = await self.bindings.upsert(namespace, key, upsert)
        return success(binding_view(stored), status=201 if created else 200)

    async def get(self, request: web.Request) -> web.Response:
        namespace, key = binding_address(request)
        return success(binding_view(await self.bindings.get(namespace, key)))

    async def reconcile(self, request: web.Request) -> web.Response:
        namespace, key = binding_address(request)
        return success(binding_view(await self.bindings.request_reconcile(namespace, key)),
                       status=202)


__all__ = ["BINDINGS_PATH", "BindingNotFound", "BindingRoutes", "BindingUpsert", "Bindings",
           "binding_view", "reconcile_stamp", "require_namespace"]


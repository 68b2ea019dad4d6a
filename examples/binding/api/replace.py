"""`POST /api/internal/v1/spritzes/{namespace}/{name}:replace`: replace a runtime, safely and
idempotently.

Body: `{"targetRevision": str, "idempotencyKey": str, "replacement": {"spec", "labels",
"annotations"}}` (`replacement` optional). Two ways, chosen by who owns the source runtime:

- **Owned by a SpritzBinding** (a controller owner reference, else the `spritz.sh/binding-name`
  label): the binding does the work. The API only sets the binding's `desiredRevision` (and
  asks for a reconcile); the controller creates the candidate, cuts over when it is Ready and
  deletes the old runtime. `replacement` is not used: the binding's template makes runtimes.
- **Not owned by a binding** (direct replacement): the API creates the replacement runtime
  (`replacement.spec`, else the source's spec) under a name derived from the request, and
  deletes the source once the replacement is Ready — on the call that sees it Ready.

Either way the answer is `{source{namespace, instanceId}, replacement{namespace, instanceId,
targetRevision, phase, ready}, replayed}`, HTTP 200 when the replacement is Ready and 202
while it is not. A caller polls by repeating the same request: the idempotency record (see
`idempotency.py`) makes a repeat report the same replacement with `replayed: true` and never
act again (a repeat of a delegated request does not set `desiredRevision` back if it moved
on). The same key with a different request is refused with 409.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import ConfigDict, Field, ValidationError, field_validator

from controllerkit import KubeModel
from controllerkit.client import Client
from controllerkit.errors import AlreadyExists, NotFound
from controllerkit.meta import JSONObject

from ..kinds import SPRITZ, SPRITZ_BINDING, SpritzPhase, SpritzSpec, spritz_phase
from ..naming import (
    BINDING_NAME_LABEL,
    RECONCILE_REQUEST_ANNOTATION,
    TARGET_REVISION_ANNOTATION,
    candidate_name,
    runtime_name_prefix,
    sanitize_name_part,
)
from .bindings import reconcile_stamp, require_namespace
from .idempotency import (
    IdempotencyRecord,
    IdempotencyStore,
    request_fingerprint,
    require_same_request,
)
from .jsend import RequestRejected, field_errors, json_object, success

REPLACE_PATH = "/api/internal/v1/spritzes/{namespace}/{source}:replace"
REPLACES_ANNOTATION = "spritz.sh/replaces"
"""On a directly made replacement: the name of the runtime it replaces."""
IDEMPOTENCY_KEY_ANNOTATION = "spritz.sh/idempotency-key"
"""On a directly made replacement: the idempotency key of the request that made it."""

BY_BINDING = "binding"
DIRECT = "direct"


class ReplacementTemplate(KubeModel):
    """How a direct replacement is made (ignored when a binding owns the source)."""

    model_config = ConfigDict(extra="forbid")

    spec: SpritzSpec | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class ReplaceRequest(KubeModel):
    """The body of `:replace`."""

    model_config = ConfigDict(extra="forbid")

    target_revision: str = Field(min_length=1)
    idempotency_key: str = Field(min_length=1)
    replacement: ReplacementTemplate = Field(default_factory=ReplacementTemplate)

    @field_validator("target_revision", "idempotency_key")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    def fingerprint(self) -> str:
        """What makes two requests the same request: everything but the key."""
        return request_fingerprint({
            "targetRevision": self.target_revision,
            "replacement": self.replacement.model_dump(mode="json", by_alias=True,
                                                       exclude_none=True),
        })


@dataclass(frozen=True)
class Replacement:
    """The runtime that replaces the source, as the caller is told about it."""

    namespace: str
    name: str
    target_revision: str
    phase: str

    @property
    def ready(self) -> bool:
        return self.phase == SpritzPhase.READY


@dataclass(frozen=True)
class ReplaceOutcome:
    source_namespace: str
    source_name: str
    replacement: Replacement
    replayed: bool

    def body(self) -> JSONObject:
        return {
            "source": {"namespace": self.source_namespace, "instanceId": self.source_name},
            "replacement": {
                "namespace": self.replacement.namespace,
                "instanceId": self.replacement.name,
                "targetRevision": self.replacement.target_revision,
                "phase": self.replacement.phase,
                "ready": self.replacement.ready,
            },
            "replayed": self.replayed,
        }


def direct_replacement_name(namespace: str, source: str, idempotency_key: str) -> str:
    """The name of the runtime a direct replacement creates: the source's name (shortened to
    fit 63 characters) and 8 hex digits of a hash of (namespace, source, key) — the same for
    every attempt of one request, so a retried create finds its own runtime."""
    digest = hashlib.sha256(f"{namespace}/{source}\n{idempotency_key}".encode()).hexdigest()
    readable = sanitize_name_part(source, 63 - 9) or "spritz"
    return f"{readable}-{digest[:8]}"


def owning_binding(runtime: JSONObject) -> str | None:
    """The name of the SpritzBinding that owns a runtime (same namespace), or None.

    The controller owner reference decides; the binding-name label is the fallback for
    runtimes labelled by a binding but not (yet) owned by reference.
    """
    metadata = runtime.get("metadata") or {}
    for reference in metadata.get("ownerReferences") or ():
        if (reference.get("kind") == SPRITZ_BINDING.kind
                and reference.get("apiVersion") == SPRITZ_BINDING.api_version
                and reference.get("controller")):
            return str(reference["name"])
    label = (metadata.get("labels") or {}).get(BINDING_NAME_LABEL)
    return str(label) if label else None


class Replacer:
    """Carries out `:replace` requests (the client needs get, patch on spritzbindings; get,
    create, delete on spritzes; get, create, update on configmaps)."""

    def __init__(self, client: Client, records: IdempotencyStore, *,
                 now: Callable[[], datetime]) -> None:
        self.client = client
        self.records = records
        self.now = now

    async def replace(self, namespace: str, source: str,
                      request: ReplaceRequest) -> ReplaceOutcome:
        """Delegate or replace directly, once per idempotency key; see the module doc.

        Raises `IdempotencyKeyReused` for a key used with another request, `RequestRejected`
        (404) when the source does not exist and the key was never used.
        """
        scope = f"replace:{namespace}/{source}"
        fingerprint = request.fingerprint()
        record = await self.records.find(namespace, scope, request.idempotency_key)
        if record is None:
            plan = await self._plan(namespace, source, request)
            record = await self.records.reserve(namespace, scope, request.idempotency_key,
                                                fingerprint, outcome=plan)
        else:
            require_same_request(record, fingerprint)
        if record.outcome.get("mode") == BY_BINDING:
            outcome = await self._delegate(namespace, source, request, record)
        else:
            outcome = await self._replace_directly(namespace, source, request, record)
        if not record.completed:
            await self.records.complete(record, {**record.outcome,
                                                 "replacement": outcome.replacement.name})
        return outcome

    async def _plan(self, namespace: str, source: str,
                    request: ReplaceRequest) -> dict[str, str]:
        try:
            runtime = await self.client.get(SPRITZ, source, namespace=namespace)
        except NotFound:
            raise RequestRejected({"source": f"no runtime {source!r} in namespace "
                                             f"{namespace!r}"}, status=404) from None
        binding = owning_binding(runtime)
        if binding is not None:
            return {"mode": BY_BINDING, "binding": binding}
        return {"mode": DIRECT,
                "replacement": direct_replacement_name(namespace, source,
                                                       request.idempotency_key)}

    # --- delegation to the owning binding -------------------------------------------------

    async def _delegate(self, namespace: str, source: str, request: ReplaceRequest,
                        record: IdempotencyRecord) -> ReplaceOutcome:
        binding_name = record.outcome["binding"]
        target = request.target_revision
        try:
            if record.completed:
                binding = await self.client.get(SPRITZ_BINDING, binding_name,
                                                namespace=namespace)
                replayed = True
            else:
                binding, replayed = await self._set_desired_revision(namespace, binding_name,
                                                                     target)
        except NotFound:
            raise RequestRejected({"binding": f"the binding {binding_name!r} that owns the "
                                              f"runtime does not exist"}, status=404) from None
        name = _binding_replacement_name(binding, target, record.outcome.get("replacement"))
        phase = await self._phase(namespace, name)
        return ReplaceOutcome(namespace, source, Replacement(namespace, name, target, phase),
                              replayed)

    async def _set_desired_revision(self, namespace: str, binding_name: str,
                                    target: str) -> tuple[JSONObject, bool]:
        """Set `spec.desiredRevision` (and ask for a reconcile unless the binding is ready on
        that revision); (binding, whether it already desired `target`).

        A merge patch of those two fields alone: it cannot conflict with the controller's
        writes (finalizer, status) nor lose them, so it needs no resourceVersion and no retry.
        """
        binding = await self.client.get(SPRITZ_BINDING, binding_name, namespace=namespace)
        status = binding.get("status") or {}
        already = (binding.get("spec") or {}).get("desiredRevision") == target
        if (already and status.get("observedRevision") == target
                and status.get("phase") == "ready"):
            return binding, True
        patch = {"metadata": {"annotations": {
                     RECONCILE_REQUEST_ANNOTATION: reconcile_stamp(self.now())}},
                 "spec": {"desiredRevision": target}}
        return await self.client.patch(SPRITZ_BINDING, binding_name, patch,
                                       namespace=namespace), already

    # --- direct replacement ----------------------------------------------------------------

    async def _replace_directly(self, namespace: str, source: str, request: ReplaceRequest,
                                record: IdempotencyRecord) -> ReplaceOutcome:
        name = record.outcome["replacement"]
        replacement = await self._get_or_none(namespace, name)
        if replacement is None and not record.completed:
            replacement = await self._create_replacement(namespace, source, name, request)
        if replacement is not None and _made_by_other_request(replacement, source, request):
            raise RequestRejected({"replacement": f"runtime {name!r} exists and was not made "
                                                  f"by this request"}, status=409)
        phase = (spritz_phase(replacement) or SpritzPhase.PROVISIONING) if replacement \
            else SpritzPhase.PROVISIONING
        if phase == SpritzPhase.READY:
            # Only now is the source redundant; until then it keeps serving.
            with contextlib.suppress(NotFound):
                await self.client.delete(SPRITZ, source, namespace=namespace)
        return ReplaceOutcome(namespace, source,
                              Replacement(namespace, name, request.target_revision, str(phase)),
                              record.completed)

    async def _create_replacement(self, namespace: str, source: str, name: str,
                                  request: ReplaceRequest) -> JSONObject:
        try:
            original = await self.client.get(SPRITZ, source, namespace=namespace)
        except NotFound:
            raise RequestRejected({"source": f"no runtime {source!r} in namespace "
                                             f"{namespace!r}"}, status=404) from None
        template = request.replacement
        spec: Mapping[str, Any] = (
            template.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
            if template.spec is not None else original.get("spec") or {})
        labels = {**((original.get("metadata") or {}).get("labels") or {}), **template.labels}
        annotations = {**template.annotations, REPLACES_ANNOTATION: source,
                       IDEMPOTENCY_KEY_ANNOTATION: request.idempotency_key,
                       TARGET_REVISION_ANNOTATION: request.target_revision}
        body = {"apiVersion": SPRITZ.api_version, "kind": SPRITZ.kind,
                "metadata": {"name": name, "namespace": namespace, "labels": labels,
                             "annotations": annotations},
                "spec": dict(spec)}
        try:
            return await self.client.create(SPRITZ, body, namespace=namespace)
        except AlreadyExists:
            # An earlier attempt of this request made it (checked by the caller).
            return await self.client.get(SPRITZ, name, namespace=namespace)

    async def _phase(self, namespace: str, name: str) -> str:
        runtime = await self._get_or_none(namespace, name)
        return spritz_phase(runtime) or SpritzPhase.PROVISIONING

    async def _get_or_none(self, namespace: str, name: str) -> JSONObject | None:
        try:
            return await self.client.get(SPRITZ, name, namespace=namespace)
        except NotFound:
            return None


def _binding_replacement_name(binding: JSONObject, target: str, recorded: str | None) -> str:
    """Which runtime serves `target` for a binding: its candidate or active runtime made for
    that revision; else the one an earlier answer named; else the one the controller will
    create next (its names are deterministic: the next sequence)."""
    status = binding.get("status") or {}
    for ref_field in ("candidateInstanceRef", "activeInstanceRef"):
        ref = status.get(ref_field) or {}
        if ref.get("name") and ref.get("revision") == target:
            return str(ref["name"])
    if recorded:
        return recorded
    spec = binding.get("spec") or {}
    template = spec.get("template") or {}
    prefix = runtime_name_prefix(template.get("namePrefix"), template.get("presetId"))
    sequence = int(status.get("nextRuntimeSequence") or 0) + 1
    return candidate_name(prefix, str(spec.get("bindingKey") or ""), sequence)


def _made_by_other_request(runtime: JSONObject, source: str, request: ReplaceRequest) -> bool:
    annotations = (runtime.get("metadata") or {}).get("annotations") or {}
    return (annotations.get(REPLACES_ANNOTATION) != source
            or annotations.get(IDEMPOTENCY_KEY_ANNOTATION) != request.idempotency_key)


class ReplaceRoutes:
    """The HTTP handler of `:replace`."""

    def __init__(self, replacer: Replacer) -> None:
        self.replacer = replacer

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_post(REPLACE_PATH, self.replace)

    async def replace(self, request: web.Request) -> web.Response:
        namespace = require_namespace(request.match_info["namespace"])
        source = request.match_info["source"]
        body = await json_object(request)
        try:
            parsed = ReplaceRequest.model_validate(body)
        except ValidationError as invalid:
            raise RequestRejected(field_errors(invalid)) from None
        outcome = await self.replacer.replace(namespace, source, parsed)
        return success(outcome.body(), status=200 if outcome.replacement.ready else 202)


__all__ = ["IDEMPOTENCY_KEY_ANNOTATION", "REPLACES_ANNOTATION", "REPLACE_PATH", "ReplaceOutcome",
           "ReplaceRequest", "ReplaceRoutes", "Replacement", "Replacer",
           "direct_replacement_name", "owning_binding"]

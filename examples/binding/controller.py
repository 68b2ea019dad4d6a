"""The SpritzBinding reconciler: one pass of the lifecycle per reconcile, ending in at most one
status write.

A pass: keep the finalizer on the binding (on deletion only remove it: the runtimes go by
owner-reference garbage collection); read the referenced runtimes from the server; `plan`
the next status; issue the plan's deletions, take ownership of an adopted runtime or create
the candidate; write the status through the status subresource with the resourceVersion
read. A conflict re-reads the binding and runs the pass again — every step is idempotent
(deletes of deleting runtimes, a candidate name that already exists is taken over), so a
repeated pass, or one after a crash, never makes a second candidate.

Failures the controller can wait out are recorded, not raised: the binding's phase and
`lastErrorCode` say what failed (`candidate_create_failed`, `cleanup_failed`,
`adopt_failed`) and the binding is looked at again after `retry_delay`.

The status is written only when it changes — or when a reconcile was requested
(`spritz.sh/reconcile-requested-at`) after `lastReconciledAt` — so a binding at rest is
quiet, although the controller sees its own status writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from controllerkit import Request, Result, TerminalError
from controllerkit.cache import Store
from controllerkit.client import Client
from controllerkit.controller import Finalizer
from controllerkit.errors import ApiError, NotFound
from controllerkit.meta import JSONObject
from controllerkit.status import StatusWriter, retry_on_conflict

from . import runtimes
from .kinds import SPRITZ_BINDING, BindingPhase, SpritzBinding, SpritzBindingStatus
from .lifecycle import (
    Plan,
    Reason,
    plan,
    record_candidate,
    record_failure,
    referenced_names,
    summarise,
)
from .naming import BINDING_FINALIZER, RECONCILE_REQUEST_ANNOTATION

logger = logging.getLogger(__name__)

FIELD_MANAGER = "spritz-binding-controller"
RETRY_DELAY = timedelta(seconds=2)


async def _keep_runtimes(_: JSONObject) -> None:
    """Deleting a binding needs no cleanup of its own: its runtimes are garbage-collected
    through their owner references."""


class BindingReconciler:
    """Reconciles SpritzBindings (see the module doc). `bindings` is the informer cache of
    SpritzBindings; `now` is injectable for exact tests."""

    def __init__(self, client: Client, bindings: Store, *,
                 retry_delay: timedelta = RETRY_DELAY,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.client = client
        self.bindings = bindings
        self.retry_delay = retry_delay
        self.writer = StatusWriter(client, field_manager=FIELD_MANAGER)
        self.finalizer = Finalizer(client, SPRITZ_BINDING, BINDING_FINALIZER, _keep_runtimes)
        self._now = now

    async def reconcile(self, request: Request) -> Result:
        cached = self.bindings.get(request.key)
        if cached is None:
            return Result()
        reads = [cached]

        async def one_pass() -> Result:
            if reads:
                return await self._pass(reads.pop())
            try:
                obj = await self.client.get(SPRITZ_BINDING, request.name,
                                            namespace=request.namespace)
            except NotFound:
                return Result()  # deleted meanwhile: nothing left to do
            return await self._pass(obj)

        return await retry_on_conflict(one_pass)

    async def _pass(self, obj: JSONObject) -> Result:
        outcome = await self.finalizer.apply(obj)
        if outcome.deleting:
            return Result()
        obj = outcome.object
        try:
            binding = SpritzBinding.model_validate(obj)
        except ValidationError as error:
            raise TerminalError(f"SpritzBinding {obj['metadata'].get('namespace')}/"
                                f"{obj['metadata'].get('name')} cannot be read: {error}"
                                ) from error
        namespace = str(binding.metadata.namespace)
        observed = await runtimes.observe(self.client, namespace, referenced_names(binding))
        step = plan(binding, observed)
        status, retry = await self._execute(obj, binding, step)
        await self._write(obj, binding, summarise(
            status, status.last_error_code or step.reason,
            generation=binding.metadata.generation, now=self._now()))
        return Result(requeue_after=self.retry_delay) if retry else Result()

    async def _execute(self, obj: JSONObject, binding: SpritzBinding,
                       step: Plan) -> tuple[SpritzBindingStatus, bool]:
        """Perform the plan's I/O; the status to write and whether to retry later."""
        current = binding.status or SpritzBindingStatus()
        for ref in step.deletions:
            try:
                await runtimes.delete(self.client, ref)
            except ApiError as error:
                logger.warning("deleting Spritz %s/%s failed: %s", ref.namespace, ref.name,
                               error)
                # Keep every ref as it was: nothing may be forgotten before it is deleted.
                return record_failure(current, Reason.CLEANUP_FAILED, str(error),
                                      phase=BindingPhase.CLEANING_UP), True
        if step.adopt is not None:
            try:
                await runtimes.adopt(self.client, obj, step.adopt)
            except (ApiError, runtimes.RuntimeNameTaken) as error:
                return record_failure(current, Reason.ADOPT_FAILED, str(error)), True
        if not step.create_candidate:
            return step.status, False
        sequence = step.status.next_runtime_sequence + 1
        try:
            candidate = await runtimes.ensure_candidate(
                self.client, obj, binding, sequence, step.candidate_revision)
        except (ApiError, runtimes.RuntimeNameTaken) as error:
            logger.warning("creating a candidate for SpritzBinding %s/%s failed: %s",
                           binding.metadata.namespace, binding.metadata.name, error)
            return record_failure(step.status, Reason.CANDIDATE_CREATE_FAILED, str(error)), True
        return record_candidate(step.status, candidate, sequence), False

    async def _write(self, obj: JSONObject, binding: SpritzBinding,
                     status: SpritzBindingStatus) -> None:
        current = binding.status or SpritzBindingStatus()
        if _comparable(status) == _comparable(current) and not self._reconcile_requested(
                binding, current):
            return
        status.last_reconciled_at = self._now()
        await self.writer.patch(SPRITZ_BINDING, obj,
                                status.model_dump(mode="json", by_alias=True, exclude_none=True))

    @staticmethod
    def _reconcile_requested(binding: SpritzBinding, current: SpritzBindingStatus) -> bool:
        """A reconcile was requested after the last status write (by timestamp)."""
        stamp = (binding.metadata.annotations or {}).get(RECONCILE_REQUEST_ANNOTATION)
        if not stamp:
            return False
        try:
            requested = datetime.fromisoformat(stamp)
        except ValueError:
            return False
        if requested.tzinfo is None:
            requested = requested.replace(tzinfo=UTC)
        return current.last_reconciled_at is None or requested > current.last_reconciled_at


def _comparable(status: SpritzBindingStatus) -> JSONObject:
    return status.model_dump(mode="json", by_alias=True, exclude_none=True,
                             exclude={"last_reconciled_at"})

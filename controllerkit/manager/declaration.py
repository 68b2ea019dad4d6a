"""`ControllerDeclaration`: what `Manager.controller(...)` was told, and the wiring it does
for a reconcile function: the watches, the options, the reconciler over the cache."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from ..cache.cached_client import KindOrModel
from ..client.typed import kind_of
from ..clock import Clock
from ..controller import (
    Controller,
    ObjectReconciler,
    Predicate,
    ReconcileFunction,
    RequestMapper,
    Trigger,
)
from ..meta import ResourceKind
from ..reconcile import Request
from ..workqueue import RateLimiter

if TYPE_CHECKING:
    from .manager import Manager

__all__ = ["ControllerDeclaration"]

T = TypeVar("T")


@dataclass(frozen=True)
class ControllerDeclaration:
    """The arguments of `Manager.controller` (see there for what each means)."""

    kind: KindOrModel
    owns: Sequence[KindOrModel]
    watches: Sequence[tuple[KindOrModel, RequestMapper]]
    triggers: Sequence[Trigger]
    name: str | None
    namespace: str | None
    predicates: Sequence[Predicate]
    max_concurrent_reconciles: int
    reconcile_timeout: float | None
    max_retries: int
    rate_limiter: RateLimiter[Request] | None
    needs_leader_election: bool
    clock: Clock | None

    def build(self, manager: Manager, function: ReconcileFunction[T]) -> Controller:
        """Add the controller of `function` to `manager`; its reconcile reads through the
        manager's caches and writes as the controller's own field manager."""
        primary = _resource_kind(self.kind)
        builder = manager.controller_builder().for_(primary, namespace=self.namespace)
        for owned in self.owns:
            builder.owns(_resource_kind(owned), namespace=self.namespace)
        for watched, mapper in self.watches:
            builder.watches(_resource_kind(watched), mapper, namespace=self.namespace)
        name = self.name or primary.group_resource
        builder.named(name).with_predicates(*self.predicates).with_options(
            max_concurrent_reconciles=self.max_concurrent_reconciles,
            reconcile_timeout=self.reconcile_timeout, max_retries=self.max_retries,
            rate_limiter=self.rate_limiter, clock=self.clock)
        informer = manager.informers.informer(
            primary, namespace=builder.scope_of(primary, self.namespace))
        reconciler = ObjectReconciler(
            function, name=name, kind=primary,
            model=None if isinstance(self.kind, ResourceKind) else self.kind,
            informer=informer,
            client=manager.cached_client.for_writer(name, field_manager=name),
            events=manager.event_recorder)
        controller = builder.build(reconciler,
                                   needs_leader_election=self.needs_leader_election)
        for trigger in self.triggers:
            trigger.attach(controller)
        return controller


def _resource_kind(kind: KindOrModel) -> ResourceKind:
    return kind if isinstance(kind, ResourceKind) else kind_of(kind)

"""`ManagedControllerBuilder`: the `ControllerBuilder` that `Manager.controller_builder()`
returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from ..controller import Controller, ControllerBuilder, RequestMapper
from ..meta import ResourceKind
from ..reconcile import Reconciler

if TYPE_CHECKING:
    from .manager import Manager

__all__ = ["ManagedControllerBuilder"]


class ManagedControllerBuilder(ControllerBuilder):
    """A `ControllerBuilder` whose watches default to the manager's namespace and whose
    `build()` adds the controller to the manager."""

    def __init__(self, manager: Manager) -> None:
        super().__init__(manager.informers)
        self._manager = manager

    def scope_of(self, kind: ResourceKind, namespace: str | None) -> str | None:
        """The namespace a watch of `kind` covers: `namespace`, else the manager's."""
        if namespace is None and kind.namespaced:
            return self._manager.namespace
        return namespace

    def for_(self, kind: ResourceKind, *, namespace: str | None = None,
             **options: Any) -> Self:
        return super().for_(kind, namespace=self.scope_of(kind, namespace), **options)

    def owns(self, kind: ResourceKind, *, namespace: str | None = None,
             **options: Any) -> Self:
        return super().owns(kind, namespace=self.scope_of(kind, namespace), **options)

    def watches(self, kind: ResourceKind, map_fn: RequestMapper, *, namespace: str | None = None,
                **options: Any) -> Self:
        return super().watches(kind, map_fn, namespace=self.scope_of(kind, namespace),
                               **options)

    def build(self, reconciler: Reconciler, *, needs_leader_election: bool = True) -> Controller:
        """Build the controller and add it to the manager; `needs_leader_election=False`
        runs it on every replica even when the manager elects a leader (for sharded
        controllers next to leader-only work)."""
        # Checked before building: a duplicate would fail later, with its handlers wired.
        name = self._name or self.primary_kind.group_resource
        if name in self._manager.controllers:
            raise ValueError(f"a controller named {name!r} was already added; name it with "
                             f".named(...)")
        controller = super().build(reconciler)
        self._manager.add(controller, needs_leader_election=needs_leader_election)
        return controller

"""Typed access: pydantic models in and out, over any `Client`.

```python
widgets = client.typed(Widget)          # or TypedClient(client, Widget)
widget = await widgets.get("w1", namespace="default")
widget.spec.size = 3
widget = await widgets.update(widget)
```

A model class names its kind once, as `__kind__: ClassVar[ResourceKind]` (the `Resource` and
`CustomResource[SpecT, StatusT]` bases do). Models are serialised by
`controllerkit.objects.to_json_object` (their `to_dict()` when they have one, else
`model_dump(mode="json", by_alias=True, exclude_none=True)`), and built from answers with
`model_validate`. The wire and the cache stay on plain dicts; models are made only
here, at the edge, when asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from ..meta import JSONObject, ResourceKind
from ..objects import to_json_object
from .protocol import Client, PatchType

M = TypeVar("M", bound=BaseModel)

PatchBody = Mapping[str, Any] | Sequence[Any] | BaseModel


def kind_of(model: type[BaseModel]) -> ResourceKind:
    """The `ResourceKind` a model class declares as `__kind__`; TypeError if it declares none."""
    kind = getattr(model, "__kind__", None)
    if not isinstance(kind, ResourceKind):
        raise TypeError(
            f"{model.__name__} does not declare `__kind__: ClassVar[ResourceKind]`, so it is "
            "not known which resource it is"
        )
    return kind


class TypedClient(Generic[M]):
    """The `Client` operations for one model class, returning validated models.

    Errors are the client's (`ApiError` subclasses); an answer that does not fit the model
    raises pydantic's `ValidationError`.
    """

    def __init__(self, client: Client, model: type[M]) -> None:
        self.client = client
        self.model = model
        self.kind = kind_of(model)

    def _model(self, obj: JSONObject) -> M:
        return self.model.model_validate(obj)

    async def get(self, name: str, *, namespace: str | None = None) -> M:
        return self._model(await self.client.get(self.kind, name, namespace=namespace))

    async def list(
        self,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        page_size: int = 500,
    ) -> list[M]:
        """Every matching object, all pages (`Expired` if the list could not be completed)."""
        items: list[M] = []
        async for page in self.client.list_all(
            self.kind, namespace=namespace, label_selector=label_selector,
            field_selector=field_selector, page_size=page_size,
        ):
            items.extend(self._model(item) for item in page.items)
        return items

    async def create(
        self,
        obj: M,
        *,
        namespace: str | None = None,
        field_manager: str = "",
        dry_run: bool = False,
    ) -> M:
        created = await self.client.create(
            self.kind, to_json_object(obj), namespace=namespace, field_manager=field_manager,
            dry_run=dry_run,
        )
        return self._model(created)

    async def update(self, obj: M, *, field_manager: str = "", dry_run: bool = False) -> M:
        """PUT; the model's metadata.resourceVersion (if set) is the precondition."""
        updated = await self.client.update(
            self.kind, to_json_object(obj), field_manager=field_manager, dry_run=dry_run
        )
        return self._model(updated)

    async def patch(
        self,
        name: str,
        patch: PatchBody,
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        field_manager: str = "",
        force: bool = False,
        dry_run: bool = False,
    ) -> M:
        """A patch given as a dict, a list of JSON-patch operations, or a model (for apply)."""
        body = to_json_object(patch) if isinstance(patch, BaseModel) else patch
        patched = await self.client.patch(
            self.kind, name, body, namespace=namespace, patch_type=patch_type,
            field_manager=field_manager, force=force, dry_run=dry_run,
        )
        return self._model(patched)

    async def update_status(self, obj: M, *, field_manager: str = "") -> M:
        """PUT to the status subresource; the model's resourceVersion is the precondition."""
        updated = await self.client.update_status(
            self.kind, to_json_object(obj), field_manager=field_manager
        )
        return self._model(updated)

    async def patch_status(
        self,
        name: str,
        patch: PatchBody,
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        resource_version: str = "",
        field_manager: str = "",
    ) -> M:
        """A status patch, conditional on `resource_version` when given."""
        body = to_json_object(patch) if isinstance(patch, BaseModel) else patch
        patched = await self.client.patch_status(
            self.kind, name, body, namespace=namespace, patch_type=patch_type,
            resource_version=resource_version, field_manager=field_manager,
        )
        return self._model(patched)

    async def delete(
        self,
        name: str,
        *,
        namespace: str | None = None,
        propagation_policy: str = "",
        precondition_uid: str = "",
        precondition_resource_version: str = "",
    ) -> M | None:
        """The object if the server still holds it (finalizers pending) or returned it; None
        when it answered with a Status."""
        answer = await self.client.delete(
            self.kind, name, namespace=namespace, propagation_policy=propagation_policy,
            precondition_uid=precondition_uid,
            precondition_resource_version=precondition_resource_version,
        )
        if answer.get("kind") != self.kind.kind:
            return None
        return self._model(answer)

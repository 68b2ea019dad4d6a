"""Typed resources: pydantic models of whole API objects that declare their kind once.

A model names its kind in its class statement::

    class Widget(CustomResource[WidgetSpec, WidgetStatus], group="example.com",
                 version="v1", kind="Widget", plural="widgets", short_names=("wd",)):
        '''A widget. (This docstring becomes the description of the CRD's schema.)'''

which sets `Widget.__kind__` (the `ResourceKind` clients address it by) and
`Widget.__declaration__` (names and printer columns that `crd_for` puts in the CRD).
`Widget.model_validate(obj)` reads an object as the server sends it and `widget.to_dict()`
writes it back as JSON (camelCase, apiVersion/kind filled, None omitted).

The runtime itself works on dicts; build typed views where code wants them. A typed view
shares the values of `Any`-typed fields with the dict it was read from: deep-copy before
mutating those if the dict came from an informer cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .meta import JSONObject, KubeModel, ObjectMeta, ResourceKind

PrinterColumnType = Literal["string", "integer", "number", "boolean", "date"]
_COLUMN_TYPES = ("string", "integer", "number", "boolean", "date")


@dataclass(frozen=True, slots=True)
class PrinterColumn:
    """A column `kubectl get` shows for the kind (`additionalPrinterColumns` of a CRD).

    `json_path` is a simple JSONPath into the object, starting with a dot
    (`.status.phase`, `.spec.replicas`).
    """

    name: str
    json_path: str
    type: PrinterColumnType = "string"
    description: str = ""
    format: str = ""
    priority: int = 0
    """0 shows the column in the default view; higher only with `-o wide`."""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a printer column needs a name")
        if not self.json_path.startswith("."):
            raise ValueError(f"printer column {self.name!r}: json_path {self.json_path!r} must "
                             f"be a simple JSONPath starting with '.' (like '.status.phase')")
        if self.type not in _COLUMN_TYPES:
            raise ValueError(f"printer column {self.name!r}: type {self.type!r} is not one of "
                             f"{', '.join(_COLUMN_TYPES)}")

    def to_dict(self) -> JSONObject:
        """The column as a CRD's `additionalPrinterColumns` entry."""
        column: JSONObject = {"name": self.name, "type": self.type, "jsonPath": self.json_path}
        if self.description:
            column["description"] = self.description
        if self.format:
            column["format"] = self.format
        if self.priority:
            column["priority"] = self.priority
        return column


@dataclass(frozen=True, slots=True)
class ResourceDeclaration:
    """Everything a model's class statement declares about its kind."""

    kind: ResourceKind
    singular: str
    list_kind: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    printer_columns: tuple[PrinterColumn, ...] = ()


def default_plural(kind: str) -> str:
    """The plural a CRD gets by convention: the kind lowercased, then `-s`, `-es` after
    s/x/z/ch/sh, or `-ies` for a consonant before a final y."""
    lower = kind.lower()
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        return lower[:-1] + "ies"
    return lower + "s"


class Resource(KubeModel):
    """Base of typed API objects: apiVersion, kind and metadata.

    Subclasses declare their kind with class keyword arguments (`group`, `version`, `kind`,
    `namespaced`, and optionally `plural` — by default the kind lowercased and pluralised as
    `kubebuilder` does, `Policy` → `policies` — and for CRDs `singular`, `list_kind`,
    `short_names`, `categories`, `printer_columns`). A running manager checks the plural and
    scope against what the server serves and fails at once, naming the kind, if they differ.
    A class without them is an abstract base: it has no `__kind__` and its subclasses declare
    one.

    Guaranteed: a declared model fills `apiVersion` and `kind` when they are missing, and
    refuses an object that names another apiVersion or kind (reading an object into the
    wrong model is always a bug). Fields the model does not declare are dropped on
    validation, except inside `metadata`, which keeps every field it is given.
    """

    # Attribute docstrings are read from source by locating the class statement; pydantic
    # fails to parse a multi-line `class X(CustomResource[A, B], group=..., ...)` statement
    # when it creates `CustomResource[A, B]`. Fields of whole-object models are spec, status
    # and metadata, documented by their own models; use Field(description=...) on others.
    model_config = ConfigDict(use_attribute_docstrings=False)

    __kind__: ClassVar[ResourceKind]
    __declaration__: ClassVar[ResourceDeclaration]

    api_version: str = ""
    kind: str = ""
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)

    def __init_subclass__(
        cls,
        *,
        group: str | None = None,
        version: str | None = None,
        kind: str | None = None,
        plural: str | None = None,
        namespaced: bool = True,
        singular: str | None = None,
        list_kind: str | None = None,
        short_names: Sequence[str] = (),
        categories: Sequence[str] = (),
        printer_columns: Sequence[PrinterColumn] = (),
    ) -> None:
        super().__init_subclass__()
        if group is None or version is None or kind is None:
            given = {"group": group, "version": version, "kind": kind}
            missing = [name for name, value in given.items() if value is None]
            if len(missing) < len(given) or plural is not None:
                raise TypeError(f"{cls.__name__} declares a kind but not {', '.join(missing)}: "
                                f"group, version and kind go together (group='' for the core "
                                f"group)")
            if singular or list_kind or short_names or categories or printer_columns:
                raise TypeError(f"{cls.__name__}: names and printer columns need a kind; "
                                f"declare group, version, kind and plural as well")
            return
        if isinstance(short_names, str) or isinstance(categories, str):
            raise TypeError(f"{cls.__name__}: short_names and categories are sequences of "
                            f"names, not a single string")
        resource_kind = ResourceKind(group, version, kind, plural or default_plural(kind),
                                     namespaced)
        cls.__kind__ = resource_kind
        cls.__declaration__ = ResourceDeclaration(
            kind=resource_kind,
            singular=singular or kind.lower(),
            list_kind=list_kind or f"{kind}List",
            short_names=tuple(short_names),
            categories=tuple(categories),
            printer_columns=tuple(printer_columns),
        )

    @model_validator(mode="before")
    @classmethod
    def _fill_type_meta(cls, data: Any) -> Any:
        """Fill a missing apiVersion/kind from the declaration; refuse another kind's object."""
        declared: ResourceKind | None = getattr(cls, "__kind__", None)
        if declared is None or not isinstance(data, Mapping):
            return data
        filled = dict(data)  # the input may be a cached object: never mutate it
        for json_name, python_name, expected in (
            ("apiVersion", "api_version", declared.api_version),
            ("kind", "kind", declared.kind),
        ):
            given = filled.get(json_name, filled.get(python_name)) or ""
            if given and given != expected:
                raise ValueError(f"{cls.__name__} reads {declared.api_version} "
                                 f"{declared.kind} objects, not {json_name} {given!r}")
            filled.pop(python_name, None)
            filled[json_name] = expected
        return filled

    def to_dict(self) -> JSONObject:
        """The object as JSON: camelCase names, apiVersion/kind filled, None values omitted.

        Values inside `Any`-typed fields are emitted as they are, None included.
        """
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


SpecT = TypeVar("SpecT", bound=BaseModel)
StatusT = TypeVar("StatusT", bound=BaseModel)


class CustomResource(Resource, Generic[SpecT, StatusT]):
    """An object of a custom kind: `.spec` is the user's desired state, `.status` the
    controller's observations (None until a controller first writes it).

    `crd_for(Model)` turns a declared subclass into its CustomResourceDefinition.
    """

    spec: SpecT
    status: StatusT | None = None

"""Built-in kinds given as rows of data, and how a row becomes a served `ResourceType`.

A `KindRow` holds only what the real server publishes about a kind: its names and scope, the
registry flags (status subresource, generation tracking, what DELETE answers), the schemas of
its top-level fields and its printer columns. Nothing in a row is code, so the rows can be
generated from the upstream OpenAPI definitions and printers instead of written by hand.

Every kind built from a row accepts strategic-merge patches and deletes in the background
when no propagationPolicy is given, as every such kind does on the real server.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from controllerkit.apiserver.builtin_meta import resource
from controllerkit.apiserver.resources import JSONObject, ResourceType


@dataclass(frozen=True)
class KindRow:
    """One built-in kind as data.

    `fields` are the schemas of the object's top-level fields other than `apiVersion`, `kind`
    and `metadata` (which every kind gets); `required` names those the object must have.
    `printer_columns` have the shape `ResourceType.printer_columns` documents.
    """

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    description: str
    fields: Mapping[str, JSONObject]
    required: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    has_status: bool = False
    tracks_generation: bool = False
    delete_returns_object: bool = False
    printer_columns: tuple[JSONObject, ...] = ()


def row_type(row: KindRow) -> ResourceType:
    """The served type of a row, with a schema of its own (rows are never shared with it)."""
    schema = resource(row.description, **copy.deepcopy(dict(row.fields)))
    if row.required:
        schema["required"] = list(row.required)
    return ResourceType(
        group=row.group, version=row.version, kind=row.kind, plural=row.plural,
        singular=row.kind.lower(), namespaced=row.namespaced, short_names=row.short_names,
        categories=row.categories, has_status=row.has_status, schema=schema,
        printer_columns=row.printer_columns, tracks_generation=row.tracks_generation,
        strategic_merge=True, delete_returns_object=row.delete_returns_object,
    )


def row_types(rows: Iterable[KindRow]) -> list[ResourceType]:
    """`row_type` of every row, in order."""
    return [row_type(row) for row in rows]

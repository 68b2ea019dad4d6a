"""Server-side printing: `meta.k8s.io/v1` `Table` responses for `kubectl get`.

kubectl asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...,application/json`
and prints whatever columns the server sends. Columns follow the real server's rule for custom
resources: `Name`, then the type's printer columns (CRD `additionalPrinterColumns`), or `Name`
and `Age` when the type declares none. Cells are computed the same way: the first JSONPath match,
typed by the column (`integer`, `number`, `boolean`, `string`, `date`); a `date` cell is the
human-readable age (`5m`, `3h12m`), computed when the table is built.

Built-in kinds print counts no JSONPath can express (a ConfigMap's `Data`): a column with a
`countOf` list of paths shows the total number of entries of the maps or lists they select.

For `kubectl get -w` the same Accept header arrives on a watch: each event's object is sent as a
one-row table, with `columnDefinitions` only on the first (`with_definitions=False` after that).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .errors import bad_request
from .field_errors import go_float
from .field_errors import invalid as invalid_value
from .jsonpath import JSONPath, JSONPathError, compile_path
from .resources import JSONObject, ResourceType

__all__ = [
    "TABLE_API_VERSION",
    "column_definitions",
    "human_duration",
    "to_table",
    "validate_include_object",
    "wants_table",
]

TABLE_API_VERSION = "meta.k8s.io/v1"
INCLUDE_OBJECT_VALUES = ("Metadata", "Object", "None")

NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name "
    "automatically. Cannot be updated."
)
CREATION_TIMESTAMP_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. Populated by the system. Read-only. Null for lists."
)
# What a type without printer columns shows, as the real server serves such CRDs.
DEFAULT_COLUMNS: tuple[JSONObject, ...] = ({
    "name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
    "description": CREATION_TIMESTAMP_DESCRIPTION,
},)

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def wants_table(accept: str) -> bool:
    """Whether content negotiation on `accept` picks a `meta.k8s.io/v1` Table.

    Clauses are taken by quality, then in the order sent; the first one the server can answer
    decides: a v1 Table clause means yes, a plain JSON/YAML/wildcard clause means no. Clauses
    asking for another `as=` (PartialObjectMetadata, v1beta1 Tables) or for protobuf are
    skipped, as the server cannot produce them.
    """
    for media, params in _clauses_by_quality(accept):
        if media not in ("application/json", "application/yaml", "application/*", "*/*"):
            continue
        wanted = params.get("as")
        if wanted is None:
            return False
        if (wanted == "Table" and params.get("g") == "meta.k8s.io"
                and params.get("v") == "v1"):
            return True
    return False


def validate_include_object(value: str) -> str:
    """The `includeObject` query value, normalised; 400 BadRequest for anything unknown."""
    if value == "":
        return "Metadata"
    if value not in INCLUDE_OBJECT_VALUES:
        cause = invalid_value("includeObject", value,
                              "must be 'Metadata', 'Object', 'None', or empty")
        raise bad_request(f"{cause.field}: {cause.message}")
    return value


def column_definitions(rtype: ResourceType) -> list[JSONObject]:
    """The table's columns for a type: `Name`, then its printer columns (or `Age`)."""
    columns = [{
        "name": "Name", "type": "string", "format": "name",
        "description": NAME_DESCRIPTION, "priority": 0,
    }]
    for column in _printer_columns(rtype):
        path = column.get("jsonPath", "")
        columns.append({
            "name": column.get("name", ""),
            "type": column.get("type", "string"),
            "format": column.get("format", ""),
            "description": column.get("description") or (
                f"Custom resource definition column (in JSONPath format): {path}"),
            "priority": int(column.get("priority", 0)),
        })
    return columns


def to_table(
    rtype: ResourceType,
    objects: list[JSONObject],
    *,
    include_object: str = "Metadata",
    list_metadata: JSONObject | None = None,
    with_definitions: bool = True,
    now: datetime | None = None,
) -> JSONObject:
    """A `Table` with one row per object, in the order given.

    `include_object` is the request's `includeObject`: `Metadata` puts a `PartialObjectMetadata`
    in each row (kubectl reads namespaces and labels from it), `Object` the object itself,
    `None` nothing. `list_metadata` becomes the table's `metadata` (resourceVersion, continue,
    remainingItemCount). `now` is the instant `date` cells are measured from (default: now).
    Inputs are not modified.
    """
    include = validate_include_object(include_object)
    moment = now or datetime.now(UTC)
    columns = _printer_columns(rtype)
    rows = [_row(obj, columns, include, moment) for obj in objects]
    return {
        "kind": "Table",
        "apiVersion": TABLE_API_VERSION,
        "metadata": dict(list_metadata or {}),
        "columnDefinitions": column_definitions(rtype) if with_definitions else [],
        "rows": rows,
    }


def human_duration(seconds: float) -> str:
    """An age as kubectl and the server print it: `45s`, `5m30s`, `3h12m`, `4d5h`, `2y30d`."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        return _with_remainder(minutes, "m", whole % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        return _with_remainder(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _with_remainder(hours // 24, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return _with_remainder(hours // 24 // 365, "y", (hours // 24) % 365, "d")
    return f"{hours // 24 // 365}y"


def _with_remainder(amount: int, unit: str, remainder: int, remainder_unit: str) -> str:
    return f"{amount}{unit}" if remainder == 0 else f"{amount}{unit}{remainder}{remainder_unit}"


def _printer_columns(rtype: ResourceType) -> tuple[JSONObject, ...]:
    return rtype.printer_columns or DEFAULT_COLUMNS


def _row(obj: JSONObject, columns: tuple[JSONObject, ...], include: str,
         now: datetime) -> JSONObject:
    metadata = obj.get("metadata") or {}
    cells: list[Any] = [metadata.get("name", "")]
    for column in columns:
        cells.append(_cell(obj, column, now))
    row: JSONObject = {"cells": cells}
    if include == "Object":
        row["object"] = obj
    elif include == "Metadata":
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": TABLE_API_VERSION,
            "metadata": metadata,
        }
    return row


def _cell(obj: JSONObject, column: JSONObject, now: datetime) -> Any:
    if column.get("countOf"):
        return _count(obj, column["countOf"])
    path = _compiled(column.get("jsonPath", ""))
    found = path.find(obj) if path is not None else []
    if not found:
        return None
    # Simple printer paths select one value; like the real server, take the first of several.
    value = found[0]
    kind = column.get("type", "string")
    if kind == "string":
        return _as_text(value)
    if value is None:
        return None
    if kind == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, str):
        return _age(value, now)
    return None


def _count(obj: JSONObject, expressions: list[str]) -> int:
    total = 0
    for expression in expressions:
        path = _compiled(expression)
        found = path.find(obj) if path is not None else []
        if found and isinstance(found[0], dict | list):
            total += len(found[0])
    return total


def _as_text(value: Any) -> str:
    """A value printed as kubectl's JSONPath prints it: strings bare, structures as JSON."""
    if value is None:
        return "<no value>"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # Go's encoder escapes these three for safe embedding in HTML.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _age(timestamp: str, now: datetime) -> str:
    if timestamp in ("", "null"):
        return "<unknown>"
    if not _RFC3339.fullmatch(timestamp):
        return "<invalid>"
    try:
        created = datetime.fromisoformat(timestamp.upper().replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    return human_duration((now - created).total_seconds())


@lru_cache(maxsize=512)
def _compiled(expression: str) -> JSONPath | None:
    try:
        return compile_path(expression)
    except JSONPathError:
        return None


def _clauses_by_quality(accept: str) -> list[tuple[str, dict[str, str]]]:
    # Sorted as content negotiation sorts them: by quality, then concrete types before
    # wildcards, then in the order sent.
    clauses: list[tuple[tuple[float, bool, bool, int], str, dict[str, str]]] = []
    for order, clause in enumerate(accept.split(",")):
        media, *raw_params = (part.strip() for part in clause.split(";"))
        if not media:
            continue
        params: dict[str, str] = {}
        for raw in raw_params:
            key, _, value = raw.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        try:
            quality = float(params.pop("q", "1"))
        except ValueError:
            quality = 1.0
        if quality > 0:
            kind, _, subtype = media.lower().partition("/")
            rank = (-quality, kind == "*", subtype == "*", order)
            clauses.append((rank, media.lower(), params))
    clauses.sort(key=lambda clause: clause[0])
    return [(media, params) for _rank, media, params in clauses]

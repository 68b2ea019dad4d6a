"""Structured logs: every line emitted inside a reconcile names what is being reconciled.

```python
configure_logging(format="json")
with reconcile_context(controller="widgets", kind="Widget", namespace="default",
                       name="w1", reconcile_id="7"):
    logging.getLogger("my.reconciler").info("scaled up")
# {"ts": "...", "level": "INFO", "logger": "my.reconciler", "msg": "scaled up",
#  "controller": "widgets", "kind": "Widget", "namespace": "default", "name": "w1",
#  "reconcile_id": "7"}
```

The context lives in a context variable, so it follows the reconcile through every `await`
and into tasks it creates, and never leaks into other reconciles running concurrently.
`ReconcileContextFilter` attaches it to log records; `JsonLogFormatter` and
`TextLogFormatter` print it. `configure_logging` installs all three on the root logger.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson

__all__ = [
    "CONTEXT_FIELDS",
    "JsonLogFormatter",
    "LogFormat",
    "ReconcileContext",
    "ReconcileContextFilter",
    "TextLogFormatter",
    "configure_logging",
    "current_reconcile_context",
    "reconcile_context",
]

LogFormat = Literal["json", "text"]

CONTEXT_FIELDS = ("controller", "kind", "namespace", "name", "reconcile_id")
"""Record attributes (and JSON keys) that say which reconcile a line belongs to."""


@dataclass(frozen=True, slots=True)
class ReconcileContext:
    """Which reconcile is running: the controller, the object's kind and key, and its id."""

    controller: str
    kind: str = ""
    namespace: str = ""
    name: str = ""
    reconcile_id: str = ""


_current: ContextVar[ReconcileContext | None] = ContextVar("reconcile_context", default=None)


def current_reconcile_context() -> ReconcileContext | None:
    """The reconcile the calling code runs in, or None outside any reconcile."""
    return _current.get()


@contextmanager
def reconcile_context(
    *, controller: str, kind: str = "", namespace: str = "", name: str = "",
    reconcile_id: str | int = "",
) -> Iterator[ReconcileContext]:
    """Mark the code inside the block (and tasks it starts) as one reconcile.

    Restores the previous context on exit, also when the block raises. Use one block per
    reconcile, around the `await` of the reconciler.
    """
    context = ReconcileContext(controller, kind, namespace, name, str(reconcile_id))
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


class ReconcileContextFilter(logging.Filter):
    """Attaches the current reconcile context to each record; never filters a record out.

    The context goes on the record as `record.reconcile_context` (a `ReconcileContext`;
    `name` cannot be a record attribute, it is the logger's). Outside a reconcile, records get
    nothing. Attach it to handlers: a filter on a logger only sees records created on that
    very logger, not those of its children.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        context = _current.get()
        if context is not None and not hasattr(record, "reconcile_context"):
            record.reconcile_context = context
        return True


# Context fields a log call may also pass with `extra=` (the controller passes `controller`
# and `reconcile_id`); `name` is not among them, it is the logger's name on a record.
_EXTRA_FIELDS = ("controller", "kind", "namespace", "reconcile_id")


def _context_of(record: logging.LogRecord) -> dict[str, str]:
    """The context fields of a record, in `CONTEXT_FIELDS` order; explicit extras win."""
    values: dict[str, object] = {}
    context = getattr(record, "reconcile_context", None)
    if isinstance(context, ReconcileContext):
        values.update(asdict(context))
    for field in _EXTRA_FIELDS:
        value = getattr(record, field, None)
        if value not in (None, ""):
            values[field] = value
    return {field: str(values[field]) for field in CONTEXT_FIELDS
            if values.get(field) not in (None, "")}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, keys in a stable order.

    Always `ts` (UTC, RFC 3339 with milliseconds), `level`, `logger`, `msg`; then the context
    fields present on the record (`CONTEXT_FIELDS`, in that order); then `exc`, the formatted
    traceback, when the record carries an exception. Nothing else.
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(_context_of(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


class TextLogFormatter(logging.Formatter):
    """`ts LEVEL logger: msg [controller=... kind=... ...]`, then the traceback, if any."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        context = _context_of(record)
        if context:
            text += " [" + " ".join(f"{key}={value}" for key, value in context.items()) + "]"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


_installed: logging.Handler | None = None


def configure_logging(
    format: LogFormat = "text", level: int | str = logging.INFO, *, stream: TextIO | None = None
) -> logging.Handler:
    """Log to `stream` (default stderr) from the root logger, in `format`, at `level`.

    Installs one handler carrying `ReconcileContextFilter` and returns it. Calling it again
    replaces the handler it installed before (handlers installed by others stay).
    """
    global _installed
    if format not in ("json", "text"):
        raise ValueError(f"log format is json or text, not {format!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonLogFormatter() if format == "json" else TextLogFormatter())
    handler.addFilter(ReconcileContextFilter())
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
    root.addHandler(handler)
    root.setLevel(level)
    _installed = handler
    return handler

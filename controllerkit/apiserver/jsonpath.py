"""The JSONPath dialect of printer columns: `.status.conditions[?(@.type=="Ready")].status`.

Kubernetes evaluates `additionalPrinterColumns[].jsonPath` with its own JSONPath flavour and
missing keys allowed. This evaluator covers what printer columns use: dotted fields (a dot inside
a key escaped as `\\.`), bracketed keys (`['app.kubernetes.io/name']`), indexes (negative ones
count from the end), slices, `*` wildcards and filters comparing a relative path with a literal
or another path (`==`, `!=`, `<`, `<=`, `>`, `>=`, or a bare `@.path` for existence).

`compile_path` raises `JSONPathError` for anything else, so an unsupported expression is found
when it is compiled, not silently evaluated to nothing.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["JSONPath", "JSONPathError", "compile_path"]


class JSONPathError(ValueError):
    """The expression is not JSONPath, or uses a feature this evaluator does not have."""


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Wildcard:
    pass


@dataclass(frozen=True)
class _Index:
    position: int


@dataclass(frozen=True)
class _Slice:
    start: int | None
    stop: int | None
    step: int | None


@dataclass(frozen=True)
class _Filter:
    left: JSONPath | _Literal
    comparison: str  # "exists" or an operator from _COMPARISONS
    right: JSONPath | _Literal | None


@dataclass(frozen=True)
class _Literal:
    value: Any


_Step = _Field | _Wildcard | _Index | _Slice | _Filter

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne,
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
}
_OPERATOR = re.compile(r"==|!=|<=|>=|<|>")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


@dataclass(frozen=True)
class JSONPath:
    """A compiled expression; `find` lists every match, in document order."""

    expression: str
    steps: tuple[_Step, ...]

    def find(self, document: Any) -> list[Any]:
        """All values the path selects in `document`; missing keys select nothing."""
        current = [document]
        for step in self.steps:
            current = [found for value in current for found in _apply(step, value)]
        return current


def compile_path(expression: str) -> JSONPath:
    """Parse `expression` (optionally wrapped in `{}` as kubectl writes templates)."""
    text = expression.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if not text:
        raise JSONPathError("empty JSONPath expression")
    return JSONPath(expression, tuple(_parse_steps(text, expression)))


def _apply(step: _Step, value: Any) -> Iterator[Any]:
    if isinstance(step, _Field):
        if isinstance(value, dict) and step.name in value:
            yield value[step.name]
    elif isinstance(step, _Wildcard):
        if isinstance(value, dict):
            yield from (value[key] for key in sorted(value))
        elif isinstance(value, list):
            yield from value
    elif isinstance(step, _Index):
        if isinstance(value, list) and -len(value) <= step.position < len(value):
            yield value[step.position]
    elif isinstance(step, _Slice):
        if isinstance(value, list):
            yield from value[step.start:step.stop:step.step]
    elif isinstance(value, list):
        yield from (item for item in value if _matches(step, item))


def _matches(condition: _Filter, item: Any) -> bool:
    left = _operand(condition.left, item)
    if condition.comparison == "exists":
        return bool(left)
    right = _operand(condition.right, item) if condition.right is not None else []
    if not left or not right:
        return False
    return _compare(condition.comparison, left[0], right[0])


def _operand(operand: JSONPath | _Literal, item: Any) -> list[Any]:
    if isinstance(operand, _Literal):
        return [operand.value]
    return operand.find(item)


def _compare(comparison: str, left: Any, right: Any) -> bool:
    # JSON types must agree: `true == 1` or `"1" < 2` selects nothing, as in Kubernetes, where
    # comparing different kinds is an error and an erroring column is left empty.
    numeric = (int, float)
    same_kind = (
        (isinstance(left, bool) and isinstance(right, bool))
        or (isinstance(left, numeric) and isinstance(right, numeric)
            and not isinstance(left, bool) and not isinstance(right, bool))
        or (isinstance(left, str) and isinstance(right, str))
    )
    if not same_kind:
        return False
    if isinstance(left, bool) and comparison not in ("==", "!="):
        return False
    return _COMPARISONS[comparison](left, right)


def _parse_steps(text: str, expression: str) -> Iterator[_Step]:
    position = 0
    if text == ".":
        return
    if text[0] not in ".[":
        text = "." + text  # `status.phase` is read as `.status.phase`, as kubectl does
    while position < len(text):
        char = text[position]
        if char == ".":
            position += 1
            if position >= len(text):
                raise JSONPathError(f"{expression!r}: a field name must follow '.'")
            if text[position] == ".":
                raise JSONPathError(f"{expression!r}: recursive descent '..' is not supported")
            if text[position] == "*":
                position += 1
                yield _Wildcard()
                continue
            if text[position] == "[":
                continue
            name, position = _field_name(text, position)
            yield _Field(name)
        elif char == "[":
            end = _closing_bracket(text, position, expression)
            yield _bracket(text[position + 1:end].strip(), expression)
            position = end + 1
        else:
            raise JSONPathError(f"{expression!r}: unexpected {char!r} at offset {position}")


def _field_name(text: str, position: int) -> tuple[str, int]:
    name: list[str] = []
    while position < len(text) and text[position] not in ".[":
        if text[position] == "\\" and position + 1 < len(text):
            position += 1
        name.append(text[position])
        position += 1
    return "".join(name), position


def _closing_bracket(text: str, start: int, expression: str) -> int:
    depth, quote = 0, ""
    for position in range(start, len(text)):
        char = text[position]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in ")]":
            depth -= 1
            if depth == 0:
                return position
    raise JSONPathError(f"{expression!r}: unclosed '['")


def _bracket(inner: str, expression: str) -> _Step:
    if inner == "*":
        return _Wildcard()
    if inner.startswith("?"):
        body = inner[1:].strip()
        if not (body.startswith("(") and body.endswith(")")):
            raise JSONPathError(f"{expression!r}: a filter is written [?(...)]")
        return _filter(body[1:-1].strip(), expression)
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return _Field(inner[1:-1])
    try:
        if ":" in inner:
            parts = [int(p) if p.strip() else None for p in inner.split(":")]
            if len(parts) > 3:
                raise ValueError(inner)
            parts += [None] * (3 - len(parts))
            return _Slice(parts[0], parts[1], parts[2])
        return _Index(int(inner))
    except ValueError:
        raise JSONPathError(f"{expression!r}: unsupported subscript [{inner}]") from None


def _filter(condition: str, expression: str) -> _Filter:
    found = _operator_outside_quotes(condition)
    if found is None:
        return _Filter(_filter_operand(condition, expression), "exists", None)
    start, end = found
    return _Filter(
        _filter_operand(condition[:start].strip(), expression),
        condition[start:end],
        _filter_operand(condition[end:].strip(), expression),
    )


def _operator_outside_quotes(condition: str) -> tuple[int, int] | None:
    quote = ""
    for position, char in enumerate(condition):
        if quote:
            if char == quote:
                quote = ""
            continue
        if char in "'\"":
            quote = char
            continue
        match = _OPERATOR.match(condition, position)
        if match:
            return match.start(), match.end()
    return None


def _filter_operand(text: str, expression: str) -> JSONPath | _Literal:
    if text.startswith("@"):
        rest = text[1:]
        return JSONPath(text, tuple(_parse_steps(rest, expression)) if rest else ())
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return _Literal(text[1:-1])
    if text in ("true", "false"):
        return _Literal(text == "true")
    if _NUMBER.fullmatch(text):
        return _Literal(float(text) if any(c in text for c in ".eE") else int(text))
    raise JSONPathError(f"{expression!r}: cannot read filter operand {text!r}")

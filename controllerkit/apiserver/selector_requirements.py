"""Label selector requirements: the validated `key op values` terms a selector is made of.

A requirement is validated once, as `labels.NewRequirement` validates it (key and values via
`name_formats`, operator arity here), and compiled into a small predicate over a label map, so
matching a selector against many objects only runs those predicates. `SelectorError` carries
the message kube-apiserver gives for an invalid requirement.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Final

from controllerkit.apiserver.name_formats import label_value_errors, qualified_name_errors


class Operator(StrEnum):
    """Selector operators, spelled as Kubernetes spells them in its error messages."""

    IN = "in"
    NOT_IN = "notin"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    GREATER_THAN = "gt"
    LESS_THAN = "lt"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"


BINARY_OPERATORS: Final = ", ".join(
    op.value for op in Operator if op not in (Operator.EXISTS, Operator.DOES_NOT_EXIST)
)

LabelPredicate = Callable[[Mapping[str, str]], bool]

_INTEGER_RE: Final = re.compile(r"^[+-]?[0-9]+$")


class SelectorError(Exception):
    """A selector that cannot be built; `message` is the text the real server answers."""


def invalid_value(path: str, shown_value: str, details: Sequence[str]) -> str:
    """`<path>: Invalid value: <value>: <details>`, as a field.Invalid error prints."""
    return f"{path}: Invalid value: {shown_value}: {'; '.join(details)}"


def _go_strings(values: Sequence[str]) -> str:
    """A string list as Go's `%#v` prints it, which the real messages embed."""
    if not values:
        return "[]string(nil)"
    return "[]string{" + ", ".join(json.dumps(v) for v in values) + "}"


def _aggregate(messages: list[str]) -> str:
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


class Requirement:
    """One `key op values` term; build it with `Requirement.create`, which validates it."""

    __slots__ = ("key", "operator", "predicate", "values")

    def __init__(self, key: str, operator: Operator, values: tuple[str, ...]) -> None:
        self.key = key
        self.operator = operator
        self.values = values
        self.predicate = _compile(key, operator, values)

    @classmethod
    def create(cls, key: str, operator: Operator, values: Sequence[str]) -> Requirement:
        """Validate like `labels.NewRequirement`; raise `SelectorError` with its message."""
        problems: list[str] = []
        if key_errors := qualified_name_errors(key):
            problems.append(invalid_value("key", json.dumps(key), key_errors))
        if operator in (Operator.IN, Operator.NOT_IN) and not values:
            problems.append(invalid_value(
                "values", _go_strings(values),
                ["for 'in', 'notin' operators, values set can't be empty"]))
        elif operator in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS) and (
                len(values) != 1):
            problems.append(invalid_value(
                "values", _go_strings(values),
                ["exact-match compatibility requires one single value"]))
        elif operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
            problems.append(invalid_value(
                "values", _go_strings(values),
                ["values set must be empty for exists and does not exist"]))
        elif operator in (Operator.GREATER_THAN, Operator.LESS_THAN):
            if len(values) != 1:
                problems.append(invalid_value("values", _go_strings(values), [
                    "for 'Gt', 'Lt' operators, exactly one value is required"]))
            problems.extend(
                invalid_value(f"values[{i}]", json.dumps(v),
                              ["for 'Gt', 'Lt' operators, the value must be an integer"])
                for i, v in enumerate(values) if _as_int64(v) is None)
        for i, value in enumerate(values):
            if value_errors := label_value_errors(value):
                problems.append(
                    invalid_value(f"values[{i}][{key}]", json.dumps(value), value_errors))
        if problems:
            raise SelectorError(_aggregate(problems))
        return cls(key, operator, tuple(values))

    def __str__(self) -> str:
        op = self.operator
        if op is Operator.EXISTS:
            return self.key
        if op is Operator.DOES_NOT_EXIST:
            return f"!{self.key}"
        if op in (Operator.IN, Operator.NOT_IN):
            return f"{self.key} {op.value} ({','.join(sorted(self.values))})"
        symbol = {Operator.GREATER_THAN: ">", Operator.LESS_THAN: "<"}.get(op, op.value)
        return f"{self.key}{symbol}{self.values[0]}"


def _as_int64(text: str) -> int | None:
    if not _INTEGER_RE.match(text):
        return None
    number = int(text)
    return number if -(2**63) <= number < 2**63 else None


def _compile(key: str, op: Operator, values: tuple[str, ...]) -> LabelPredicate:
    """A predicate for one requirement; absent keys satisfy `!=` and `notin`, as in Kubernetes."""
    wanted = frozenset(values)
    if op in (Operator.IN, Operator.EQUALS, Operator.DOUBLE_EQUALS):
        return lambda labels: labels.get(key) in wanted
    if op in (Operator.NOT_IN, Operator.NOT_EQUALS):
        return lambda labels: labels.get(key) not in wanted
    if op is Operator.EXISTS:
        return lambda labels: key in labels
    if op is Operator.DOES_NOT_EXIST:
        return lambda labels: key not in labels
    bound = _as_int64(values[0]) if len(values) == 1 else None
    if bound is None:
        return lambda labels: False
    limit: int = bound
    greater = op is Operator.GREATER_THAN

    def compare(labels: Mapping[str, str]) -> bool:
        actual = labels.get(key)
        number = None if actual is None else _as_int64(actual)
        if number is None:
            return False
        return number > limit if greater else number < limit

    return compare

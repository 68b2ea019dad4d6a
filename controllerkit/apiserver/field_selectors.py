"""Field selectors: the `fieldSelector` query syntax and matching on object fields.

A field selector is an AND of `field=value`, `field==value` or `field!=value` terms over dotted
object paths, restricted to the fields a resource makes selectable. Parsing follows
k8s.io/apimachinery/pkg/fields (no trimming, backslash escapes in values), and invalid input
raises a 400 `BadRequest` with the message kube-apiserver returns for it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

from controllerkit.apiserver import errors
from controllerkit.apiserver.selector_requirements import Operator

DEFAULT_SELECTABLE_FIELDS: Final = ("metadata.name", "metadata.namespace")
_FIELD_OPERATORS: Final = ("!=", "==", "=")  # tried in this order at each position, as Kubernetes


class FieldRequirement:
    """One `field op value` term of a field selector (`=`, `==` or `!=`)."""

    __slots__ = ("field", "operator", "path", "value")

    def __init__(self, field: str, operator: Operator, value: str) -> None:
        self.field = field
        self.operator = operator
        self.value = value
        self.path = tuple(field.split("."))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        equal = _field_value(obj, self.path) == self.value
        return not equal if self.operator is Operator.NOT_EQUALS else equal

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{self.operator.value}{escaped}"


def _field_value(obj: Mapping[str, Any], path: tuple[str, ...]) -> str:
    """The field as the server's field sets render it: missing or structured values are ""."""
    current: Any = obj
    for part in path:
        if not isinstance(current, Mapping):
            return ""
        current = current.get(part)
    if isinstance(current, bool):
        return "true" if current else "false"
    if isinstance(current, str | int | float):
        return str(current)
    return ""


class FieldSelector:
    """An AND of field requirements over dotted object paths; empty matches everything."""

    __slots__ = ("requirements",)

    def __init__(self, requirements: Sequence[FieldRequirement] = ()) -> None:
        self.requirements = tuple(requirements)

    @classmethod
    def parse(cls, text: str,
              supported: Collection[str] = DEFAULT_SELECTABLE_FIELDS) -> FieldSelector:
        """Parse the `fieldSelector` query syntax, allowing only the `supported` fields.

        Like Kubernetes, terms are not trimmed (`a = b` names the field `"a "`), values may
        escape `\\`, `,` and `=` with a backslash, and an unsupported field is a 400 `BadRequest`
        with the real server's text: kinds that select only on name and namespace say
        `"x" is not a known field selector: only "metadata.name", "metadata.namespace"`, kinds
        with their own selectable fields say `field label not supported: x`.
        """
        requirements: list[FieldRequirement] = []
        for term in sorted(_split_terms(text)):
            if not term:
                continue
            split = _split_term(term)
            if split is None:
                raise errors.bad_request(
                    f"invalid selector: '{text}'; can't understand '{term}'")
            field, operator, raw_value = split
            requirements.append(FieldRequirement(field, operator, _unescape(raw_value)))
        for requirement in requirements:
            if requirement.field not in supported:
                raise errors.bad_request(_unsupported_message(requirement.field, supported))
        return cls(requirements)

    @property
    def is_empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(requirement.matches(obj) for requirement in self.requirements)

    def exact_name(self) -> str | None:
        """The name this selector pins with `metadata.name=X` (or `==`), else None."""
        for requirement in self.requirements:
            if requirement.field == "metadata.name" and requirement.operator is not (
                    Operator.NOT_EQUALS):
                return requirement.value
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not escaped with a backslash."""
    if not text:
        return []
    terms: list[str] = []
    start, escaped = 0, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(text[start:index])
            start = index + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, Operator, str] | None:
    for index in range(len(term)):
        for symbol in _FIELD_OPERATORS:
            if term.startswith(symbol, index):
                return term[:index], Operator(symbol), term[index + len(symbol):]
    return None


def _unescape(value: str) -> str:
    if not any(char in value for char in "\\,="):
        return value
    out: list[str] = []
    escaped = False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise errors.bad_request(
                    f"invalid field selector: invalid escape sequence: \\{char}")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            # Kubernetes prints the offending character as its code point here.
            raise errors.bad_request(
                f"invalid field selector: unescaped character in value: {ord(char)}")
        else:
            out.append(char)
    if escaped:
        raise errors.bad_request("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _unsupported_message(field: str, supported: Collection[str]) -> str:
    if set(supported) <= set(DEFAULT_SELECTABLE_FIELDS):
        return (f'"{field}" is not a known field selector: only "metadata.name", '
                f'"metadata.namespace"')
    return f"field label not supported: {field}"

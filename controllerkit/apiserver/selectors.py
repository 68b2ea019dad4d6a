"""Kubernetes label and field selectors, as the `labelSelector` / `fieldSelector` query parameters.

A selector is parsed once per request and then matched against many objects, so parsing compiles
every requirement into a small predicate and `matches` only runs those. Syntax errors raise a
400 `BadRequest` whose message is the one kube-apiserver returns for the same input, so clients
and users see identical errors against both servers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from enum import StrEnum
from typing import Any, Final

from controllerkit.apiserver import errors


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


_BINARY_OPERATORS: Final = ", ".join(
    op.value for op in Operator if op not in (Operator.EXISTS, Operator.DOES_NOT_EXIST)
)

LabelPredicate = Callable[[Mapping[str, str]], bool]


class SelectorError(Exception):
    """A selector that cannot be built; `message` is the text the real server answers."""


# --- validation messages of k8s.io/apimachinery/pkg/util/validation --------------------------

_QUALIFIED_NAME_FMT: Final = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME_RE: Final = re.compile(f"^{_QUALIFIED_NAME_FMT}$")
_LABEL_VALUE_FMT: Final = f"({_QUALIFIED_NAME_FMT})?"
_LABEL_VALUE_RE: Final = re.compile(f"^{_LABEL_VALUE_FMT}$")
_DNS_LABEL_FMT: Final = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN_FMT: Final = f"{_DNS_LABEL_FMT}(\\.{_DNS_LABEL_FMT})*"
_DNS_SUBDOMAIN_RE: Final = re.compile(f"^{_DNS_SUBDOMAIN_FMT}$")
_QUALIFIED_NAME_MSG: Final = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_INTEGER_RE: Final = re.compile(r"^[+-]?[0-9]+$")


def _regex_error(message: str, pattern: str, *examples: str) -> str:
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{pattern}')"


def _label_key_errors(key: str) -> list[str]:
    """Why `key` is not a qualified name (`[prefix/]name`), in the real server's words."""
    parts = key.split("/")
    name = parts[-1]
    found: list[str] = []
    if len(parts) > 2:
        return [
            "a qualified name "
            + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            found.append("prefix part must be non-empty")
        else:
            if len(prefix) > 253:
                found.append("prefix part must be no more than 253 characters")
            if not _DNS_SUBDOMAIN_RE.match(prefix):
                found.append("prefix part " + _regex_error(
                    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                    "characters, '-' or '.', and must start and end with an alphanumeric character",
                    _DNS_SUBDOMAIN_FMT, "example.com"))
    if not name:
        found.append("name part must be non-empty")
    elif len(name) > 63:
        found.append("name part must be no more than 63 characters")
    if not _QUALIFIED_NAME_RE.match(name):
        found.append("name part " + _regex_error(
            _QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc"))
    return found


def _label_value_errors(value: str) -> list[str]:
    found: list[str] = []
    if len(value) > 63:
        found.append("must be no more than 63 characters")
    if not _LABEL_VALUE_RE.match(value):
        found.append(_regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', "
            "'_' or '.', and must start and end with an alphanumeric character",
            _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return found


def _invalid(path: str, shown_value: str, details: list[str]) -> str:
    return f"{path}: Invalid value: {shown_value}: {'; '.join(details)}"


def _go_strings(values: Sequence[str]) -> str:
    """A string list as Go's `%#v` prints it, which the real messages embed."""
    if not values:
        return "[]string(nil)"
    return "[]string{" + ", ".join(json.dumps(v) for v in values) + "}"


def _aggregate(messages: list[str]) -> str:
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


# --- requirements ------------------------------------------------------------------------------

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
        if key_errors := _label_key_errors(key):
            problems.append(_invalid("key", json.dumps(key), key_errors))
        if operator in (Operator.IN, Operator.NOT_IN) and not values:
            problems.append(_invalid("values", _go_strings(values),
                                     ["for 'in', 'notin' operators, values set can't be empty"]))
        elif operator in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS) and (
                len(values) != 1):
            problems.append(_invalid("values", _go_strings(values),
                                     ["exact-match compatibility requires one single value"]))
        elif operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
            problems.append(_invalid("values", _go_strings(values),
                                     ["values set must be empty for exists and does not exist"]))
        elif operator in (Operator.GREATER_THAN, Operator.LESS_THAN):
            if len(values) != 1:
                problems.append(_invalid("values", _go_strings(values), [
                    "for 'Gt', 'Lt' operators, exactly one value is required"]))
            problems.extend(
                _invalid(f"values[{i}]", json.dumps(v),
                         ["for 'Gt', 'Lt' operators, the value must be an integer"])
                for i, v in enumerate(values) if _as_int64(v) is None)
        for i, value in enumerate(values):
            if value_errors := _label_value_errors(value):
                problems.append(_invalid(f"values[{i}][{key}]", json.dumps(value), value_errors))
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


# --- label selector parsing (the grammar of k8s.io/apimachinery/pkg/labels) -------------------

_IDENTIFIER: Final = "identifier"
_END: Final = "end of string"
_SPECIAL_CHARS: Final = frozenset("=!(),<>")
_TWO_CHAR_SYMBOLS: Final = frozenset({"==", "!="})
_KEYWORDS: Final = frozenset({"in", "notin"})
_WHITESPACE: Final = frozenset(" \t\r\n")
_OPERATOR_TOKENS: Final = {
    "in": Operator.IN, "notin": Operator.NOT_IN, "=": Operator.EQUALS,
    "==": Operator.DOUBLE_EQUALS, "!=": Operator.NOT_EQUALS, ">": Operator.GREATER_THAN,
    "<": Operator.LESS_THAN,
}

Token = tuple[str, str]  # (kind, literal); the kind of a symbol or keyword is its own text


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos, size = 0, len(text)
    while True:
        while pos < size and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= size:
            tokens.append((_END, ""))
            return tokens
        if text[pos] in _SPECIAL_CHARS:
            symbol = text[pos:pos + 2] if text[pos:pos + 2] in _TWO_CHAR_SYMBOLS else text[pos]
            tokens.append((symbol, symbol))
            pos += len(symbol)
            continue
        start = pos
        while pos < size and text[pos] not in _SPECIAL_CHARS and text[pos] not in _WHITESPACE:
            pos += 1
        word = text[start:pos]
        tokens.append((word if word in _KEYWORDS else _IDENTIFIER, word))


class _LabelParser:
    """Recursive descent over the token list; `in`/`notin` are plain words where values go."""

    def __init__(self, text: str) -> None:
        self._tokens = _tokenize(text)
        self._pos = 0

    def _peek(self, as_value: bool = True) -> Token:
        return self._as_context(self._tokens[self._pos], as_value)

    def _next(self, as_value: bool = True) -> Token:
        self._pos += 1
        return self._as_context(self._tokens[self._pos - 1], as_value)

    @staticmethod
    def _as_context(token: Token, as_value: bool) -> Token:
        return (_IDENTIFIER, token[1]) if as_value and token[0] in _KEYWORDS else token

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            kind, literal = self._peek()
            if kind == _END:
                return requirements
            if kind not in (_IDENTIFIER, "!"):
                raise SelectorError(
                    f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self._requirement())
            except SelectorError as exc:
                raise SelectorError(f"unable to parse requirement: {exc}") from None
            kind, literal = self._next()
            if kind == _END:
                return requirements
            if kind != ",":
                raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
            kind, literal = self._peek()
            if kind not in (_IDENTIFIER, "!"):
                raise SelectorError(f"found '{literal}', expected: identifier after ','")

    def _requirement(self) -> Requirement:
        negated = False
        kind, key = self._next()
        if kind == "!":
            negated = True
            kind, key = self._next()
        if kind != _IDENTIFIER:
            raise SelectorError(f"found '{key}', expected: identifier")
        if key_errors := _label_key_errors(key):
            raise SelectorError(_invalid("<nil>", json.dumps(key), key_errors))
        if negated:
            return Requirement.create(key, Operator.DOES_NOT_EXIST, ())
        if self._peek()[0] in (_END, ","):
            return Requirement.create(key, Operator.EXISTS, ())
        kind, literal = self._next(as_value=False)
        operator = _OPERATOR_TOKENS.get(kind)
        if operator is None:
            raise SelectorError(f"found '{literal}', expected: {_BINARY_OPERATORS}")
        values = self._value_set() if operator in (Operator.IN, Operator.NOT_IN) else (
            self._exact_value())
        return Requirement.create(key, operator, sorted(values))

    def _value_set(self) -> set[str]:
        kind, literal = self._next()
        if kind != "(":
            raise SelectorError(f"found '{literal}' expected: '('")
        kind, literal = self._peek()
        if kind == ")":
            self._next()
            return {""}
        if kind not in (_IDENTIFIER, ","):
            raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        values: set[str] = set()
        while True:
            kind, literal = self._next()
            if kind == _IDENTIFIER:
                values.add(literal)
                after, after_literal = self._peek()
                if after == ")":
                    self._next()
                    return values
                if after != ",":
                    raise SelectorError(f"found '{after_literal}', expected: ',' or ')'")
            elif kind == ",":
                # An empty slot between commas or parentheses stands for the empty value.
                after = self._peek()[0]
                if not values or after in (",", ")"):
                    values.add("")
                if after == ")":
                    self._next()
                    return values
                if after == ",":
                    self._next()
            else:
                raise SelectorError(f"found '{literal}', expected: ',', or identifier")

    def _exact_value(self) -> set[str]:
        if self._peek()[0] in (_END, ","):
            return {""}
        kind, literal = self._next()
        if kind != _IDENTIFIER:
            raise SelectorError(f"found '{literal}', expected: identifier")
        return {literal}


# --- the selectors -----------------------------------------------------------------------------

_MATCH_EXPRESSION_OPERATORS: Final = {
    "In": Operator.IN, "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS, "DoesNotExist": Operator.DOES_NOT_EXIST,
}


class LabelSelector:
    """An AND of label requirements; the empty selector matches everything."""

    __slots__ = ("_matches_nothing", "_predicates", "requirements")

    def __init__(self, requirements: Sequence[Requirement] = (), *,
                 matches_nothing: bool = False) -> None:
        self.requirements = tuple(sorted(requirements, key=lambda r: r.key))
        self._predicates = tuple(r.predicate for r in self.requirements)
        self._matches_nothing = matches_nothing

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """Parse the `labelSelector` query syntax; a syntax error is a 400 `BadRequest`."""
        try:
            return cls(_LabelParser(text).parse())
        except SelectorError as exc:
            raise errors.bad_request(str(exc)) from None

    @classmethod
    def from_json(cls, selector: Mapping[str, Any] | None) -> LabelSelector:
        """Build from a metav1.LabelSelector (`matchLabels`, `matchExpressions`).

        As in Kubernetes, `None` selects nothing and `{}` selects everything. An invalid
        selector is a 400 `BadRequest` with the message Kubernetes gives for it.
        """
        if selector is None:
            return cls(matches_nothing=True)
        try:
            requirements = [
                Requirement.create(key, Operator.EQUALS, [value])
                for key, value in (selector.get("matchLabels") or {}).items()
            ]
            for expression in selector.get("matchExpressions") or ():
                name = expression.get("operator", "")
                operator = _MATCH_EXPRESSION_OPERATORS.get(name)
                if operator is None:
                    raise SelectorError(
                        f"{json.dumps(name)} is not a valid label selector operator")
                values = list(expression.get("values") or ())
                requirements.append(Requirement.create(expression.get("key", ""), operator, values))
        except SelectorError as exc:
            raise errors.bad_request(str(exc)) from None
        return cls(requirements)

    @property
    def is_empty(self) -> bool:
        """True when the selector restricts nothing (it matches every object)."""
        return not self.requirements and not self._matches_nothing

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self._matches_nothing:
            return False
        return all(predicate(labels) for predicate in self._predicates)

    def matches_object(self, obj: Mapping[str, Any]) -> bool:
        """`matches` on the object's `metadata.labels` (absent labels are no labels)."""
        return self.matches((obj.get("metadata") or {}).get("labels") or {})

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


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
        saying `field label not supported: <field>`.
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
                raise errors.bad_request(f"field label not supported: {requirement.field}")
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

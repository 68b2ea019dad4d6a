"""Label selectors: the `labelSelector` query syntax and metav1.LabelSelector objects.

The query text is tokenized and parsed with the grammar of k8s.io/apimachinery/pkg/labels into
validated requirements; `LabelSelector` ANDs them and matches label maps or objects. Syntax
errors raise a 400 `BadRequest` whose message is the one kube-apiserver returns for the same
input, so clients and users see identical errors against both servers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from controllerkit.apiserver import errors
from controllerkit.apiserver.name_formats import qualified_name_errors
from controllerkit.apiserver.selector_requirements import (
    BINARY_OPERATORS,
    Operator,
    Requirement,
    SelectorError,
    invalid_value,
)

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
_MATCH_EXPRESSION_OPERATORS: Final = {
    "In": Operator.IN, "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS, "DoesNotExist": Operator.DOES_NOT_EXIST,
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
        if key_errors := qualified_name_errors(key):
            raise SelectorError(invalid_value("<nil>", json.dumps(key), key_errors))
        if negated:
            return Requirement.create(key, Operator.DOES_NOT_EXIST, ())
        if self._peek()[0] in (_END, ","):
            return Requirement.create(key, Operator.EXISTS, ())
        kind, literal = self._next(as_value=False)
        operator = _OPERATOR_TOKENS.get(kind)
        if operator is None:
            raise SelectorError(f"found '{literal}', expected: {BINARY_OPERATORS}")
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

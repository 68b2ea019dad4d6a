"""Who is calling (client certificates, bearer tokens) and what they may do (rules per identity).

Without a tokens file the server is open: every request, with or without a token, acts as the
identity `admin`, allowed everything. With a tokens file, every request must carry
`Authorization: Bearer <token>` naming one of its identities, or a verified client certificate
(401 `Unauthorized` otherwise), and resource requests must be allowed by one of that
identity's rules (403 `Forbidden` otherwise, with the message the real API server gives).

A client certificate is tried first, as on a real server: its common name is the user, its
organizations the groups (see `client_certificates`), and the user gets the rules of the
identity of that name in the tokens file, if there is one. Like RBAC, which binds rules to
user names, the file's `groups` do not apply to it: only the certificate says which groups a
certificate user is in.

Tokens file (YAML)::

    identities:
      - name: admin                       # required, unique; the user name in messages
        token: "s3cret"                   # required, unique, no whitespace; quote it
        groups: [system:masters]          # optional; system:masters is allowed everything
        rules:                            # optional; no rules means no access
          - verbs: ["*"]                  # get list watch create update patch delete
                                          # deletecollection, or "*"
            apiGroups: ["*"]              # "" is the core group (configmaps, namespaces...)
            resources: ["*"]              # "widgets", "widgets/status", "*/status", "*"
            namespaces: ["*"]             # optional, default every namespace and the cluster
                                          # scope; cluster-scoped requests (and lists across
                                          # all namespaces) need "" or "*"
            resourceNames: []             # optional, default every name; when set, requests
                                          # without a name (list, create) do not match
      - name: widget-controller
        token: "t2"
        rules:
          - {verbs: [get, list, watch], apiGroups: [example.com], resources: [widgets]}
          - {verbs: [update, patch], apiGroups: [example.com], resources: [widgets/status]}

Matching follows Kubernetes RBAC: a rule allows a request when the verb, API group, resource,
namespace and name each match. `widgets` does not cover `widgets/status`; `*` covers every
resource and subresource; `*/status` covers the status subresource of every resource.
Non-resource paths (`/version`, `/api`, `/apis`, `/openapi/...`) are open to every
authenticated identity.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from controllerkit.apiserver.client_certificates import CertificateUser
from controllerkit.apiserver.errors import forbidden, qualified, unauthorized
from controllerkit.apiserver.resources import ALL_VERBS

WILDCARD = "*"
# Members are allowed every request whatever their rules, as on a real cluster.
MASTERS_GROUP = "system:masters"
ALLOW_ALL_IDENTITY_NAME = "admin"


@dataclass(frozen=True)
class Attributes:
    """A resource request as authorisation sees it.

    `namespace` is "" for cluster-scoped resources and for lists or watches across all
    namespaces, except that a request on one Namespace object carries that Namespace's name
    (as on the real server, so namespace-restricted rules can grant it); `name` is "" for
    list, watch, deletecollection and create requests that name no object; `subresource` is
    e.g. "status", or "".
    """

    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""


@dataclass(frozen=True)
class Rule:
    """One grant. `namespaces` None means every namespace and the cluster scope; an empty
    `resource_names` means every name."""

    verbs: tuple[str, ...]
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    namespaces: tuple[str, ...] | None = None
    resource_names: tuple[str, ...] = ()

    def allows(self, attrs: Attributes) -> bool:
        return (
            _matches(self.verbs, attrs.verb)
            and _matches(self.api_groups, attrs.group)
            and self._matches_resource(attrs)
            and (self.namespaces is None or _matches(self.namespaces, attrs.namespace))
            and (not self.resource_names or attrs.name in self.resource_names)
        )

    def _matches_resource(self, attrs: Attributes) -> bool:
        requested = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        for granted in self.resources:
            if granted in (WILDCARD, requested):
                return True
            if attrs.subresource and granted == f"{WILDCARD}/{attrs.subresource}":
                return True
        return False


EVERYTHING = Rule(verbs=(WILDCARD,), api_groups=(WILDCARD,), resources=(WILDCARD,))


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: its user name, groups, and the rules granting it access."""

    name: str
    groups: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()


class AccessPolicy:
    """Authentication by bearer token and authorisation by the caller's rules."""

    def __init__(
        self, identities: Sequence[tuple[str, Identity]], *, open_as: Identity | None = None
    ) -> None:
        """`identities` pairs each token with the identity it authenticates, in file order.

        With `open_as`, every request is that identity whatever token it carries (the mode
        without a tokens file). Raises ValueError on a duplicate token.
        """
        self._open_as = open_as
        self._first_token = identities[0][0] if identities else None
        self._first_identity = identities[0][1] if identities else open_as
        self._rules_by_name = {identity.name: identity.rules for _, identity in identities}
        # Keyed by digest: the lookup's timing depends on the hash of the presented token, not
        # on how many leading characters it shares with a real one, so it leaks nothing usable.
        self._by_digest: dict[bytes, Identity] = {}
        for token, identity in identities:
            digest = _digest(token)
            if digest in self._by_digest:
                raise ValueError(f"identity {identity.name!r} reuses another identity's token")
            self._by_digest[digest] = identity

    @classmethod
    def allow_all(cls) -> AccessPolicy:
        """No tokens file: any or no token is accepted as `admin`, allowed everything."""
        admin = Identity(ALLOW_ALL_IDENTITY_NAME, groups=(MASTERS_GROUP,), rules=(EVERYTHING,))
        return cls([], open_as=admin)

    @classmethod
    def from_file(cls, path: Path) -> AccessPolicy:
        """Read a tokens file (format in the module docstring).

        Raises ValueError naming the file, the entry and the problem when it is not valid YAML
        or does not follow the format; OSError when it cannot be read.
        """
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from exc
        return cls(parse_tokens_document(document, source=str(path)))

    def authenticate(
        self, authorization: str | None, certificate: CertificateUser | None = None
    ) -> Identity:
        """The identity of a request: its client certificate's user when it presented a
        verified one, else the identity its `Authorization` header (`Bearer <token>`) names.

        Raises 401 `Unauthorized` when there is no certificate user and the header is
        missing, not a bearer token, or names no identity (never in allow-all mode).
        """
        if self._open_as is not None:
            return self._open_as
        if certificate is not None:
            return Identity(certificate.name, groups=certificate.groups,
                            rules=self._rules_by_name.get(certificate.name, ()))
        token = _bearer_token(authorization)
        identity = self._by_digest.get(_digest(token)) if token else None
        if identity is None:
            raise unauthorized()
        return identity

    def authorize(self, identity: Identity, attrs: Attributes) -> None:
        """Return if `identity` may make the request; raise 403 `Forbidden` otherwise."""
        if MASTERS_GROUP in identity.groups:
            return
        if any(rule.allows(attrs) for rule in identity.rules):
            return
        raise forbidden(
            forbidden_message(identity, attrs),
            plural=attrs.resource,
            group=attrs.group,
            name=attrs.name,
        )

    def authorize_non_resource(self, identity: Identity, path: str) -> None:
        """Non-resource paths (discovery, version, OpenAPI) are open to any authenticated
        identity; the hook exists so callers need not change if that is ever restricted."""
        return None

    def first_token(self) -> str | None:
        """The first identity's token (for the kubeconfig the server writes); None when the
        policy has no tokens (allow-all mode)."""
        return self._first_token

    def first_identity(self) -> Identity:
        """The identity the server's own kubeconfig authenticates as: the first of the tokens
        file, or `admin` in allow-all mode."""
        assert self._first_identity is not None  # a policy has identities or is open
        return self._first_identity


def forbidden_message(identity: Identity, attrs: Attributes) -> str:
    """The real API server's denial text, e.g. `widgets.example.com "w1" is forbidden: User
    "bob" cannot patch resource "widgets/status" in API group "example.com" in the namespace
    "default"` (`at the cluster scope` without a namespace; no quoted name without a name)."""
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    scope = (
        f"in the namespace {_go_quote(attrs.namespace)}"
        if attrs.namespace
        else "at the cluster scope"
    )
    reason = (
        f"User {_go_quote(identity.name)} cannot {attrs.verb} resource {_go_quote(resource)} "
        f"in API group {_go_quote(attrs.group)} {scope}"
    )
    target = qualified(attrs.resource, attrs.group)
    if attrs.name:
        target = f"{target} {_go_quote(attrs.name)}"
    return f"{target} is forbidden: {reason}"


_IDENTITY_KEYS = ("name", "token", "groups", "rules")
_RULE_KEYS = ("verbs", "apiGroups", "resources", "namespaces", "resourceNames")
_KNOWN_VERBS = (*ALL_VERBS, WILDCARD)


def parse_tokens_document(document: object, *, source: str) -> list[tuple[str, Identity]]:
    """The (token, identity) pairs of a parsed tokens file; ValueError prefixed with `source`
    and the entry's position (`identities[1].rules[0]`) when anything is wrong."""
    top = _mapping(document, source, allowed=("identities",), required=("identities",))
    entries = top["identities"]
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{source}: identities: must be a non-empty list")
    pairs: list[tuple[str, Identity]] = []
    owners_by_token: dict[str, str] = {}
    names: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"{source}: identities[{index}]"
        token, identity = _parse_identity(entry, where)
        if identity.name in names:
            raise ValueError(f"{where}: duplicate name {identity.name!r}")
        if token in owners_by_token:
            raise ValueError(
                f"{where}: duplicate token (already used by {owners_by_token[token]!r})"
            )
        names.add(identity.name)
        owners_by_token[token] = identity.name
        pairs.append((token, identity))
    return pairs


def _parse_identity(entry: object, where: str) -> tuple[str, Identity]:
    fields = _mapping(entry, where, allowed=_IDENTITY_KEYS, required=("name", "token"))
    name = _string(fields["name"], f"{where}.name")
    token = _string(fields["token"], f"{where}.token")
    if any(ch.isspace() for ch in token):
        raise ValueError(f"{where}.token: must not contain whitespace")
    groups = _strings(fields.get("groups", []), f"{where}.groups", allow_empty=True)
    raw_rules = fields.get("rules", [])
    if not isinstance(raw_rules, list):
        raise ValueError(f"{where}.rules: must be a list")
    rules = tuple(_parse_rule(rule, f"{where}.rules[{i}]") for i, rule in enumerate(raw_rules))
    return token, Identity(name=name, groups=groups, rules=rules)


def _parse_rule(entry: object, where: str) -> Rule:
    fields = _mapping(
        entry, where, allowed=_RULE_KEYS, required=("verbs", "apiGroups", "resources")
    )
    verbs = _strings(fields["verbs"], f"{where}.verbs")
    for verb in verbs:
        if verb not in _KNOWN_VERBS:
            raise ValueError(
                f"{where}.verbs: unknown verb {verb!r} (expected one of {', '.join(_KNOWN_VERBS)})"
            )
    api_groups = _strings(fields["apiGroups"], f"{where}.apiGroups", allow_blank=True)
    resources = _strings(fields["resources"], f"{where}.resources")
    for resource in resources:
        _check_resource_pattern(resource, f"{where}.resources")
    namespaces = (
        _strings(fields["namespaces"], f"{where}.namespaces", allow_blank=True)
        if "namespaces" in fields
        else None
    )
    resource_names = _strings(
        fields.get("resourceNames", []), f"{where}.resourceNames", allow_empty=True
    )
    return Rule(verbs, api_groups, resources, namespaces, resource_names)


def _check_resource_pattern(resource: str, where: str) -> None:
    """Accept `*`, `plural`, `plural/subresource` and `*/subresource`, as RBAC does."""
    parts = resource.split("/")
    problem = ""
    if len(parts) > 2 or not all(parts):
        problem = "expected 'plural', 'plural/subresource', '*/subresource' or '*'"
    elif len(parts) == 2 and parts[1] == WILDCARD:
        problem = "a subresource wildcard matches nothing; list subresources explicitly"
    elif len(parts) == 1 and WILDCARD in resource and resource != WILDCARD:
        problem = "only '*' on its own is a wildcard"
    if problem:
        raise ValueError(f"{where}: {resource!r}: {problem}")


def _mapping(
    value: object, where: str, *, allowed: Iterable[str], required: Iterable[str]
) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: must be a mapping")
    allowed_keys = tuple(allowed)
    for key in value:
        if key not in allowed_keys:
            raise ValueError(
                f"{where}: unknown key {key!r} (expected one of {', '.join(allowed_keys)})"
            )
    for key in required:
        if key not in value:
            raise ValueError(f"{where}: missing required key {key!r}")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"{where}: must be a non-empty string (quote values YAML reads as numbers or booleans)"
        )
    return value


def _strings(
    value: object, where: str, *, allow_empty: bool = False, allow_blank: bool = False
) -> tuple[str, ...]:
    """A list of strings; `allow_empty` permits `[]`, `allow_blank` permits `""` items."""
    if not isinstance(value, list):
        raise ValueError(f"{where}: must be a list")
    if not value and not allow_empty:
        raise ValueError(f"{where}: must not be empty")
    for item in value:
        if not isinstance(item, str) or (not item and not allow_blank):
            raise ValueError(f"{where}: {item!r} is not a non-empty string")
    return tuple(value)


def _matches(granted: tuple[str, ...], requested: str) -> bool:
    return WILDCARD in granted or requested in granted


def _bearer_token(authorization: str | None) -> str:
    """The token of `Bearer <token>` (scheme case-insensitive), or "" when there is none."""
    if not authorization:
        return ""
    parts = authorization.strip().split(" ", 2)
    if len(parts) < 2 or parts[0].lower() != "bearer":
        return ""
    return parts[1]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _go_quote(text: str) -> str:
    """Quote like Go's %q for the printable text names and groups consist of."""
    return json.dumps(text, ensure_ascii=False)

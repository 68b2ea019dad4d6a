from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from controllerkit.apiserver.auth import (
    AccessPolicy,
    Attributes,
    Identity,
    Rule,
    forbidden_message,
)
from controllerkit.apiserver.errors import StatusError

TOKENS_FILE = """
identities:
  - name: admin
    token: "s3cret"
    groups: [system:masters]
    rules:
      - verbs: ["*"]
        apiGroups: ["*"]
        resources: ["*"]
        namespaces: ["*"]
        resourceNames: []
  - name: widget-controller
    token: "t2"
    rules:
      - {verbs: [get, list, watch], apiGroups: [example.com], resources: [widgets]}
      - {verbs: [update, patch], apiGroups: [example.com], resources: [widgets/status]}
  - name: nobody
    token: "t3"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tokens.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def policy(tmp_path: Path) -> AccessPolicy:
    return AccessPolicy.from_file(write(tmp_path, TOKENS_FILE))


def widgets(
    verb: str, subresource: str = "", namespace: str = "default", name: str = "w1"
) -> Attributes:
    return Attributes(verb, "example.com", "widgets", subresource, namespace, name)


# authentication


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer s3cret", "admin"),
        ("Bearer t2", "widget-controller"),
        ("bearer t2", "widget-controller"),
        ("  Bearer t2  ", "widget-controller"),
    ],
)
def test_known_bearer_token_authenticates_its_identity(
    policy: AccessPolicy, header: str, expected: str
) -> None:
    assert policy.authenticate(header).name == expected


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Bearer wrong", "Basic s3cret", "s3cret", "Bearer  s3cret"],
)
def test_missing_or_unknown_token_is_unauthorized(policy: AccessPolicy, header: str | None) -> None:
    with pytest.raises(StatusError) as caught:
        policy.authenticate(header)
    assert caught.value.to_status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


@pytest.mark.parametrize("header", [None, "", "Bearer anything", "Basic x"])
def test_allow_all_accepts_any_or_no_token_as_admin(header: str | None) -> None:
    policy = AccessPolicy.allow_all()
    identity = policy.authenticate(header)
    assert identity.name == "admin"
    policy.authorize(identity, Attributes("delete", "", "namespaces", name="kube-system"))
    policy.authorize(identity, widgets("patch", "status"))


def test_first_token_is_the_first_identity_in_the_file(policy: AccessPolicy) -> None:
    assert policy.first_token() == "s3cret"
    assert AccessPolicy.allow_all().first_token() is None


def test_non_resource_paths_are_open_to_any_authenticated_identity(
    policy: AccessPolicy,
) -> None:
    nobody = policy.authenticate("Bearer t3")
    for path in ("/version", "/api", "/apis", "/openapi/v2"):
        policy.authorize_non_resource(nobody, path)


# authorisation


@pytest.mark.parametrize(
    ("attrs", "allowed"),
    [
        (widgets("get"), True),
        (widgets("list", name=""), True),
        (widgets("watch", namespace="", name=""), True),
        (widgets("patch", "status"), True),
        (widgets("update", "status"), True),
        (widgets("patch"), False),
        (widgets("update"), False),
        (widgets("create", name=""), False),
        (widgets("get", "status"), False),
        (widgets("delete"), False),
        (Attributes("get", "other.com", "widgets", "", "default", "w1"), False),
        (Attributes("get", "example.com", "gadgets", "", "default", "g1"), False),
        (Attributes("get", "", "configmaps", "", "default", "c1"), False),
    ],
)
def test_rules_grant_exactly_the_listed_verbs_and_resources(
    policy: AccessPolicy, attrs: Attributes, allowed: bool
) -> None:
    identity = policy.authenticate("Bearer t2")
    if allowed:
        policy.authorize(identity, attrs)
    else:
        with pytest.raises(StatusError) as caught:
            policy.authorize(identity, attrs)
        assert (caught.value.code, caught.value.reason) == (403, "Forbidden")


@pytest.mark.parametrize(
    ("rule", "attrs", "allowed"),
    [
        # "*" covers subresources; a plain resource does not.
        (Rule(("*",), ("*",), ("*",)), widgets("patch", "status"), True),
        (Rule(("*",), ("*",), ("widgets",)), widgets("patch", "status"), False),
        # "*/status" covers any resource's status, but not the resource itself.
        (Rule(("*",), ("*",), ("*/status",)), widgets("patch", "status"), True),
        (Rule(("*",), ("*",), ("*/status",)), widgets("patch"), False),
        (Rule(("*",), ("*",), ("*/scale",)), widgets("patch", "status"), False),
        # The core group is "".
        (Rule(("get",), ("",), ("configmaps",)), Attributes("get", "", "configmaps"), True),
        (Rule(("get",), ("",), ("configmaps",)), widgets("get"), False),
        # Namespaces: default all; a list excludes other namespaces and the cluster scope.
        (Rule(("get",), ("*",), ("*",), ("team",)), widgets("get", namespace="team"), True),
        (Rule(("get",), ("*",), ("*",), ("team",)), widgets("get"), False),
        (Rule(("list",), ("*",), ("*",), ("team",)), widgets("list", namespace=""), False),
        (Rule(("list",), ("*",), ("*",), ("",)), widgets("list", namespace=""), True),
        (Rule(("list",), ("*",), ("*",), ("*",)), widgets("list", namespace=""), True),
        (Rule(("list",), ("*",), ("*",)), widgets("list", namespace=""), True),
        # resourceNames: only the named objects; requests without a name do not match.
        (Rule(("get",), ("*",), ("*",), None, ("w1",)), widgets("get"), True),
        (Rule(("get",), ("*",), ("*",), None, ("w1",)), widgets("get", name="w2"), False),
        (Rule(("list",), ("*",), ("*",), None, ("w1",)), widgets("list", name=""), False),
    ],
)
def test_rule_matching_follows_rbac(rule: Rule, attrs: Attributes, allowed: bool) -> None:
    assert rule.allows(attrs) is allowed


def test_masters_group_is_allowed_without_rules() -> None:
    policy = AccessPolicy([("t", Identity("root", groups=("system:masters",)))])
    policy.authorize(policy.authenticate("Bearer t"), widgets("delete"))


def test_identity_without_rules_is_forbidden_everything(policy: AccessPolicy) -> None:
    with pytest.raises(StatusError):
        policy.authorize(policy.authenticate("Bearer t3"), widgets("get"))


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        (
            widgets("patch", "status"),
            'widgets.example.com "w1" is forbidden: User "widget-controller" cannot patch '
            'resource "widgets/status" in API group "example.com" in the namespace "default"',
        ),
        (
            widgets("create", name=""),
            'widgets.example.com is forbidden: User "widget-controller" cannot create '
            'resource "widgets" in API group "example.com" in the namespace "default"',
        ),
        (
            widgets("delete", namespace="", name=""),
            'widgets.example.com is forbidden: User "widget-controller" cannot delete '
            'resource "widgets" in API group "example.com" at the cluster scope',
        ),
        (
            Attributes("get", "apiextensions.k8s.io", "customresourcedefinitions", "", "", "w"),
            'customresourcedefinitions.apiextensions.k8s.io "w" is forbidden: User '
            '"widget-controller" cannot get resource "customresourcedefinitions" in API group '
            '"apiextensions.k8s.io" at the cluster scope',
        ),
        # Like the real server, a request for one Namespace carries its name as namespace.
        (
            Attributes("get", "", "namespaces", "", "kube-system", "kube-system"),
            'namespaces "kube-system" is forbidden: User "widget-controller" cannot get '
            'resource "namespaces" in API group "" in the namespace "kube-system"',
        ),
    ],
)
def test_forbidden_message_matches_the_real_api_server(attrs: Attributes, message: str) -> None:
    assert forbidden_message(Identity("widget-controller"), attrs) == message


def test_forbidden_status_names_the_resource_group_and_object(policy: AccessPolicy) -> None:
    with pytest.raises(StatusError) as caught:
        policy.authorize(policy.authenticate("Bearer t2"), widgets("patch"))
    status = caught.value.to_status()
    assert status["code"] == 403
    assert status["reason"] == "Forbidden"
    assert status["details"] == {"name": "w1", "group": "example.com", "kind": "widgets"}


# tokens file validation


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("identities: []", r"identities: must be a non-empty list"),
        ("users: []", r"unknown key 'users'"),
        ("- a", r"must be a mapping"),
        ("identities: [{token: t}]", r"identities\[0\]: missing required key 'name'"),
        ("identities: [{name: a}]", r"identities\[0\]: missing required key 'token'"),
        ("identities: [{name: a, token: 123}]", r"identities\[0\]\.token: must be a non-empty"),
        ("identities: [{name: a, token: 'a b'}]", r"token: must not contain whitespace"),
        ("identities: [{name: a, token: t, role: x}]", r"identities\[0\]: unknown key 'role'"),
        (
            "identities: [{name: a, token: t}, {name: b, token: t}]",
            r"identities\[1\]: duplicate token \(already used by 'a'\)",
        ),
        (
            "identities: [{name: a, token: t}, {name: a, token: u}]",
            r"identities\[1\]: duplicate name 'a'",
        ),
        (
            "identities: [{name: a, token: t, rules: [{verbs: [get], apiGroups: ['']}]}]",
            r"identities\[0\]\.rules\[0\]: missing required key 'resources'",
        ),
        (
            "identities: [{name: a, token: t, rules: [{verbs: [gte], apiGroups: [''], "
            "resources: [x]}]}]",
            r"rules\[0\]\.verbs: unknown verb 'gte'",
        ),
        (
            "identities: [{name: a, token: t, rules: [{verb: [get], apiGroups: [''], "
            "resources: [x]}]}]",
            r"rules\[0\]: unknown key 'verb'",
        ),
        (
            "identities: [{name: a, token: t, rules: [{verbs: [], apiGroups: [''], "
            "resources: [x]}]}]",
            r"rules\[0\]\.verbs: must not be empty",
        ),
        (
            "identities: [{name: a, token: t, rules: [{verbs: [get], apiGroups: [''], "
            "resources: [widgets/*]}]}]",
            r"'widgets/\*': a subresource wildcard matches nothing",
        ),
        (
            "identities: [{name: a, token: t, rules: [{verbs: [get], apiGroups: [''], "
            "resources: [wid*]}]}]",
            r"only '\*' on its own is a wildcard",
        ),
        ("identities: [{name: a, token: t, groups: admins}]", r"groups: must be a list"),
        ("identities: [\n  - name: a\n  token: t", r"not valid YAML"),
    ],
)
def test_invalid_tokens_file_names_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=problem) as caught:
        AccessPolicy.from_file(path)
    assert str(caught.value).startswith(str(path))


def test_error_for_duplicate_token_does_not_reveal_the_token(tmp_path: Path) -> None:
    path = write(tmp_path, "identities: [{name: a, token: hunter2}, {name: b, token: hunter2}]")
    with pytest.raises(ValueError) as caught:
        AccessPolicy.from_file(path)
    assert "hunter2" not in str(caught.value)


def test_parsed_rules_keep_the_file_contents(policy: AccessPolicy) -> None:
    assert policy.authenticate("Bearer t2") == Identity(
        "widget-controller",
        groups=(),
        rules=(
            Rule(("get", "list", "watch"), ("example.com",), ("widgets",)),
            Rule(("update", "patch"), ("example.com",), ("widgets/status",)),
        ),
    )
    admin = policy.authenticate("Bearer s3cret")
    assert admin.groups == ("system:masters",)
    assert admin.rules == (Rule(("*",), ("*",), ("*",), ("*",), ()),)


def test_duplicate_token_is_rejected_when_built_directly() -> None:
    with pytest.raises(ValueError, match="reuses"):
        AccessPolicy([("t", Identity("a")), ("t", Identity("b"))])

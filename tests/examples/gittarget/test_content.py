"""What a GitTarget writes: file paths, sanitised YAML, encrypted Secrets, bootstrap files."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from examples.gittarget.content import (
    ENCRYPTION_CONFIG_FILE,
    README_FILE,
    EncryptionError,
    ObjectRef,
    SecretRenderer,
    bootstrap_files,
    commit_message,
    content_equivalence,
    decrypt_secret,
    generate_identity,
    object_path,
    object_ref_from_path,
    recipient_of,
    recipients_hash,
    render,
    render_secret,
    render_yaml,
    sanitize,
    validate_recipients,
)
from examples.gittarget.decrypt import main as decrypt_main
from examples.gittarget.manifest import LAST_APPLIED_ANNOTATION


def config_map(name: str = "app", namespace: str | None = "default", **data: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def secret(name: str = "db", **string_data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "default"},
        "type": "Opaque",
        "data": {"password": base64.b64encode(b"correct horse battery").decode()},
        "stringData": dict(string_data),
    }


@pytest.mark.parametrize(
    ("obj", "plural", "expected"),
    [
        (config_map(), "configmaps", "clusters/prod/v1/configmaps/default/app.yaml"),
        (
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop"},
            },
            "deployments",
            "clusters/prod/apps/v1/deployments/shop/web.yaml",
        ),
        (
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "reader"},
            },
            "clusterroles",
            "clusters/prod/rbac.authorization.k8s.io/v1/clusterroles/reader.yaml",
        ),
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
            "namespaces",
            "clusters/prod/v1/namespaces/shop.yaml",
        ),
        (secret(), "secrets", "clusters/prod/v1/secrets/default/db.sops.yaml"),
    ],
)
def test_object_path_follows_the_layout(obj: dict[str, Any], plural: str, expected: str) -> None:
    assert object_path(obj, plural, "/clusters/prod/") == expected


@pytest.mark.parametrize(
    "path",
    [
        "clusters/prod/v1/configmaps/default/app.yaml",
        "clusters/prod/apps/v1/deployments/shop/web.yaml",
        "clusters/prod/rbac.authorization.k8s.io/v1/clusterroles/reader.yaml",
        "clusters/prod/v1/namespaces/shop.yaml",
        "clusters/prod/v1/secrets/default/db.sops.yaml",
    ],
)
def test_a_path_names_the_object_it_mirrors(path: str) -> None:
    ref = object_ref_from_path(path, "clusters/prod")
    assert ref is not None
    group_version = f"{ref.group}/{ref.version}" if ref.group else ref.version
    obj = {
        "apiVersion": group_version,
        "kind": "Secret" if path.endswith(".sops.yaml") else "Other",
        "metadata": {"name": ref.name, "namespace": ref.namespace},
    }
    assert object_path(obj, ref.plural, "clusters/prod") == path


@pytest.mark.parametrize(
    "path",
    [
        f"clusters/prod/{README_FILE}",
        f"clusters/prod/{ENCRYPTION_CONFIG_FILE}",
        "clusters/prod/notes.txt",
        "clusters/staging/v1/configmaps/default/app.yaml",
        "clusters/prod/v1/a/b/c/d.yaml",
    ],
)
def test_files_that_are_not_mirrored_objects_have_no_object(path: str) -> None:
    assert object_ref_from_path(path, "clusters/prod") is None


def test_the_repository_root_is_a_valid_target_path() -> None:
    assert object_path(config_map(), "configmaps", "") == "v1/configmaps/default/app.yaml"
    assert object_ref_from_path("v1/configmaps/default/app.yaml", "/") == ObjectRef(
        "", "v1", "configmaps", "default", "app"
    )


@pytest.mark.parametrize("target_path", ["../elsewhere", "clusters/../../x", "a//b"])
def test_target_paths_cannot_escape_or_alias(target_path: str) -> None:
    with pytest.raises(ValueError, match="segments"):
        object_path(config_map(), "configmaps", target_path)


def test_names_that_are_not_path_segments_are_refused() -> None:
    with pytest.raises(ValueError, match="file path"):
        object_path(config_map(name="../../etc"), "configmaps", "x")


def test_commit_message_names_operation_and_object() -> None:
    ref = ObjectRef("apps", "v1", "deployments", "shop", "web")
    assert commit_message("UPDATE", ref) == "[UPDATE] apps/v1/deployments/web"
    core = ObjectRef("", "v1", "configmaps", "default", "app")
    assert commit_message("CREATE", core) == "[CREATE] v1/configmaps/app"


def test_sanitize_drops_cluster_assigned_state() -> None:
    obj = config_map(key="value")
    obj["metadata"].update(
        {
            "uid": "6a1f",
            "resourceVersion": "42",
            "generation": 3,
            "creationTimestamp": "2024-01-01T00:00:00Z",
            "managedFields": [{"manager": "kubectl"}],
            "selfLink": "/api/v1/namespaces/default/configmaps/app",
            "finalizers": ["example.com/cleanup"],
            "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "9"}],
            "labels": {"app": "web"},
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": '{"data":{"key":"value"}}',
                "team": "payments",
            },
        }
    )
    obj["status"] = {"phase": "Active"}
    original = yaml.safe_dump(obj)

    clean = sanitize(obj)

    assert clean == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "app",
            "namespace": "default",
            "labels": {"app": "web"},
            "annotations": {"team": "payments"},
        },
        "data": {"key": "value"},
    }
    assert yaml.safe_dump(obj) == original, "the input is not modified"


def test_sanitize_omits_empty_labels_and_annotations() -> None:
    obj = config_map()
    obj["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{}"}
    obj["metadata"]["labels"] = {}
    assert sanitize(obj)["metadata"] == {"name": "app", "namespace": "default"}


def test_render_yaml_is_independent_of_key_order() -> None:
    forward = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "labels": {"x": "1", "y": "2"}},
        "data": {"b": "2", "a": "1"},
    }
    backward = {
        "data": {"a": "1", "b": "2"},
        "metadata": {"labels": {"y": "2", "x": "1"}, "name": "a"},
        "kind": "ConfigMap",
        "apiVersion": "v1",
    }
    rendered = render_yaml(forward)
    assert rendered == render_yaml(backward)
    assert rendered.decode().splitlines()[:3] == ["apiVersion: v1", "kind: ConfigMap", "metadata:"]
    assert yaml.safe_load(rendered) == forward


def test_multi_line_values_are_literal_blocks() -> None:
    rendered = render_yaml(config_map(script="echo one\necho two\n")).decode()
    assert "script: |\n    echo one\n    echo two\n" in rendered
    assert yaml.safe_load(rendered)["data"]["script"] == "echo one\necho two\n"


def test_render_writes_sanitised_yaml_at_the_object_path() -> None:
    obj = config_map(key="value")
    obj["metadata"]["resourceVersion"] = "7"
    rendered = render(obj, "configmaps", "mirror", None)
    assert rendered is not None
    assert rendered.path == "mirror/v1/configmaps/default/app.yaml"
    assert yaml.safe_load(rendered.content) == sanitize(obj)


@pytest.mark.parametrize("recipients", [None, []])
def test_a_secret_without_recipients_is_never_rendered(recipients: list[str] | None) -> None:
    assert render(secret(token="s3cr3t-token"), "secrets", "mirror", recipients) is None


def test_an_encrypted_secret_keeps_its_structure_and_hides_its_values() -> None:
    identity, recipient = generate_identity()
    obj = secret(token="s3cr3t-token")
    applied = '{"stringData":{"token":"s3cr3t-token"}}'
    obj["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: applied}

    rendered = render(obj, "secrets", "mirror", [recipient])

    assert rendered is not None
    assert rendered.path == "mirror/v1/secrets/default/db.sops.yaml"
    for plaintext in (b"s3cr3t-token", b"correct horse battery", obj["data"]["password"].encode()):
        assert plaintext not in rendered.content
    document = yaml.safe_load(rendered.content)
    assert document["metadata"] == {"name": "db", "namespace": "default"}
    assert set(document["data"]) == {"password"}
    assert set(document["stringData"]) == {"token"}
    assert document["stringData"]["token"].startswith("ENC[AES256_GCM,")
    assert document["encryption"]["recipients"] == [recipient]
    assert decrypt_secret(rendered.content, identity) == sanitize(obj)


def test_every_recipient_can_decrypt() -> None:
    first_identity, first = generate_identity()
    second_identity, second = generate_identity()
    content = render_secret(secret(token="shared"), [first, second])
    for identity in (first_identity, second_identity):
        assert decrypt_secret(content, identity)["stringData"] == {"token": "shared"}


def test_an_identity_that_is_not_a_recipient_cannot_decrypt() -> None:
    _, recipient = generate_identity()
    stranger, _ = generate_identity()
    content = render_secret(secret(token="x"), [recipient])
    with pytest.raises(EncryptionError, match="recipients"):
        decrypt_secret(content, stranger)


def test_altered_files_are_detected() -> None:
    identity, recipient = generate_identity()
    content = render_secret(secret(first="one", second="two"), [recipient])
    document = yaml.safe_load(content)
    values = document["stringData"]

    swapped = dict(document, stringData={"first": values["second"], "second": values["first"]})
    with pytest.raises(EncryptionError, match="altered or moved"):
        decrypt_secret(yaml.safe_dump(swapped).encode(), identity)

    dropped = dict(document, stringData={"first": values["first"]})
    with pytest.raises(EncryptionError, match="mac"):
        decrypt_secret(yaml.safe_dump(dropped).encode(), identity)


def test_the_same_secret_renders_to_the_same_bytes_and_a_change_to_new_ones() -> None:
    _, recipient = generate_identity()
    renderer = SecretRenderer()
    first = renderer.render(secret(token="a"), [recipient])
    assert renderer.render(secret(token="a"), [recipient]) == first
    assert renderer.render(secret(token="b"), [recipient]) != first


def test_equivalence_recognises_a_fresh_encryption_of_the_same_secret() -> None:
    identity, recipient = generate_identity()
    path = "mirror/v1/secrets/default/db.sops.yaml"
    before_restart = SecretRenderer().render(secret(token="a"), [recipient])
    after_restart = SecretRenderer().render(secret(token="a"), [recipient])
    changed = SecretRenderer().render(secret(token="b"), [recipient])
    assert before_restart != after_restart

    assert content_equivalence(identity)(path, before_restart, after_restart)
    assert not content_equivalence(identity)(path, before_restart, changed)
    assert not content_equivalence(None)(path, before_restart, after_restart)


def test_equivalence_requires_the_same_recipients() -> None:
    identity, recipient = generate_identity()
    _, other = generate_identity()
    path = "mirror/v1/secrets/default/db.sops.yaml"
    one = render_secret(secret(token="a"), [recipient])
    two = render_secret(secret(token="a"), [recipient, other])
    assert not content_equivalence(identity)(path, one, two)


def test_invalid_recipients_are_reported_and_refused() -> None:
    _, good = generate_identity()
    assert validate_recipients([good, "age1nothing", "ssh-rsa AAAA"]) == [
        "age1nothing",
        "ssh-rsa AAAA",
    ]
    with pytest.raises(EncryptionError, match="age1nothing"):
        render_secret(secret(token="x"), [good, "age1nothing"])


def test_recipients_hash_ignores_order_and_duplicates() -> None:
    _, first = generate_identity()
    _, second = generate_identity()
    assert recipients_hash([first, second]) == recipients_hash([second, first, first])
    assert recipients_hash([first]) != recipients_hash([first, second])
    assert recipients_hash([first]).startswith("sha256:")


def test_a_generated_identity_matches_its_recipient() -> None:
    identity, recipient = generate_identity()
    assert identity.startswith("AGE-SECRET-KEY-1")
    assert recipient.startswith("age1")
    assert recipient_of(identity) == recipient
    assert validate_recipients([recipient]) == []


def test_bootstrap_files_describe_the_folder_and_its_recipients() -> None:
    _, recipient = generate_identity()
    files = bootstrap_files("clusters/prod", [recipient])
    assert set(files) == {f"clusters/prod/{README_FILE}", f"clusters/prod/{ENCRYPTION_CONFIG_FILE}"}
    config = yaml.safe_load(files[f"clusters/prod/{ENCRYPTION_CONFIG_FILE}"])
    assert config["recipients"] == [recipient]
    assert config["recipients_hash"] == recipients_hash([recipient])
    assert b"clusters/prod" in files[f"clusters/prod/{README_FILE}"]
    assert bootstrap_files("clusters/prod", [recipient]) == files


def test_without_encryption_the_bootstrap_is_only_a_readme() -> None:
    files = bootstrap_files("", None)
    assert set(files) == {README_FILE}
    assert b"not mirrored" in files[README_FILE]


def test_the_decrypt_command_prints_the_secret_in_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    identity, recipient = generate_identity()
    encrypted = tmp_path / "db.sops.yaml"
    encrypted.write_bytes(render_secret(secret(token="s3cr3t"), [recipient]))
    identity_file = tmp_path / "key.txt"
    identity_file.write_text(f"# public key: {recipient}\n{identity}\n")

    assert decrypt_main([str(encrypted), "--identity-file", str(identity_file)]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["stringData"] == {"token": "s3cr3t"}

    stranger, _ = generate_identity()
    identity_file.write_text(stranger)
    assert decrypt_main([str(encrypted), "--identity-file", str(identity_file)]) == 1
    assert "cannot decrypt" in capsys.readouterr().err

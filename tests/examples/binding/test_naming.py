"""Deterministic names: the binding resource of a key and the runtimes of a binding."""

from __future__ import annotations

import hashlib
import re

import pytest

from examples.binding.naming import (
    binding_resource_name,
    candidate_name,
    label_value_or_none,
    runtime_name_prefix,
)

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(("key", "readable"), [
    ("team-a/workspace", "team-a-workspace"),
    ("Team A / Workspace #42", "team-a-workspace-42"),
    ("user@example.com", "user-example-com"),
    ("x" * 80, "x" * 36),
    ("--edge--", "edge"),
    ("ünïcode ✓", "n-code"),
    ("///", "binding"),
])
def test_a_binding_is_named_by_its_sanitised_key_and_a_hash(key: str, readable: str) -> None:
    name = binding_resource_name(key)
    assert name == f"{readable}-{sha(key)[:8]}"
    assert DNS_LABEL.match(name)
    assert len(name) <= 45


def test_keys_that_sanitise_alike_get_different_names() -> None:
    assert binding_resource_name("Team A") != binding_resource_name("team-a")
    assert binding_resource_name("Team A").startswith("team-a-")


def test_the_same_key_always_gets_the_same_name() -> None:
    assert binding_resource_name("team-a/workspace") == binding_resource_name("team-a/workspace")


@pytest.mark.parametrize(("prefix", "sequence", "expected_prefix", "expected_sequence"), [
    ("claude-code", 1, "claude-code", "01"),
    ("claude-code", 9, "claude-code", "09"),
    ("claude-code", 42, "claude-code", "42"),
    ("claude-code", 123, "claude-code", "123"),
    ("Claude Code!", 1, "claude-code", "01"),
])
def test_a_runtime_is_named_prefix_hash_sequence(prefix: str, sequence: int,
                                                 expected_prefix: str,
                                                 expected_sequence: str) -> None:
    key = "team-a/workspace"
    assert candidate_name(prefix, key, sequence) == (
        f"{expected_prefix}-{sha(key)[:6]}-{expected_sequence}")


@pytest.mark.parametrize("sequence", [1, 99, 100, 12345])
def test_a_long_prefix_is_shortened_so_the_name_is_a_dns_label(sequence: int) -> None:
    name = candidate_name("a-very-long-preset-name-" * 5, "key", sequence)
    assert len(name) <= 63
    assert DNS_LABEL.match(name)
    assert name.endswith(f"-{sha('key')[:6]}-{sequence:02d}")


def test_different_sequences_and_keys_give_different_names() -> None:
    names = {candidate_name("p", key, sequence)
             for key in ("a", "b") for sequence in (1, 2, 3)}
    assert len(names) == 6


def test_a_negative_sequence_is_refused() -> None:
    with pytest.raises(ValueError, match="never negative"):
        candidate_name("p", "key", -1)


@pytest.mark.parametrize(("name_prefix", "preset_id", "expected"), [
    ("web", "claude-code", "web"),
    (None, "claude-code", "claude-code"),
    ("", "Claude Code", "claude-code"),
    ("!!!", None, "spritz"),
    (None, None, "spritz"),
])
def test_the_prefix_is_the_name_prefix_else_the_preset_else_spritz(
        name_prefix: str | None, preset_id: str | None, expected: str) -> None:
    assert runtime_name_prefix(name_prefix, preset_id) == expected


@pytest.mark.parametrize(("value", "valid"), [
    ("team-a-workspace-1a2b3c4d", True), ("", True), ("a" * 64, False), ("-a", False),
    ("a b", False),
])
def test_only_valid_label_values_label_a_runtime(value: str, valid: bool) -> None:
    assert (label_value_or_none(value) == value) is valid

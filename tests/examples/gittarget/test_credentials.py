"""Git credentials from a provider's Secret, as the environment git runs with."""

from __future__ import annotations

import base64
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from examples.gittarget.credentials import CredentialsError, git_environment_for


def secret(**values: str) -> dict[str, object]:
    return {"data": {key: base64.b64encode(value.encode()).decode()
                     for key, value in values.items()}}


def test_a_token_becomes_a_basic_authorization_header_git_reads(tmp_path: Path) -> None:
    env = git_environment_for(secret(username="bot", password="t0ken"), tmp_path)
    shown = subprocess.run(["git", "config", "--get", "http.extraHeader"], env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert shown == "Authorization: Basic " + base64.b64encode(b"bot:t0ken").decode()


def test_an_ssh_identity_is_written_for_this_user_only(tmp_path: Path) -> None:
    env = git_environment_for(secret(identity="KEY", known_hosts="host ssh-ed25519 AAAA"),
                              tmp_path / "keys")
    command = shlex.split(env["GIT_SSH_COMMAND"])
    key_file = Path(command[command.index("-i") + 1])
    assert key_file.read_text() == "KEY\n"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "StrictHostKeyChecking=yes" in command
    assert f"UserKnownHostsFile={tmp_path / 'keys' / 'known_hosts'}" in command


def test_an_empty_secret_adds_nothing(tmp_path: Path) -> None:
    assert git_environment_for({"data": {}}, tmp_path) == {}


def test_values_that_are_not_base64_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="'password'"):
        git_environment_for({"data": {"password": "not base64!"}}, tmp_path)

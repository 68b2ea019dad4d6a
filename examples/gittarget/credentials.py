"""Git credentials from a GitProvider's Secret, as environment variables for the git CLI.

The Secret (`spec.secretRef`, same namespace as the provider) may hold:

- `username` and `password` (a password or an access token) for https remotes: sent as an
  HTTP Basic `Authorization` header through git's `http.extraHeader`, set in the environment
  (`GIT_CONFIG_COUNT`/`KEY`/`VALUE`) so it is never written to a git config file;
- `identity`: an ssh private key, and optionally `known_hosts`: written to files readable only
  by this process's user under `key_dir`, used through `GIT_SSH_COMMAND`. Without
  `known_hosts`, a host key is accepted the first time and checked from then on.
"""

from __future__ import annotations

import base64
import binascii
import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class CredentialsError(ValueError):
    """The Secret's content cannot be used as git credentials (the message says why)."""


def git_environment_for(secret: Mapping[str, Any], key_dir: Path) -> dict[str, str]:
    """The environment that makes git use the Secret's credentials (empty for an empty
    Secret). Files for ssh are (re)written under `key_dir` only when their content changed."""
    values = _decoded(secret)
    env: dict[str, str] = {}
    username, password = values.get("username"), values.get("password")
    if password is not None:
        token = base64.b64encode(f"{username or 'git'}:{password}".encode()).decode()
        env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {token}"})
    identity = values.get("identity")
    if identity is not None:
        key_file = _private_file(key_dir / "identity", identity.rstrip("\n") + "\n")
        options = ["-i", str(key_file), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"]
        known_hosts = values.get("known_hosts")
        if known_hosts is not None:
            hosts_file = _private_file(key_dir / "known_hosts", known_hosts)
            options += ["-o", f"UserKnownHostsFile={hosts_file}",
                        "-o", "StrictHostKeyChecking=yes"]
        else:
            options += ["-o", f"UserKnownHostsFile={key_dir / 'known_hosts.accepted'}",
                        "-o", "StrictHostKeyChecking=accept-new"]
        env["GIT_SSH_COMMAND"] = shlex.join(["ssh", *options])
    return env


def _decoded(secret: Mapping[str, Any]) -> dict[str, str]:
    decoded: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            decoded[str(key)] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as error:
            raise CredentialsError(f"Secret key {key!r} is not base64-encoded text") from error
    return decoded


def _private_file(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists() and path.read_text() == content:
        return path
    # Created with owner-only permissions from the start: the key is never readable by others.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
    return path

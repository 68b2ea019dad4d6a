"""A kubeconfig file, or a merged `$KUBECONFIG` list, read into the settings of one context.

```python
settings = load_kubeconfig(["~/.kube/config", "staging.yaml"], context="staging")
settings.cluster.server, settings.user.token, settings.namespace
```

The files are merged as kubectl merges them: for clusters, users and contexts the first file
that defines an entry name wins (later files cannot override it), and `current-context` comes
from the first file that sets one. Relative paths (`certificate-authority`,
`client-certificate`, `client-key`, `tokenFile`, and an exec `command` that contains a path
separator) are relative to the directory of the file that defined the entry. `*-data` fields
are decoded from base64 here, so callers get PEM bytes.

Reading is synchronous and pure: no file named inside the kubeconfig is opened, no plugin is
run. What the settings mean for a connection is decided by `ClientConfig.from_kubeconfig`.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class KubeconfigError(Exception):
    """The kubeconfig cannot be used; the message names the file, entry or field at fault."""


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """A kubeconfig cluster entry.

    `certificate_authority` is a PEM file (`certificate-authority`) or PEM bytes
    (`certificate-authority-data`, which wins when both are given, as in kubectl); None means
    the system trust store. `exec_extension` is the cluster's
    `client.authentication.k8s.io/exec` extension, handed to exec plugins that ask for
    cluster information.
    """

    name: str
    server: str
    certificate_authority: Path | bytes | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    exec_extension: Any = None


@dataclass(frozen=True, slots=True)
class ExecConfig:
    """A user's `exec` credential plugin, as configured (see `exec_credential.ExecPlugin`).

    `command` is already resolved against the kubeconfig's directory when it is a relative
    path; a bare name is looked up on `PATH` when the plugin runs. `env` holds only the
    variables the kubeconfig adds to the process environment.
    """

    command: str
    api_version: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    provide_cluster_info: bool = False
    interactive_mode: str = "IfAvailable"
    install_hint: str | None = None


@dataclass(frozen=True, slots=True)
class UserSettings:
    """A kubeconfig user entry (an empty one when the context names no user).

    Certificates and keys are a PEM file or PEM bytes (`*-data`, which win over the file).
    `auth_provider` is the name of a legacy `auth-provider` (gcp, azure, oidc), which only
    kubernetes-asyncio's loader knows how to run.
    """

    name: str = ""
    token: str | None = None
    token_file: Path | None = None
    username: str | None = None
    password: str | None = None
    client_certificate: Path | bytes | None = None
    client_key: Path | bytes | None = None
    exec: ExecConfig | None = None
    auth_provider: str | None = None


@dataclass(frozen=True, slots=True)
class KubeconfigContext:
    """The selected context: its name, cluster, user and namespace (`default` when unset)."""

    name: str
    cluster: ClusterSettings
    user: UserSettings
    namespace: str = "default"


@dataclass(frozen=True, slots=True)
class _Entry:
    """A named entry's body and the directory its relative paths are relative to."""

    body: Mapping[str, Any]
    base_dir: Path


@dataclass(slots=True)
class _Merged:
    clusters: dict[str, _Entry] = field(default_factory=dict)
    users: dict[str, _Entry] = field(default_factory=dict)
    contexts: dict[str, _Entry] = field(default_factory=dict)
    current_context: str | None = None


_SECTIONS = (("clusters", "cluster"), ("users", "user"), ("contexts", "context"))


def load_kubeconfig(
    paths: Sequence[str | os.PathLike[str]], context: str | None = None
) -> KubeconfigContext:
    """The settings of `context` (default: the merged `current-context`) from `paths`.

    Every path must exist (callers drop missing `$KUBECONFIG` entries first, as kubectl does).
    Raises `KubeconfigError` for unreadable or malformed files, an unset or unknown context,
    a context whose cluster or user is not defined, or a cluster without a server.
    """
    merged = _Merged()
    for path in paths:
        _merge_file(merged, Path(os.fspath(path)).expanduser())
    name = context or merged.current_context
    if not name:
        raise KubeconfigError("no context given and current-context is not set")
    context_entry = merged.contexts.get(name)
    if context_entry is None:
        raise KubeconfigError(f"context {name!r} is not defined")
    where = f"context {name!r}"
    cluster_name = _string(context_entry.body, "cluster", where) or ""
    cluster_entry = merged.clusters.get(cluster_name)
    if cluster_entry is None:
        raise KubeconfigError(f"cluster {cluster_name!r} of {where} is not defined")
    user_name = _string(context_entry.body, "user", where) or ""
    user = UserSettings()
    if user_name:
        user_entry = merged.users.get(user_name)
        if user_entry is None:
            raise KubeconfigError(f"user {user_name!r} of {where} is not defined")
        user = _user(user_name, user_entry)
    return KubeconfigContext(
        name=name,
        cluster=_cluster(cluster_name, cluster_entry),
        user=user,
        namespace=_string(context_entry.body, "namespace", where) or "default",
    )


def _merge_file(merged: _Merged, path: Path) -> None:
    # Imported on first use: in-cluster controllers never read YAML.
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise KubeconfigError(f"{path}: cannot be read: {exc}") from exc
    if document is None:
        return  # an empty file contributes nothing, as in kubectl
    if not isinstance(document, Mapping):
        raise KubeconfigError(f"{path}: not a kubeconfig (the top level is not a mapping)")
    base_dir = path.parent.resolve()
    for section, body_key in _SECTIONS:
        entries = document.get(section) or []
        if not isinstance(entries, list):
            raise KubeconfigError(f"{path}: {section} is not a list")
        target: dict[str, _Entry] = getattr(merged, section)
        for entry in entries:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                raise KubeconfigError(f"{path}: an entry of {section} has no name")
            body = entry.get(body_key) or {}
            if not isinstance(body, Mapping):
                raise KubeconfigError(f"{path}: {body_key} {entry['name']!r} is not a mapping")
            target.setdefault(entry["name"], _Entry(body, base_dir))
    current = document.get("current-context")
    if merged.current_context is None and isinstance(current, str) and current:
        merged.current_context = current


def _cluster(name: str, entry: _Entry) -> ClusterSettings:
    where = f"cluster {name!r}"
    body = entry.body
    server = _string(body, "server", where)
    if not server:
        raise KubeconfigError(f"{where} has no server")
    extensions = body.get("extensions") or []
    exec_extension = next(
        (
            item.get("extension")
            for item in extensions
            if isinstance(item, Mapping) and item.get("name") == "client.authentication.k8s.io/exec"
        ),
        None,
    )
    return ClusterSettings(
        name=name,
        server=server,
        certificate_authority=_file_or_data(entry, "certificate-authority", where),
        insecure_skip_tls_verify=_flag(body, "insecure-skip-tls-verify", where),
        tls_server_name=_string(body, "tls-server-name", where),
        proxy_url=_string(body, "proxy-url", where),
        exec_extension=exec_extension,
    )


def _user(name: str, entry: _Entry) -> UserSettings:
    where = f"user {name!r}"
    body = entry.body
    token_file = _string(body, "tokenFile", where)
    auth_provider = body.get("auth-provider")
    if auth_provider is not None and not isinstance(auth_provider, Mapping):
        raise KubeconfigError(f"{where}: auth-provider is not a mapping")
    return UserSettings(
        name=name,
        token=_string(body, "token", where),
        token_file=_resolve(entry.base_dir, token_file) if token_file else None,
        username=_string(body, "username", where),
        password=_string(body, "password", where),
        client_certificate=_file_or_data(entry, "client-certificate", where),
        client_key=_file_or_data(entry, "client-key", where),
        exec=_exec(body.get("exec"), entry.base_dir, where),
        auth_provider=str(auth_provider.get("name") or "unnamed") if auth_provider else None,
    )


def _exec(value: Any, base_dir: Path, where: str) -> ExecConfig | None:
    if value is None:
        return None
    where = f"{where}: exec"
    if not isinstance(value, Mapping):
        raise KubeconfigError(f"{where} is not a mapping")
    command = _string(value, "command", where)
    api_version = _string(value, "apiVersion", where)
    if not command or not api_version:
        raise KubeconfigError(f"{where} needs both command and apiVersion")
    if os.sep in command and not Path(command).is_absolute():
        command = str(base_dir / command)
    args = value.get("args") or []
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
        raise KubeconfigError(f"{where}: args is not a list of strings")
    env: dict[str, str] = {}
    for variable in value.get("env") or []:
        if not isinstance(variable, Mapping) or not isinstance(variable.get("name"), str):
            raise KubeconfigError(f"{where}: env entries need a name and a value")
        env[variable["name"]] = str(variable.get("value") or "")
    return ExecConfig(
        command=command,
        api_version=api_version,
        args=tuple(args),
        env=env,
        provide_cluster_info=_flag(value, "provideClusterInfo", where),
        interactive_mode=_string(value, "interactiveMode", where) or "IfAvailable",
        install_hint=_string(value, "installHint", where),
    )


def _file_or_data(entry: _Entry, key: str, where: str) -> Path | bytes | None:
    data = _string(entry.body, f"{key}-data", where)
    if data:
        try:
            # Line breaks are allowed inside the data, as Go's decoder allows them.
            return base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise KubeconfigError(f"{where}: {key}-data is not base64: {exc}") from exc
    path = _string(entry.body, key, where)
    return _resolve(entry.base_dir, path) if path else None


def _resolve(base_dir: Path, path: str) -> Path:
    resolved = Path(path).expanduser()
    return resolved if resolved.is_absolute() else base_dir / resolved


def _string(body: Mapping[str, Any], key: str, where: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise KubeconfigError(f"{where}: {key} is not a string")
    return value


def _flag(body: Mapping[str, Any], key: str, where: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise KubeconfigError(f"{where}: {key} is not true or false")
    return value

"""Kubeconfig users with an exec credential plugin: tokens, client certificates, expiry, errors.

The plugin is a small Python script run with this interpreter. It answers what the test wrote
to `answer.json` and appends what it was given (`KUBERNETES_EXEC_INFO`, its arguments, one
variable of the kubeconfig's `env`) to `runs.jsonl`, so tests see every run.
"""

from __future__ import annotations

import json
import re
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from controllerkit.apiserver import EmbeddedApiServer
from controllerkit.client import ClientConfig, ConfigError, KubeClient
from controllerkit.meta import CONFIG_MAP

from .kinds import configmap
from .kubeconfigs import ca_data, write_kubeconfig
from .mutual_tls import ClientCertificateFront

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"
PAST = "2000-01-01T00:00:00Z"
FUTURE = "2999-01-01T00:00:00Z"

PLUGIN = """\
import json, os, pathlib, sys

here = pathlib.Path(__file__).resolve().parent
record = {"info": json.loads(os.environ["KUBERNETES_EXEC_INFO"]), "args": sys.argv[1:],
          "greeting": os.environ.get("GREETING")}
with open(here / "runs.jsonl", "a") as runs:
    runs.write(json.dumps(record) + "\\n")
answer = json.loads((here / "answer.json").read_text())
if "fail" in answer:
    sys.stderr.write(answer["fail"])
    sys.exit(3)
if "print" in answer:
    print(answer["print"])
    sys.exit(0)
version = answer.get("apiVersion", record["info"]["apiVersion"])
print(json.dumps({"apiVersion": version, "kind": "ExecCredential", "status": answer["status"]}))
"""


class Plugin:
    """The plugin script in its own directory, what it answers and the runs it recorded."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir()
        self.directory = directory
        self.script = directory / "plugin.py"
        self.script.write_text(f"#!{sys.executable}\n{PLUGIN}")
        self.script.chmod(self.script.stat().st_mode | stat.S_IXUSR)

    def answer(self, **answer: Any) -> None:
        (self.directory / "answer.json").write_text(json.dumps(answer))

    def answer_token(self, token: str, expires: str | None = None) -> None:
        status = {"token": token}
        if expires is not None:
            status["expirationTimestamp"] = expires
        self.answer(status=status)

    def runs(self) -> list[dict[str, Any]]:
        path = self.directory / "runs.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def user(self, api_version: str = V1, **fields: Any) -> dict[str, Any]:
        """A kubeconfig user running the script with this interpreter."""
        exec_config = {"apiVersion": api_version, "command": sys.executable,
                       "args": [str(self.script)], "interactiveMode": "Never", **fields}
        return {"exec": exec_config}


@pytest.fixture
def plugin(tmp_path: Path) -> Plugin:
    return Plugin(tmp_path / "plugin")


def tls_cluster(server: EmbeddedApiServer) -> dict[str, Any]:
    return {"server": server.url, "certificate-authority-data": ca_data(server)}


def offline_config(tmp_path: Path, plugin: Plugin, **fields: Any) -> Path:
    """A kubeconfig whose server is never contacted: for tests of the credential alone."""
    return write_kubeconfig(tmp_path / "config", cluster={"server": "http://cluster.test"},
                            user=plugin.user(**fields))


@pytest.mark.parametrize("api_version", [V1, V1BETA1])
async def test_exec_plugin_token_reaches_the_server(
    guarded_tls: EmbeddedApiServer, tmp_path: Path, plugin: Plugin, api_version: str
) -> None:
    plugin.answer_token("admin-token")
    user = plugin.user(api_version, env=[{"name": "GREETING", "value": "hello"}])
    path = write_kubeconfig(tmp_path / "config", cluster=tls_cluster(guarded_tls), user=user)
    async with KubeClient(await ClientConfig.from_kubeconfig(path)) as kube:
        await kube.create(CONFIG_MAP, configmap("via-exec"))
    [run] = plugin.runs()
    assert run["info"] == {"apiVersion": api_version, "kind": "ExecCredential",
                           "spec": {"interactive": False}}
    assert (run["args"], run["greeting"]) == ([], "hello")


async def test_exec_plugin_is_told_about_the_cluster_when_it_asks(
    guarded_tls: EmbeddedApiServer, tmp_path: Path, plugin: Plugin
) -> None:
    plugin.answer_token("admin-token")
    cluster = {**tls_cluster(guarded_tls), "extensions": [
        {"name": "client.authentication.k8s.io/exec", "extension": {"audience": "test"}}]}
    path = write_kubeconfig(tmp_path / "config", cluster=cluster,
                            user=plugin.user(provideClusterInfo=True))
    await ClientConfig.from_kubeconfig(path)
    [run] = plugin.runs()
    assert run["info"]["spec"]["cluster"] == {
        "server": guarded_tls.url,
        "certificate-authority-data": ca_data(guarded_tls),
        "config": {"audience": "test"},
    }


async def test_exec_plugin_client_certificate_is_presented(
    front: ClientCertificateFront, tmp_path: Path, plugin: Plugin
) -> None:
    certificate, key = front.issue_client_certificate("exec-client")
    plugin.answer(status={"clientCertificateData": certificate.decode(),
                          "clientKeyData": key.decode()})
    path = write_kubeconfig(tmp_path / "config", cluster=front.cluster(), user=plugin.user())
    config = await ClientConfig.from_kubeconfig(path)
    assert "Authorization" not in await config.headers()
    async with KubeClient(config) as kube:
        await kube.list(CONFIG_MAP)
    assert front.client_names == ["exec-client"]


async def test_exec_plugin_certificate_not_matching_its_key_is_a_config_error(
    front: ClientCertificateFront, tmp_path: Path, plugin: Plugin
) -> None:
    certificate, _ = front.issue_client_certificate("first")
    _, other_key = front.issue_client_certificate("second")
    plugin.answer(status={"clientCertificateData": certificate.decode(),
                          "clientKeyData": other_key.decode()})
    path = write_kubeconfig(tmp_path / "config", cluster=front.cluster(), user=plugin.user())
    with pytest.raises(ConfigError, match="client certificate unusable"):
        await ClientConfig.from_kubeconfig(path)


async def test_expired_credential_makes_the_plugin_run_again(
    tmp_path: Path, plugin: Plugin
) -> None:
    plugin.answer_token("first", expires=PAST)
    config = await ClientConfig.from_kubeconfig(offline_config(tmp_path, plugin),
                                                refresh_period=0.0)
    plugin.answer_token("second", expires=FUTURE)
    assert (await config.headers())["Authorization"] == "Bearer second"
    plugin.answer_token("third", expires=FUTURE)
    assert (await config.headers())["Authorization"] == "Bearer second"
    assert len(plugin.runs()) == 2


async def test_credential_without_expiry_is_reused_until_rejected(
    tmp_path: Path, plugin: Plugin
) -> None:
    plugin.answer_token("only")
    config = await ClientConfig.from_kubeconfig(offline_config(tmp_path, plugin),
                                                refresh_period=0.0)
    for _ in range(3):
        assert (await config.headers())["Authorization"] == "Bearer only"
    assert len(plugin.runs()) == 1


async def test_relative_command_is_relative_to_the_kubeconfig(
    tmp_path: Path, plugin: Plugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin.answer_token("relative")
    user = {"exec": {"apiVersion": V1, "command": "./plugin/plugin.py",
                     "args": ["--flag"], "interactiveMode": "Never"}}
    path = write_kubeconfig(tmp_path / "config", cluster={"server": "http://cluster.test"},
                            user=user)
    monkeypatch.chdir(plugin.directory)
    config = await ClientConfig.from_kubeconfig(path)
    assert (await config.headers())["Authorization"] == "Bearer relative"
    assert plugin.runs()[0]["args"] == ["--flag"]


async def test_failing_plugin_is_a_config_error_naming_the_command_and_its_stderr(
    tmp_path: Path, plugin: Plugin
) -> None:
    plugin.answer(fail="token service unreachable")
    with pytest.raises(ConfigError) as raised:
        await ClientConfig.from_kubeconfig(offline_config(tmp_path, plugin))
    message = str(raised.value)
    assert f"exec plugin {sys.executable!r} exited with status 3" in message
    assert message.endswith("token service unreachable")


async def test_plugin_failing_on_refresh_fails_the_request_with_a_config_error(
    tmp_path: Path, plugin: Plugin
) -> None:
    plugin.answer_token("short-lived", expires=PAST)
    config = await ClientConfig.from_kubeconfig(offline_config(tmp_path, plugin),
                                                refresh_period=0.0)
    plugin.answer(fail="session ended")
    with pytest.raises(ConfigError, match="session ended"):
        await config.headers()


@pytest.mark.parametrize(("answer", "message"), [
    ({"print": "token-in-plain-text"}, "bytes that are not JSON"),
    ({"print": json.dumps({"kind": "Status"})}, "JSON that is not an ExecCredential"),
    ({"apiVersion": V1BETA1, "status": {"token": "t"}}, "answered with apiVersion"),
    ({"status": {}}, "neither a token nor a certificate"),
    ({"status": {"clientCertificateData": "PEM"}}, "only one of clientCertificateData"),
    ({"status": {"token": "t", "expirationTimestamp": "soon"}}, "not RFC 3339"),
])
async def test_plugin_printing_something_else_is_a_config_error(
    tmp_path: Path, plugin: Plugin, answer: dict[str, Any], message: str
) -> None:
    plugin.answer(**answer)
    with pytest.raises(ConfigError, match=f"exec plugin {re.escape(repr(sys.executable))}.*"
                                          f"{message}") as raised:
        await ClientConfig.from_kubeconfig(offline_config(tmp_path, plugin))
    assert "token-in-plain-text" not in str(raised.value)


async def test_missing_command_is_a_config_error_with_the_install_hint(tmp_path: Path) -> None:
    user = {"exec": {"apiVersion": V1, "command": "/nonexistent/credential-helper",
                     "interactiveMode": "Never", "installHint": "install credential-helper"}}
    path = write_kubeconfig(tmp_path / "config", cluster={"server": "http://cluster.test"},
                            user=user)
    with pytest.raises(ConfigError, match=r"credential-helper' could not be started.*"
                                          r"install credential-helper"):
        await ClientConfig.from_kubeconfig(path)


@pytest.mark.parametrize(("fields", "message"), [
    ({"apiVersion": "client.authentication.k8s.io/v1alpha1"}, "supported: "),
    ({"interactiveMode": "Always"}, "needs a terminal"),
])
async def test_plugins_that_cannot_work_here_are_refused_before_running(
    tmp_path: Path, plugin: Plugin, fields: dict[str, str], message: str
) -> None:
    plugin.answer_token("unused")
    path = write_kubeconfig(tmp_path / "config", cluster={"server": "http://cluster.test"},
                            user={"exec": {**plugin.user()["exec"], **fields}})
    with pytest.raises(ConfigError, match=message):
        await ClientConfig.from_kubeconfig(path)
    assert plugin.runs() == []


async def test_static_token_takes_precedence_over_the_plugin(
    tmp_path: Path, plugin: Plugin
) -> None:
    user = {**plugin.user(), "token": "static"}
    path = write_kubeconfig(tmp_path / "config", cluster={"server": "http://cluster.test"},
                            user=user)
    config = await ClientConfig.from_kubeconfig(path)
    assert (await config.headers())["Authorization"] == "Bearer static"
    assert plugin.runs() == []

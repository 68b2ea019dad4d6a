"""`controllerkit apiserver` as users run it: the serving line, the kubeconfig, --tls, flags."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import textwrap
from pathlib import Path

import aiohttp
import pytest
import yaml
from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client import ApiClient, Configuration, CoreV1Api, CustomObjectsApi

from controllerkit.testing import Kubectl

from .http_api import assert_status, cause_fields, install_widget_crd, rest_client, widgets_path
from .manifests import widget
from .server_process import ServerProcess, controllerkit_command

SERVING = re.compile(r"serving on (https?)://127\.0\.0\.1:(\d+)")


def test_prints_exactly_one_serving_line_once_it_accepts_requests() -> None:
    server = ServerProcess().start()
    try:
        match = SERVING.fullmatch(server.stdout_lines[0])
        assert match is not None, server.stdout_lines
        assert match.group(1) == "http" and int(match.group(2)) > 0
        # No retry: the line promises the port already accepts requests.
        with socket.create_connection(("127.0.0.1", int(match.group(2))), timeout=2) as sock:
            sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200")
        code = server.terminate()
        lines = server.remaining_stdout()
    finally:
        server.close()
    assert code == 0
    assert [line for line in lines if line.startswith("serving on")] == [lines[0]]
    assert lines == [lines[0]]


def test_kubeconfig_out_is_accepted_by_kubectl(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "out" / "kubeconfig"
    with ServerProcess("--kubeconfig-out", str(kubeconfig)) as server:
        lines = [server.stdout_lines[0], server.read_line()]
        kubectl = Kubectl(kubeconfig, tmp_path / "cache")
        namespaces = kubectl.run("get", "namespaces", "-o", "name").stdout.split()
    assert len([line for line in lines if line.startswith("serving on")]) == 1
    assert lines[1] == f"kubeconfig written to {kubeconfig}"
    assert yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"] == (
        server.url)
    assert "namespace/default" in namespaces and "namespace/kube-system" in namespaces


async def test_kubeconfig_out_is_accepted_by_kubernetes_asyncio(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    with ServerProcess("--kubeconfig-out", str(kubeconfig)):
        cfg = Configuration()
        await kube_config.load_kube_config(config_file=str(kubeconfig),
                                           client_configuration=cfg)
        async with ApiClient(cfg) as client:
            namespaces = await CoreV1Api(client).list_namespace()
    assert "default" in [ns.metadata.name for ns in namespaces.items]


def test_port_in_use_fails_with_a_message_and_no_serving_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [*controllerkit_command(), "apiserver", "--port", str(port)],
            capture_output=True, text=True, timeout=30, check=False,
        )
    assert proc.returncode != 0
    assert "serving on" not in proc.stdout
    assert proc.stderr.startswith("controllerkit apiserver: ")


def test_invalid_tokens_file_fails_with_a_message(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("identities:\n  - name: x\n")
    proc = subprocess.run(
        [*controllerkit_command(), "apiserver", "--port", "0", "--tokens", str(tokens)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert proc.returncode != 0
    assert "serving on" not in proc.stdout
    assert str(tokens) in proc.stderr


# -- --tls ---------------------------------------------------------------------------------------

def test_tls_kubeconfig_works_with_kubectl(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    with ServerProcess("--tls", "--kubeconfig-out", str(kubeconfig)) as server:
        kubectl = Kubectl(kubeconfig, tmp_path / "cache")
        version = kubectl.json("version")
        kubectl.run("create", "configmap", "over-tls", "--from-literal=a=b")
        got = kubectl.json("get", "configmap", "over-tls")
    assert server.url.startswith("https://127.0.0.1:")
    cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
    assert cluster["server"] == server.url
    assert cluster["certificate-authority-data"]
    assert "insecure-skip-tls-verify" not in cluster
    assert version["serverVersion"]["minor"] == "32"
    assert got["data"] == {"a": "b"}


async def test_tls_kubeconfig_works_with_kubernetes_asyncio(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    with ServerProcess("--tls", "--kubeconfig-out", str(kubeconfig)):
        cfg = Configuration()
        await kube_config.load_kube_config(config_file=str(kubeconfig),
                                           client_configuration=cfg)
        host = str(cfg.host)
        assert host.startswith("https://")
        assert cfg.verify_ssl
        trust = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
        async with rest_client(host, ssl_context=trust) as api:
            await install_widget_crd(api)
        async with ApiClient(cfg) as client:
            custom = CustomObjectsApi(client)
            await custom.create_namespaced_custom_object(
                "example.com", "v1", "default", "widgets", widget("w1", size=3))
            got = await custom.get_namespaced_custom_object(
                "example.com", "v1", "default", "widgets", "w1")
    assert got["spec"]["size"] == 3


async def test_tls_server_refuses_untrusted_and_plain_http_clients() -> None:
    with ServerProcess("--tls") as server:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.get(server.url + "/version")
            plain = server.url.replace("https://", "http://")
            with pytest.raises(aiohttp.ClientError):
                await session.get(plain + "/version")


# -- other flags ---------------------------------------------------------------------------------

async def test_tokens_flag_requires_a_token_and_writes_it_to_the_kubeconfig(
    tmp_path: Path,
) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(textwrap.dedent("""
        identities:
          - {name: admin, token: "adm-1", groups: [system:masters]}
          - {name: reader, token: "rd-2", rules: [{verbs: [get], apiGroups: [""],
                                                   resources: [namespaces]}]}
    """))
    kubeconfig = tmp_path / "kubeconfig"
    with ServerProcess("--tls", "--tokens", str(tokens), "--kubeconfig-out", str(kubeconfig)):
        cfg = Configuration()
        await kube_config.load_kube_config(config_file=str(kubeconfig),
                                           client_configuration=cfg)
        trust = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
        host = str(cfg.host)
        async with rest_client(host, ssl_context=trust) as anonymous, \
                rest_client(host, "rd-2", ssl_context=trust) as reader:
            denied = await anonymous.get("/api/v1/namespaces")
            allowed = await reader.get("/api/v1/namespaces/default")
            forbidden = await reader.get("/api/v1/namespaces")
        kubectl = Kubectl(kubeconfig, tmp_path / "cache")
        listed = kubectl.run("get", "namespaces", "-o", "name").stdout.split()
    user = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]
    assert user["token"] == "adm-1"
    assert_status(denied, 401, "Unauthorized")
    assert allowed.status == 200
    assert_status(forbidden, 403, "Forbidden")
    assert "namespace/default" in listed


async def test_watch_history_flag_bounds_resumable_watches() -> None:
    with ServerProcess("--watch-history", "2") as server:
        async with rest_client(server.url) as api:
            await install_widget_crd(api)
            first = await api.post(widgets_path(), widget("w0"))
            for i in range(1, 4):
                await api.post(widgets_path(), widget(f"w{i}"))
            async with api.watch(widgets_path(), resourceVersion=str(first.rv)) as stream:
                event = await stream.next_event()
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"


async def test_by_default_a_status_write_needs_no_resource_version() -> None:
    with ServerProcess() as server:
        async with rest_client(server.url) as api:
            await install_widget_crd(api)
            await api.post(widgets_path(), widget("w1"))
            reply = await api.patch(widgets_path("w1", subresource="status"),
                                    {"status": {"phase": "Ready"}})
    assert reply.status == 200, reply.body
    assert reply.body["status"] == {"phase": "Ready"}


async def test_strict_status_flag_refuses_unconditional_and_spec_changing_writes() -> None:
    with ServerProcess("--strict-status") as server:
        async with rest_client(server.url) as api:
            await install_widget_crd(api)
            created = await api.post(widgets_path(), widget("w1", size=2))
            unconditional = await api.patch(widgets_path("w1", subresource="status"),
                                            {"status": {"phase": "Ready"}})
            with_spec = await api.patch(widgets_path("w1", subresource="status"), {
                "metadata": {"resourceVersion": created.body["metadata"]["resourceVersion"]},
                "spec": {"size": 5}, "status": {"phase": "Ready"}})
    assert cause_fields(assert_status(unconditional, 422, "Invalid")) == [
        "metadata.resourceVersion"]
    assert cause_fields(assert_status(with_spec, 422, "Invalid")) == ["spec.size"]


def test_tokens_flag_implies_tls_so_kubectl_can_authenticate(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(textwrap.dedent("""
        identities:
          - name: admin
            token: s3cret
            rules: [{verbs: ["*"], apiGroups: ["*"], resources: ["*"]}]
    """))
    kubeconfig = tmp_path / "kubeconfig"
    with ServerProcess("--tokens", str(tokens), "--kubeconfig-out", str(kubeconfig)) as server:
        assert server.url.startswith("https://")
        kubectl = Kubectl(kubeconfig, tmp_path / "cache")
        assert "default" in kubectl.run("get", "namespaces").stdout

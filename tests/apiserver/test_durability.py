"""Durability with `--data-dir`: a `kill -9` and a restart on the same directory lose nothing.

What a watch sees across a restart: the event history lives in memory only. The restarted
server can resume a watch from exactly the resourceVersion it restarted at (the last one
written before the kill) and sends every later event; a watch from any older resourceVersion
gets the Kubernetes `410 Expired` ERROR event, and the client re-lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from controllerkit.testing import Kubectl

from .http_api import (
    CRDS,
    RestClient,
    core_path,
    install_widget_crd,
    rest_client,
    widgets_path,
)
from .manifests import namespace, widget
from .server_process import ServerProcess


def _server(data_dir: Path, kubeconfig: Path | None = None) -> ServerProcess:
    args = ["--data-dir", str(data_dir)]
    if kubeconfig is not None:
        args += ["--kubeconfig-out", str(kubeconfig)]
    return ServerProcess(*args)


async def _write_history(api: RestClient) -> int:
    """Creates, updates, a status write and deletes across kinds; the last resourceVersion."""
    await install_widget_crd(api)
    for i in range(5):
        assert (await api.post(widgets_path(), widget(f"w{i}", size=i + 1))).status == 201
    ns = namespace("team")
    assert (await api.post(core_path("namespaces", namespace=None), ns)).status == 201
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
          "data": {"text": "héllo ✓", "big": "x" * 10_000}}
    assert (await api.post(core_path("configmaps", namespace="team"), cm)).status == 201
    assert (await api.patch(widgets_path("w1"), {"spec": {"colour": "blue"}})).status == 200
    rv = (await api.get(widgets_path("w2"))).body["metadata"]["resourceVersion"]
    status = await api.patch(widgets_path("w2", subresource="status"),
                             {"metadata": {"resourceVersion": rv}, "status": {"phase": "Ok"}})
    assert status.status == 200
    assert (await api.delete(widgets_path("w3"))).status == 200
    held = widget("held", finalizers=["example.com/keep"])
    assert (await api.post(widgets_path(), held)).status == 201
    last = await api.delete(widgets_path("held"))
    assert last.status == 200
    return last.rv


async def _history_then_kill_9(data_dir: Path, kubeconfig: Path | None = None) -> int:
    """Writes the history on a server over `data_dir`, `kill -9`s it; the last resourceVersion."""
    with _server(data_dir, kubeconfig) as first:
        async with rest_client(first.url) as api:
            last = await _write_history(api)
        first.kill_9()
    return last


async def _snapshot(api: RestClient) -> dict[str, Any]:
    widgets = await api.get(widgets_path())
    configmaps = await api.get(core_path("configmaps", namespace="team"))
    namespaces = await api.get(core_path("namespaces", namespace=None))
    crd = await api.get(f"{CRDS}/widgets.example.com")
    return {
        "widgets": widgets.body["items"],
        "configmaps": configmaps.body["items"],
        "namespaces": namespaces.body["items"],
        "crd": crd.body,
        "rv": widgets.rv,
    }


async def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    with _server(tmp_path / "data") as first:
        async with rest_client(first.url) as api:
            last = await _write_history(api)
            before = await _snapshot(api)
        first.kill_9()
    with _server(tmp_path / "data") as second:
        async with rest_client(second.url) as api:
            after = await _snapshot(api)
            discovery = await api.get("/apis/example.com/v1")
    assert before["rv"] == last
    assert after == before
    names = [w["metadata"]["name"] for w in after["widgets"]]
    assert names == ["held", "w0", "w1", "w2", "w4"]
    assert discovery.status == 200


async def test_resource_versions_continue_after_restart(tmp_path: Path) -> None:
    last = await _history_then_kill_9(tmp_path / "data")
    with _server(tmp_path / "data") as second:
        async with rest_client(second.url) as api:
            listed = await api.get(widgets_path())
            created = await api.post(widgets_path(), widget("fresh"))
            updated = await api.patch(widgets_path("w0"), {"spec": {"size": 9}})
    assert listed.rv == last
    assert created.rv == last + 1
    assert updated.rv == last + 2
    assert updated.body["metadata"]["generation"] == 2


async def test_watch_from_last_resource_version_before_kill_misses_nothing(
    tmp_path: Path,
) -> None:
    last = await _history_then_kill_9(tmp_path / "data")
    with _server(tmp_path / "data") as second:
        async with rest_client(second.url) as api, \
                api.watch(widgets_path(), resourceVersion=str(last)) as stream:
            created = await api.post(widgets_path(), widget("fresh"))
            deleted = await api.delete(widgets_path("w0"))
            events = await stream.take(2)
    assert [(e["type"], e["object"]["metadata"]["name"],
             int(e["object"]["metadata"]["resourceVersion"])) for e in events] == [
        ("ADDED", "fresh", last + 1), ("DELETED", "w0", last + 2)]
    assert created.rv == last + 1 and deleted.status == 200


async def test_watch_from_before_the_restart_point_is_expired(tmp_path: Path) -> None:
    last = await _history_then_kill_9(tmp_path / "data")
    with _server(tmp_path / "data") as second:
        async with rest_client(second.url) as api, \
                api.watch(widgets_path(), resourceVersion=str(last - 3)) as stream:
            event = await stream.next_event()
            ended = await stream.response.content.read()
    assert event["type"] == "ERROR"
    assert event["object"]["kind"] == "Status"
    assert event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"
    assert ended == b""


async def test_restarted_server_rewrites_its_kubeconfig_for_kubectl(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    await _history_then_kill_9(tmp_path / "data", kubeconfig)
    with _server(tmp_path / "data", kubeconfig) as second:
        server_in_file = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"][
            "server"]
        kubectl = Kubectl(kubeconfig, tmp_path / "cache")
        listed = await kubectl.arun("get", "widgets", "-o", "name")
    assert server_in_file == second.url
    assert listed.stdout.split() == [f"widget.example.com/{n}" for n in
                                     ("held", "w0", "w1", "w2", "w4")]

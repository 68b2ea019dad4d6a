"""`controllerkit run` as a separate process against an embedded API server."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from controllerkit.apiserver import ThreadedApiServer
from controllerkit.cli import main
from controllerkit.testing import Kubectl

from ..apiserver.manifests import widget, widget_crd
from ..controllerkit_run import ControllerkitRun
from .toy_app import SLOW_ANNOTATION

ROOT = Path(__file__).resolve().parents[2]
SERVING_PROBES = re.compile(r"serving probes on (http://\S+)")


def toy_manager(*args: str) -> ControllerkitRun:
    """`controllerkit run tests.manager.toy_app:build ARGS`."""
    return ControllerkitRun("tests.manager.toy_app:build", *args)


@pytest.fixture
def manager_process(apiserver: ThreadedApiServer) -> Iterator[ControllerkitRun]:
    running = toy_manager("--kubeconfig", str(apiserver.kubeconfig_path))
    try:
        yield running
    finally:
        running.kill()


def test_sigterm_during_a_slow_reconcile_lets_it_finish_and_starts_nothing_else(
    kubectl: Kubectl, manager_process: ControllerkitRun
) -> None:
    kubectl.apply(widget_crd())
    # One worker, two slow widgets: whichever starts first, the other waits in the queue.
    for name in ("first", "second"):
        kubectl.apply(widget(name, annotations={SLOW_ANNOTATION: "0.5"}))
    started = manager_process.wait_for_line(r"reconcile started (\S+)").group(1)

    manager_process.process.send_signal(signal.SIGTERM)

    assert manager_process.finish() == 0
    log = "".join(manager_process.lines)
    assert f"reconcile finished {started}" in log
    assert log.count("reconcile started") == 1
    name = started.split("/")[1]
    ready = kubectl.json("get", "widget", name)["status"]["conditions"]
    assert [c["type"] for c in ready if c["status"] == "True"] == ["Ready"]
    other = "second" if name == "first" else "first"
    assert "status" not in kubectl.json("get", "widget", other)


def test_kubectl_wait_sees_ready_on_a_reconciled_widget(
    kubectl: Kubectl, manager_process: ControllerkitRun
) -> None:
    manager_process.wait_for_line("caches synced")
    kubectl.apply(widget("waited-for"))

    kubectl.run("wait", "--for=condition=Ready=true", "widget/waited-for", "--timeout=30s")

    manager_process.process.send_signal(signal.SIGINT)
    assert manager_process.finish() == 0


def test_embedded_server_runs_in_the_same_process_and_probes_answer() -> None:
    running = toy_manager("--embedded")
    try:
        url = running.wait_for_line(SERVING_PROBES.pattern).group(1)
        running.wait_for_line("caches synced")
        with urllib.request.urlopen(f"{url}/readyz", timeout=10) as answer:
            assert answer.status == 200
        with urllib.request.urlopen(
                f"{url}/controllers/widgets.example.com/quarantine", timeout=10) as answer:
            assert json.load(answer) == []
        running.process.send_signal(signal.SIGTERM)
        assert running.finish() == 0
    finally:
        running.kill()


@pytest.mark.parametrize(("target", "message"), [
    ("no_colon", "is not MODULE:ATTR"),
    ("tests.manager.no_such_module:build", "cannot import tests.manager.no_such_module"),
    ("tests.manager.toy_app:missing", "has no attribute missing"),
    ("tests.manager.toy_app:SLOW_ANNOTATION", "is a str, not a Manager"),
])
def test_run_rejects_a_target_that_gives_no_manager(
    target: str, message: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["run", target]) == 1
    assert message in capsys.readouterr().err


def test_cache_sync_timeout_bounds_the_wait_for_a_cache_that_cannot_fill(
    apiserver: ThreadedApiServer,
) -> None:
    # The manager's own timeout is 120 s: only the flag ends the run within the minute.
    done = subprocess.run(
        [sys.executable, "-m", "controllerkit.cli", "run", "tests.manager.unsynced_app:build",
         "--kubeconfig", str(apiserver.kubeconfig_path), "--cache-sync-timeout", "0.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "cache not synced after 0.5s" in done.stderr


@pytest.mark.parametrize("seconds", ["0", "-1", "nan", "soon"])
def test_cache_sync_timeout_must_be_a_positive_number_of_seconds(
    seconds: str, capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "tests.manager.toy_app:build", "--cache-sync-timeout", seconds])
    assert exited.value.code == 2
    assert "--cache-sync-timeout" in capsys.readouterr().err

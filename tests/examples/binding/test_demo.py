"""The demo runs against a server and shows the lifecycle, the replacement and the result."""

from __future__ import annotations

from pathlib import Path

from controllerkit.apiserver import EmbeddedApiServer
from examples.binding.demo import BINDING_KEY, run_demo
from examples.binding.naming import binding_resource_name, candidate_name
from examples.binding.simulator import SimulatorSettings


async def test_the_demo_shows_the_phases_the_cutover_the_replay_and_kubectl(
        server: EmbeddedApiServer, tmp_path: Path) -> None:
    printed: list[str] = []
    await run_demo(server.url, tmp_path, out=printed.append,
                   simulator=SimulatorSettings(ready_delay=0.2, deletion_hold=0.2))
    output = "\n".join(printed)
    lines = output.splitlines()
    first = candidate_name("claude-code", BINDING_KEY, 1)
    second = candidate_name("claude-code", BINDING_KEY, 2)

    progress = [line.split() for line in lines if line.startswith("  ")]
    assert [(words[0], words[1]) for words in progress] == [
        ("creating", "revision=-"), ("waiting_ready", "revision=-"), ("ready", "revision=r1"),
        ("creating", "revision=r1"), ("waiting_ready", "revision=r1"),
        ("cleaning_up", "revision=r2"), ("ready", "revision=r2")]
    assert progress[5][2:] == [f"active={second}", "candidate=-", f"cleanup={first}"]

    answers = [line for line in lines if line.startswith("-> replacement")]
    assert answers == [
        f"-> replacement {second} (revision r2) phase Provisioning, ready false, "
        "replayed false",
        f"-> replacement {second} (revision r2) phase Ready, ready true, replayed true"]
    assert [line for line in lines if line.endswith(" success")] == [
        "201 success", "202 success", "200 success"]

    kubectl = output.split("$ kubectl get spritzbindings,spritzes\n", 1)[1].splitlines()
    binding_row = next(line.split() for line in kubectl
                       if binding_resource_name(BINDING_KEY) in line)
    assert binding_row[1:4] == ["ready", "r2", second]
    runtime_rows = [line.split()[0] for line in kubectl if line.startswith("spritz.spritz.sh/")]
    assert runtime_rows == [f"spritz.spritz.sh/{second}"]

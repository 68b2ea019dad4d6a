"""The `controllerkit` command as users run it: `--version`, and `crd` printing the
CustomResourceDefinitions of typed models."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from controllerkit import __version__, cli
from controllerkit.crd import crd_for
from controllerkit.testing import Kubectl

from .resource.models import ClusterGadget, Widget

ROOT = Path(__file__).resolve().parents[1]

# Written into the working directory of the command, which is on its import path.
MODELS_MODULE = textwrap.dedent('''
    from controllerkit.meta import KubeModel
    from controllerkit.resource import CustomResource


    class GizmoSpec(KubeModel):
        size: int = 1


    class GizmoStatus(KubeModel):
        ready: bool = False


    class Gizmo(CustomResource[GizmoSpec, GizmoStatus], group="example.com", version="v1",
                kind="Gizmo"):
        """A gizmo."""


    class UndeclaredGizmo(CustomResource[GizmoSpec, GizmoStatus]):
        """A base class: it declares no kind."""


    class TupleSpec(KubeModel):
        pair: tuple[int, str]


    class Paired(CustomResource[TupleSpec, GizmoStatus], group="example.com", version="v1",
                 kind="Paired"):
        pass


    NOT_A_MODEL = 42
''')


def controllerkit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "controllerkit.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A working directory with a module of models (`gizmos`) and one that fails to import."""
    (tmp_path / "gizmos.py").write_text(MODELS_MODULE)
    (tmp_path / "broken.py").write_text('raise RuntimeError("settings file\\nnot found")\n')
    return tmp_path


def test_version_prints_the_installed_distributions_version() -> None:
    done = controllerkit("--version")
    assert done.returncode == 0
    assert done.stdout == f"controllerkit {importlib.metadata.version('controllerkit')}\n"


def test_version_falls_back_to_the_packages_own_when_not_installed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"controllerkit {__version__}\n"


def test_crd_prints_one_yaml_document_per_model() -> None:
    done = controllerkit("crd", "tests.resource.models:Widget",
                         "tests.resource.models:ClusterGadget")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.count("\n---\n") == 1
    assert list(yaml.safe_load_all(done.stdout)) == [crd_for(Widget), crd_for(ClusterGadget)]


def test_crd_output_is_accepted_by_kubectl_apply(project: Path, kubectl: Kubectl) -> None:
    done = controllerkit("crd", "gizmos:Gizmo", cwd=project)
    assert done.returncode == 0, done.stderr

    kubectl.apply(done.stdout)

    kubectl.apply({"apiVersion": "example.com/v1", "kind": "Gizmo",
                   "metadata": {"name": "g", "namespace": "default"}, "spec": {}})
    gizmo = kubectl.json("get", "gizmo", "g")
    assert gizmo["spec"] == {"size": 1}  # defaulted by the generated schema


@pytest.mark.parametrize(("target", "message"), [
    ("no_colon", "'no_colon' is not MODULE:ATTR"),
    ("no_such_module:Gizmo", "cannot import no_such_module: No module named 'no_such_module'"),
    ("broken:Gizmo", "cannot import broken: RuntimeError: settings file not found"),
    ("gizmos:Missing", "gizmos has no attribute Missing"),
    ("gizmos:NOT_A_MODEL", "gizmos:NOT_A_MODEL is an int, not a CustomResource model"),
    ("gizmos:GizmoSpec", "gizmos:GizmoSpec is the class GizmoSpec, not a CustomResource model"),
    ("gizmos:UndeclaredGizmo", "gizmos:UndeclaredGizmo: UndeclaredGizmo declares no kind"),
    ("gizmos:Paired", "gizmos:Paired: Paired: spec.pair: tuples cannot be expressed"),
])
def test_crd_refuses_what_is_not_a_declared_custom_resource_in_one_line(
    project: Path, target: str, message: str,
) -> None:
    done = controllerkit("crd", "gizmos:Gizmo", target, cwd=project)
    assert done.returncode == 2
    assert done.stdout == ""  # nothing printed for the models before it either
    assert done.stderr.startswith(f"controllerkit crd: {message}")
    assert done.stderr.count("\n") == 1


def test_crd_needs_at_least_one_model() -> None:
    done = controllerkit("crd")
    assert done.returncode == 2
    assert "MODULE:MODEL" in done.stderr


@pytest.mark.parametrize("module", ["controllerkit", "controllerkit.cli"])
def test_a_controller_process_loads_no_part_of_the_test_server(module: str) -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, {module}; print(sorted(sys.modules))"],
        capture_output=True, text=True, check=True, timeout=60).stdout
    assert "controllerkit.apiserver" not in loaded
    assert "aiohttp.web" not in loaded

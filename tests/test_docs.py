"""The documentation's examples run, its flag list is complete, and the site builds.

A fenced `python` block in `docs/` preceded by the line `<!-- test -->` is saved to a file and
run as a script; one preceded by `<!-- test: pytest -->` is run as a pytest module. Either must
exit 0. Examples start whatever server they need themselves, so each runs on its own, exactly
as a reader would copy it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .doc_blocks import marked_blocks

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MARKER = re.compile(r"^<!-- test(?:: (?P<mode>[a-z]+))? -->$")
MODES = ("script", "pytest")


@dataclass(frozen=True)
class Example:
    page: Path
    line: int
    mode: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(DOCS)}:{self.line}"


def marked_examples() -> list[Example]:
    """Every block marked runnable, with the page and line where its code starts."""
    examples = []
    for block in marked_blocks(MARKER, "a test marker"):
        mode = block.marker.group("mode") or "script"
        if mode not in MODES or block.opening != "```python":
            raise AssertionError(
                f"{block.page}:{block.line - 2}: a test marker must be `<!-- test -->` or "
                f"`<!-- test: pytest -->` directly above a ```python block"
            )
        examples.append(Example(block.page, block.line, mode, "\n".join(block.lines) + "\n"))
    return examples


EXAMPLES = marked_examples()


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    # An example must not reach a cluster the reader happens to have configured.
    env.pop("KUBECONFIG", None)
    return env


def test_the_pages_that_teach_by_example_have_runnable_examples() -> None:
    # Guards the marker convention: a typo in it would otherwise silently run nothing.
    pages = {example.page.relative_to(DOCS).as_posix() for example in EXAMPLES}
    expected = {"getting-started.md", "apiserver/index.md", "apiserver/api.md",
                "apiserver/operations.md", "tutorial.md", "controllers.md", "finalizers.md"}
    assert expected <= pages, f"no runnable examples found on {sorted(expected - pages)}"


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
def test_example_runs(example: Example, tmp_path: Path) -> None:
    if example.mode == "pytest":
        path = tmp_path / "test_example.py"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)]
    else:
        path = tmp_path / "example.py"
        command = [sys.executable, str(path)]
    path.write_text(example.code, encoding="utf-8")
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=110,
                          env=_clean_env(), check=False)
    assert proc.returncode == 0, (
        f"the example at docs/{example.id} failed (exit {proc.returncode})\n"
        f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )


def test_every_apiserver_flag_is_documented() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "controllerkit.cli", "apiserver", "--help"],
        capture_output=True, text=True, check=True,
    ).stdout
    flags = set(re.findall(r"(--[a-z][a-z-]+)", help_text)) - {"--help"}
    page = (DOCS / "apiserver" / "index.md").read_text(encoding="utf-8")
    missing = sorted(flag for flag in flags if f"`{flag}" not in page)
    assert not missing, f"docs/apiserver/index.md does not document {missing}"


def test_the_site_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
         str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=110, check=False,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed\n{proc.stdout}\n{proc.stderr}"

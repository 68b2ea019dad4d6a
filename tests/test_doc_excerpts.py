"""Code the documentation quotes from a file of the project is quoted exactly.

A fenced block in `docs/` preceded by the line `<!-- excerpt: PATH -->` must be a run of
consecutive lines of PATH (relative to the project root), so a page that walks through a file
piece by piece cannot drift from it. A whole file is included with `--8<-- "PATH"` instead
(pymdownx.snippets), which the site build resolves from the file itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from .doc_blocks import marked_blocks

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MARKER = re.compile(r"^<!-- excerpt: (?P<path>\S+) -->$")
INCLUDE = re.compile(r'^--8<-- "(?P<path>[^"]+)"$')


@dataclass(frozen=True)
class Excerpt:
    page: Path
    line: int
    source: str
    lines: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(DOCS)}:{self.line}"


def marked_excerpts() -> list[Excerpt]:
    """Every block marked as an excerpt, with the page and line where its code starts."""
    return [Excerpt(block.page, block.line, block.marker.group("path"), block.lines)
            for block in marked_blocks(MARKER, "an excerpt marker")]


def included_files() -> list[tuple[Path, str]]:
    """Every `--8<-- "PATH"` include, with the page it is on."""
    return [(page, match.group("path"))
            for page in sorted(DOCS.rglob("*.md"))
            for line in page.read_text(encoding="utf-8").splitlines()
            if (match := INCLUDE.match(line.strip())) is not None]


EXCERPTS = marked_excerpts()


def is_run_of(excerpt: tuple[str, ...], lines: list[str]) -> bool:
    return any(tuple(lines[start:start + len(excerpt)]) == excerpt
               for start in range(len(lines) - len(excerpt) + 1))


def test_the_tutorial_quotes_its_example() -> None:
    # Guards the marker convention: a typo in it would otherwise silently check nothing.
    quoted = {(excerpt.page.name, excerpt.source) for excerpt in EXCERPTS}
    assert ("tutorial.md", "examples/website.py") in quoted


@pytest.mark.parametrize("excerpt", EXCERPTS, ids=[excerpt.id for excerpt in EXCERPTS])
def test_excerpt_is_quoted_exactly(excerpt: Excerpt) -> None:
    assert excerpt.lines, f"docs/{excerpt.id}: an empty excerpt"
    source = (ROOT / excerpt.source).read_text(encoding="utf-8").splitlines()
    assert is_run_of(excerpt.lines, source), (
        f"docs/{excerpt.id} no longer matches {excerpt.source}; quote it again:\n"
        + "\n".join(excerpt.lines))


def test_included_files_exist() -> None:
    # The site build checks this too; here it fails with the page that names the file.
    missing = [f"{page.relative_to(DOCS)}: {path}" for page, path in included_files()
               if not (ROOT / path).is_file()]
    assert not missing, f"includes of missing files: {missing}"

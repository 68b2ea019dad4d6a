"""Fenced blocks of `docs/` marked by an HTML comment on the line above them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


@dataclass(frozen=True)
class MarkedBlock:
    """A block: the page, the line its code starts on, the marker's match, its lines."""

    page: Path
    line: int
    marker: re.Match[str]
    opening: str
    lines: tuple[str, ...]


def marked_blocks(marker: re.Pattern[str], what: str) -> Iterator[MarkedBlock]:
    """Every fenced block directly below a line `marker` matches; AssertionError naming the
    page and line for a marker with no fenced block below it (`what` says what it marks)."""
    for page in sorted(DOCS.rglob("*.md")):
        lines = page.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            match = marker.match(line.strip())
            if match is None:
                continue
            opening = lines[index + 1].strip() if index + 1 < len(lines) else ""
            if not opening.startswith("```"):
                raise AssertionError(f"{page}:{index + 1}: {what} goes directly above a "
                                     f"fenced block")
            end = lines.index("```", index + 2)
            yield MarkedBlock(page, index + 3, match, opening, tuple(lines[index + 2:end]))

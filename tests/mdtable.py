"""Reading the hand-written tables of `tests/tables/` (Markdown; `\\|` is a bar inside a cell)."""

from __future__ import annotations

import re
from pathlib import Path

TABLES = Path(__file__).resolve().parent / "tables"


def rows(name: str, columns: int) -> list[tuple[str, ...]]:
    """The body rows of `tests/tables/<name>`, each with exactly `columns` stripped cells."""
    out = []
    lines = [ln for ln in (TABLES / name).read_text(encoding="utf-8").splitlines()]
    table = [ln for ln in lines if ln.startswith("|")]
    for line in table[2:]:  # after the header and its rule
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        assert len(cells) == columns, f"{name}: {line}"
        out.append(tuple(cells))
    return out

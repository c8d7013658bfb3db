"""Profile addresses in every form: the hand-written table tests/tables/profile_addresses.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.signals import clues_from_text, clues_from_url

TABLE = Path(__file__).resolve().parent / "tables" / "profile_addresses.md"


def rows() -> list[tuple[str, str, str]]:
    out = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith(("| kind", "|---")):
            continue
        kind, text, names = (c.strip() for c in line.strip().strip("|").split("|"))
        out.append((kind, text, names))
    return out


ROWS = rows()


@pytest.mark.parametrize(("kind", "text", "names"), ROWS)
def test_profile_address(kind: str, text: str, names: str) -> None:
    clues = clues_from_url(text, "bio-url") if kind == "link" else clues_from_text(text, "bio")
    got = sorted({f"{c.network}:{c.value}" for c in clues})
    assert got == ([] if names == "none" else [names])


def test_the_table_is_there() -> None:
    assert len(ROWS) >= 30

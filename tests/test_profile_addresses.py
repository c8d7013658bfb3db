"""Profile addresses in every form: the hand-written table tests/tables/profile_addresses.md."""

from __future__ import annotations

import pytest

from server.resolve.signals import clues_from_text, clues_from_url
from tests import mdtable


def rows() -> list[tuple[str, ...]]:
    return mdtable.rows("profile_addresses.md", 3)


ROWS = rows()


@pytest.mark.parametrize(("kind", "text", "names"), ROWS)
def test_profile_address(kind: str, text: str, names: str) -> None:
    clues = clues_from_url(text, "bio-url") if kind == "link" else clues_from_text(text, "bio")
    got = sorted({f"{c.network}:{c.value}" for c in clues})
    assert got == ([] if names == "none" else [names])


def test_the_table_is_there() -> None:
    assert len(ROWS) >= 30

"""One destination, one owner: the hand-written cases of `tests/tables/one_owner.md` through
`server.owners.settle` (the results page's twin runs them in Chromium: tests/e2e/test_owners.py),
and the rule applied over a whole list by `passerelle resolve`."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from server.resolve.owners import settle

TABLE = Path(__file__).resolve().parent / "tables" / "one_owner.md"


def cases() -> dict[str, list[dict[str, str]]]:
    """Case name → its rows, in list order."""
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    keys = ("case", "x", "net", "dest", "level", "reasons", "want_level", "want_by")
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith(("| case", "|---")):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == len(keys), line
        row = dict(zip(keys, cells, strict=True))
        out[row["case"]].append(row)
    return dict(out)


def as_results(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The rows as the service answers them."""
    results = []
    for row in rows:
        match: dict[str, Any] = {"level": row["level"], "reasons": row["reasons"].split()}
        if row["net"] == "bluesky":
            match.update(did=row["dest"], handle=row["dest"].rsplit(":", 1)[-1] + ".test")
        else:
            match["acct"] = row["dest"]
        other = "mastodon" if row["net"] == "bluesky" else "bluesky"
        results.append({"handle": row["x"], row["net"]: match, other: None})
    return results


def outcome(results: list[dict[str, Any]], rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [
        (r[row["net"]]["level"], r[row["net"]].get("claimed_by") or "")
        for r, row in zip(results, rows, strict=True)
    ]


CASES = cases()


def test_the_table_is_there() -> None:
    assert len(CASES) >= 8


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_owner(name: str) -> None:
    rows = CASES[name]
    results = as_results(rows)
    before = [dict(r) for r in results]
    settled = settle(results)
    assert outcome(settled, rows) == [(r["want_level"], r["want_by"]) for r in rows]
    assert results == before  # the input is left as it was
    for r, row in zip(settled, rows, strict=True):
        dropped = row["want_by"] != ""
        assert ("claimed-by-other" in r[row["net"]]["reasons"]) == dropped
    assert settle(settled) == settled  # settling twice changes nothing

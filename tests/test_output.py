"""The exporters of `passerelle resolve`: no cell a spreadsheet would run as a formula (CSV
injection, OWASP), and Mastodon's import file left exactly as Mastodon reads it."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from server.resolve.output import to_csv, to_mastodon_csv

HOSTILE = [
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def result(url: str, reason: str) -> dict[str, Any]:
    """A match whose fields came from a remote server (the URL and reasons are its words)."""
    return {
        "handle": "alice_m",
        "bluesky": {
            "handle": "a.bsky.social",
            "level": "possible",
            "reasons": [reason],
            "url": url,
        },
        "mastodon": {
            "acct": "alice@piaille.fr",
            "level": "confirmed",
            "reasons": ["bio-handle"],
            "url": url,
            "bridged": False,
        },
        "error": None,
    }


@pytest.mark.parametrize("value", HOSTILE)
def test_no_cell_begins_a_formula(value: str) -> None:
    rows = list(csv.reader(io.StringIO(to_csv([result(value, value)]))))
    cells = [c for row in rows[1:] for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert f"'{value}" in cells  # kept, only shown as text


def test_plain_cells_untouched_and_the_mastodon_file_as_mastodon_reads_it() -> None:
    rows = list(csv.reader(io.StringIO(to_csv([result("https://a.example", "bio-url")]))))
    assert rows[1][:5] == ["alice_m", "a.bsky.social", "possible", "bio-url", "https://a.example"]
    assert to_mastodon_csv([result("=x", "=y")]).splitlines() == [
        "Account address,Show boosts,Notify on new posts,Languages",
        "alice@piaille.fr,true,false,",
    ]

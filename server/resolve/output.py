"""Pure: render a resolve response as JSON, a CSV of everything, or Mastodon's import CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

PRESELECTED = ("confirmed", "likely")
MASTODON_HEADER = ["Account address", "Show boosts", "Notify on new posts", "Languages"]
MASTODON_MAX_ROWS = 20_000
CSV_HEADER = [
    "x_handle",
    "bluesky_handle",
    "bluesky_level",
    "bluesky_reasons",
    "bluesky_url",
    "mastodon_acct",
    "mastodon_level",
    "mastodon_reasons",
    "mastodon_url",
    "mastodon_bridged",
    "error",
]


# A spreadsheet takes a cell that begins with one of these for a formula (OWASP, "CSV
# Injection"): names, bios, URLs and display names come from strangers and remote servers.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: a leading `'` before a would-be formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_json(response: dict[str, Any]) -> str:
    return json.dumps(response, ensure_ascii=False, indent=2) + "\n"


def to_csv(results: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    # RFC 4180 line ends: the writer then quotes a cell holding a lone CR too (with "\n" it
    # wrote it bare, and the file broke for every reader).
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    for r in results:
        b, m, err = r.get("bluesky") or {}, r.get("mastodon") or {}, r.get("error") or {}
        w.writerow(
            cell(v)
            for v in [
                r["handle"],
                b.get("handle", ""),
                b.get("level", ""),
                " ".join(b.get("reasons", [])),
                b.get("url", ""),
                m.get("acct", ""),
                m.get("level", ""),
                " ".join(m.get("reasons", [])),
                m.get("url", ""),
                "true" if m.get("bridged") else ("false" if m else ""),
                err.get("code", ""),
            ]
        )
    return buf.getvalue()


def to_mastodon_csv(
    results: Iterable[dict[str, Any]],
    levels: Iterable[str] = PRESELECTED,
    include_bridged: bool = False,
) -> str:
    """Mastodon's "Import following list" file, pre-selected matches only, each account once.

    Bluesky accounts bridged to the fediverse (Bridgy Fed) only with `include_bridged`: for
    someone who will not follow those people on Bluesky, or they get every post twice."""
    wanted = set(levels)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(MASTODON_HEADER)
    seen: set[str] = set()
    for r in results:
        m = r.get("mastodon")
        if not m or m.get("level") not in wanted or m["acct"] in seen:
            continue
        if m.get("bridged") and not include_bridged:
            continue
        seen.add(m["acct"])
        w.writerow([m["acct"], "true", "false", ""])
        if len(seen) >= MASTODON_MAX_ROWS:
            break
    return buf.getvalue()

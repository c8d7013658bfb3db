"""Scoring a resolve response against a labelled world (shared by the tests and benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PRESELECTED = ("confirmed", "likely")


def ident(net: str, match: dict[str, Any] | None) -> str | None:
    if not match:
        return None
    return match["handle"] if net == "bluesky" else match["acct"]


@dataclass
class Score:
    network: str
    preselected: int = 0
    correct: int = 0
    wrong: list[tuple[str, str, str | None, str, str]] = field(default_factory=list)
    findable: int = 0
    found: int = 0
    missed: list[tuple[str, str, str | None]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct / self.preselected if self.preselected else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.findable if self.findable else 1.0

    def line(self) -> str:
        return (
            f"{self.network:9} precision {self.precision:.4f} ({self.correct}/{self.preselected})"
            f"  recall {self.recall:.4f} ({self.found}/{self.findable})"
            f"  false follows {len(self.wrong)}"
        )


def score(
    accounts: list[dict[str, Any]],
    results: list[dict[str, Any]],
    networks: tuple[str, ...] = ("bluesky", "mastodon"),
) -> dict[str, Score]:
    out = {n: Score(n) for n in networks}
    for acc, res in zip(accounts, results, strict=True):
        assert acc["handle"] == res["handle"]
        for net in networks:
            s = out[net]
            truth = acc["expect"][net]
            got = res[net]
            got_id = ident(net, got)
            if got and got["level"] in PRESELECTED:
                s.preselected += 1
                if got_id == truth:
                    s.correct += 1
                else:
                    s.wrong.append((acc["case"], acc["handle"], truth, got_id or "", got["level"]))
            if acc["findable"][net]:
                s.findable += 1
                if got and got["level"] in PRESELECTED and got_id == truth:
                    s.found += 1
                else:
                    s.missed.append((acc["case"], acc["handle"], truth))
    return out


def by_case(
    accounts: list[dict[str, Any]],
    results: list[dict[str, Any]],
    networks: tuple[str, ...] = ("bluesky", "mastodon"),
) -> dict[str, dict[str, int]]:
    """Per family (`case`): accounts, strangers pre-selected, and the findable found, over both
    networks: what the README's per-family table shows."""
    out: dict[str, dict[str, int]] = {}
    for acc, res in zip(accounts, results, strict=True):
        row = out.setdefault(
            acc["case"], {"accounts": 0, "strangers": 0, "findable": 0, "found": 0}
        )
        row["accounts"] += 1
        for net in networks:
            got = res[net]
            ok = got is not None and ident(net, got) == acc["expect"][net]
            if got and got["level"] in PRESELECTED and not ok:
                row["strangers"] += 1
            if acc["findable"][net]:
                row["findable"] += 1
                row["found"] += int(bool(got and got["level"] in PRESELECTED and ok))
    return out


def family_lines(table: dict[str, dict[str, int]], only: set[str] | None = None) -> list[str]:
    """One line per family: `case  accounts  strangers pre-selected  found/findable`."""
    lines = []
    for case in sorted(table):
        if only is not None and case not in only:
            continue
        r = table[case]
        lines.append(
            f"{case:22} {r['accounts']:4} accounts  {r['strangers']} strangers pre-selected  "
            f"found {r['found']}/{r['findable']}"
        )
    return lines

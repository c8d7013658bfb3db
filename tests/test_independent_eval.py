"""The second yardstick: the 1,209 real X accounts of the recordings, labelled by hand in
`tests/tables/real_x.md` (see `tests/independent.py`), resolved by the real service through its
HTTP API in batches of 100 as the extension sends them. Figures are printed (`-s`)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Served, post_json, service_env, x_accounts
from tests.evaluation import PRESELECTED, ident, score
from tests.independent import NONE, apply_later, build, later_rows, real_people, table_rows
from tests.standins.internet import Internet
from tests.test_evaluation import MIN_PRECISION, MIN_RECALL

ROOT = Path(__file__).resolve().parent.parent

# Anything that names, or looks like it names, an account elsewhere: an `@` inside a word or
# before a dotted name, a `/@` URL, a network's name. The table must hold every such person.
ADDRESS_LIKE = re.compile(
    r"\w@\w|@[\w-]+\.[\w.-]+|/@|bsky|bluesky|mastodon|fediverse|threads|🦋|🐘", re.IGNORECASE
)


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    return build()


def test_the_table_holds_every_person_who_names_an_address() -> None:
    """Every real account whose text looks like it names an address has its hand-written row,
    so "not in the table: nothing pre-selected" is a reading, not a guess."""
    in_table = {r["x"].lower() for r in table_rows()}
    unread = []
    for p in real_people():
        text = " ".join([p["name"], p["description"], p["url"] or "", *p["links"]])
        if ADDRESS_LIKE.search(text) and p["handle"].lower() not in in_table:
            unread.append((p["handle"], ADDRESS_LIKE.search(text).group(0)))  # type: ignore[union-attr]
    assert not unread, f"add these to tests/tables/real_x.md: {unread}"


def test_the_world_is_real_people_and_strangers(world: dict[str, Any]) -> None:
    accounts = world["accounts"]
    assert len(accounts) == len({a["handle"].lower() for a in accounts}) >= 1200
    rows = table_rows()
    assert len(rows) >= 40
    assert sum(a["findable"]["bluesky"] for a in accounts) >= 8
    assert sum(a["findable"]["mastodon"] for a in accounts) >= 5
    # Namesakes and squatters for most people, on both networks.
    assert len(world["bluesky"]) >= 0.8 * len(accounts)
    assert len(world["servers"]["mastodon.social"]["accounts"]) >= 0.8 * len(accounts)
    named = {r["bluesky"] for r in rows} | {r["mastodon"] for r in rows}
    assert NONE in named  # traps with no answer


@pytest.fixture(scope="module")
def resolved(
    world: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[dict[str, Any]], int]]:
    net = Internet(world)
    served = Served(service_env(net, tmp_path_factory.mktemp("independent")))
    try:
        accounts = x_accounts(world)
        results: list[dict[str, Any]] = []
        requests = 0
        for i in range(0, len(accounts), 100):
            status, body = post_json(
                served.url + "/api/resolve", {"accounts": accounts[i : i + 100]}, timeout=600
            )
            assert status == 200, body
            results += body["results"]
            requests += body["stats"]["upstream_requests"]
        yield results, requests
    finally:
        served.stop()
        net.stop()


def test_precision_and_recall_on_real_people(
    world: dict[str, Any], resolved: tuple[list[dict[str, Any]], int]
) -> None:
    results, requests = resolved
    assert all(r["error"] is None for r in results), [r for r in results if r["error"]][:3]
    scores = score(world["accounts"], results)
    figures = "\n".join(
        [
            f"real X accounts: {len(results)} accounts, {requests} upstream requests "
            f"({requests / len(results):.2f} per account)",
            *(s.line() for s in scores.values()),
        ]
    )
    print("\n" + figures)
    published = (ROOT / "docs" / "matching.md").read_text(encoding="utf-8")
    assert figures in published, f"docs/matching.md is out of date; the figures now:\n{figures}"
    for s in scores.values():
        assert not s.wrong, f"{s.network}: pre-selected strangers: {s.wrong}"
        assert s.precision >= MIN_PRECISION, s.line()
        assert s.recall >= MIN_RECALL, f"{s.line()}\nmissed: {s.missed}"
    assert requests <= 1.2 * len(results)


def test_no_destination_is_ticked_twice(resolved: tuple[list[dict[str, Any]], int]) -> None:
    results, _ = resolved
    for net in ("bluesky", "mastodon"):
        ticked = Counter(
            ident(net, r[net]) for r in results if r[net] and r[net]["level"] in PRESELECTED
        )
        assert not [k for k, n in ticked.items() if n > 1], net


def test_the_same_people_later(tmp_path: Path) -> None:
    """`tests/tables/real_x_later.md`: the real people's addresses taken by others, profiles
    naming them back that say they are not them. Nothing of it may be pre-selected, except an
    archive's counterpart for an X account that is itself an archive."""
    world = apply_later(build())
    net = Internet(world)
    served = Served(service_env(net, tmp_path))
    try:
        status, body = post_json(
            served.url + "/api/resolve", {"accounts": x_accounts(world)}, timeout=600
        )
        assert status == 200, body
    finally:
        served.stop()
        net.stop()
    rows = {r["x"].lower(): r for r in later_rows()}
    assert len(rows) >= 10 and {r["kind"] for r in rows.values()} == {
        "recycled",
        "disclaims",
        "automated",
    }
    for acc, res in zip(world["accounts"], body["results"], strict=True):
        row = rows[acc["handle"].lower()]
        got = res[row["network"]]
        picked = ident(row["network"], got) if got and got["level"] in PRESELECTED else None
        assert picked == (None if row["answer"] == NONE else row["answer"]), (row, got)
    scores = score(world["accounts"], body["results"])
    assert all(not s.wrong for s in scores.values()), [s.wrong for s in scores.values()]

"""One destination, one owner, on the results page: its `settleOwners` (pages/owners.js) runs
the hand-written cases of tests/tables/one_owner.md in Chromium, and the page settles the whole
list as batches arrive, in words, in English and French."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import extension_context
from tests.test_owners import CASES, as_results

KEY = "asso/following"


def test_the_pages_twin_follows_the_same_table(playwright: Any, extension_dir: Any) -> None:
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        page = ctx.new_page()
        page.goto(f"chrome-extension://{ext_id}/pages/results.html")
        for name, rows in CASES.items():
            settled = page.evaluate("list => settleOwners(list)", as_results(rows))
            got = [
                (r[row["net"]]["level"], r[row["net"]].get("claimed_by") or "")
                for r, row in zip(settled, rows, strict=True)
            ]
            assert got == [(r["want_level"], r["want_by"]) for r in rows], name


def match(did: str, handle: str, name: str, level: str, reasons: list[str]) -> dict[str, Any]:
    return {
        "handle": handle,
        "did": did,
        "url": f"https://bsky.app/profile/{handle}",
        "display_name": name,
        "avatar": None,
        "level": level,
        "reasons": reasons,
        "bridged": False,
    }


def answer(x: str, bluesky: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "handle": x,
        "bluesky": bluesky,
        "mastodon": None,
        "candidates": {"bluesky": [], "mastodon": []},
        "error": None,
    }


ASSO = ("did:plc:asso", "velo-poitiers.org", "Vélo Poitiers")
SEED = """([key, order, results]) => chrome.storage.local.set({
  [`scan:${key}`]: {key, state: 'done', order: order.map((h) => h.toLowerCase()),
    accounts: Object.fromEntries(order.map((h) => [h.toLowerCase(),
      {handle: h, name: h, bio: '', links: [], follows_you: false}]))},
  [`results:${key}`]: results, current: key})"""


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("en-US", "Claimed by @velo_poitiers in this list, with stronger proof"),
        ("fr-FR", "Revendiqué par @velo_poitiers dans cette liste, avec une preuve plus forte"),
    ],
)
def test_a_later_batch_with_stronger_proof_takes_the_destination(
    playwright: Any, extension_dir: Any, locale: str, words: str
) -> None:
    order = ["claire_d", "marc_p", "velo_poitiers"]
    first = {  # the first batch: a volunteer's bio names the association's account
        "claire_d": answer("claire_d", match(*ASSO, "confirmed", ["bio-handle"])),
        "marc_p": answer("marc_p", None),
    }
    with extension_context(playwright, extension_dir, locale=locale) as (ctx, ext_id):
        page = ctx.new_page()
        page.goto(f"chrome-extension://{ext_id}/pages/options.html")
        page.evaluate(SEED, [KEY, order, first])
        results = ctx.new_page()
        results.goto(f"chrome-extension://{ext_id}/pages/results.html?list={KEY}")
        claire = results.locator('[data-handle="claire_d"]')
        expect(claire.get_by_test_id("select-bluesky")).to_be_checked()
        # The last batch: the association's own X account, same name, arrives.
        later = {
            **first,
            "velo_poitiers": answer(
                "velo_poitiers", match(*ASSO, "confirmed", ["bio-handle", "same-name"])
            ),
        }
        page.evaluate("([k, r]) => chrome.storage.local.set({[`results:${k}`]: r})", [KEY, later])
        own = results.locator('[data-handle="velo_poitiers"]')
        expect(own.get_by_test_id("select-bluesky")).to_be_checked()
        expect(claire.get_by_test_id("bluesky-level")).to_have_attribute("data-level", "possible")
        expect(claire.get_by_test_id("select-bluesky")).not_to_be_checked()
        expect(claire.locator("[data-testid=bluesky-reasons] li[data-reason]")).to_have_text(
            [
                "The X bio gives this address"
                if locale == "en-US"
                else "La bio X donne cette adresse",
                words,
            ]
        )
        # A box the user ticks stays theirs when more answers come.
        claire.get_by_test_id("select-bluesky").check()
        marc = match("did:plc:marc", "marc.bsky.social", "Marc", "confirmed", ["bio-handle"])
        more = {**later, "marc_p": answer("marc_p", marc)}
        page.evaluate("([k, r]) => chrome.storage.local.set({[`results:${k}`]: r})", [KEY, more])
        marc_row = results.locator('[data-handle="marc_p"]')
        expect(marc_row.get_by_test_id("bluesky-link")).to_have_text("@marc.bsky.social")
        expect(claire.get_by_test_id("select-bluesky")).to_be_checked()
        expect(own.get_by_test_id("select-bluesky")).to_be_checked()

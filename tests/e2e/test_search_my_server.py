"""The results page asks the user's own Mastodon server, once they allow it, to search for the
people not yet found on the fediverse: a profile there that names their X account is proof
(#11's link-back search). Chromium with the built extension, the real service, the stand-in
server's consent page and `/api/v2/search` (answered as Mastodon does)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import extension_context
from tests.standins.internet import Internet

KEY = "owner/following"
SEED = """([key, rows]) => {
  const order = [], accounts = {}, results = {};
  rows.forEach(([x, name]) => {
    order.push(x);
    accounts[x] = {handle: x, name, bio: '', url: null, links: [], id: '1', follows_you: false};
    results[x] = {handle: x, error: null, bluesky: null, mastodon: null,
                  candidates: {bluesky: [], mastodon: []}};
  });
  return chrome.storage.local.set({[`scan:${key}`]: {key, order, accounts, state: 'done'},
                                   [`results:${key}`]: results, current: key});
}"""


def _acc(user: str, name: str, note: str) -> dict[str, Any]:
    return {
        "username": user,
        "display_name": name,
        "note": f"<p>{note}</p>",
        "fields": [],
        "bot": False,
        "moved": None,
        "discoverable": True,
    }


@pytest.fixture
def federated(e2e_internet: Internet) -> Iterator[None]:
    """A server only the user's own one federates with: Gus there says "ex-Twitter"; Hugo's
    profile shares the X handle as a word but does not say it is his."""
    servers = e2e_internet.world.servers
    servers["far.example"] = {
        "software": "mastodon",
        "version": "4.3.2",
        "accounts": {
            "gus": _acc("gus", "Gus", "Ex-Twitter: x.com/gus_x"),
            "hugo_x": _acc("hugo_x", "Hugo", "Podcasts"),
        },
    }
    servers["home.social"]["knows"] = ["gus@far.example", "hugo_x@far.example"]
    try:
        yield
    finally:
        servers.pop("far.example", None)
        servers["home.social"].pop("knows", None)


def test_search_my_server_from_the_results_page(
    playwright: Any, extension_dir: Path, e2e_internet: Internet, federated: None
) -> None:
    rows = [["gus_x", "Gus"], ["hugo_x", "Hugo"], ["ines_x", "Inès"]]
    proxy = e2e_internet.env["HTTPS_PROXY"]
    with extension_context(playwright, extension_dir, proxy=proxy) as (ctx, ext_id):
        page = ctx.new_page()
        page.goto(f"chrome-extension://{ext_id}/pages/options.html")
        page.evaluate(SEED, [KEY, rows])
        page.goto(f"chrome-extension://{ext_id}/pages/results.html?list={KEY}")
        expect(page.get_by_test_id("row")).to_have_count(3)
        page.get_by_test_id("action-mastodon").click()
        search = page.get_by_test_id("masto-search")
        expect(search).to_have_text("Search my server for the 3 not found")
        page.get_by_test_id("masto-server").fill("home.social")
        with ctx.expect_page() as consent_page:
            search.click()
        consent = consent_page.value
        authorize = consent.get_by_role("button", name="Authorize")
        expect(authorize).to_be_visible(timeout=60_000)
        authorize.click()
        status = page.get_by_test_id("masto-status")
        expect(status).to_have_attribute("data-status", "searched", timeout=60_000)
        expect(status).to_have_text("Your server found 1 more (of 3 searched).")
        gus = page.locator('[data-handle="gus_x"]')
        expect(gus.locator('td[data-net="mastodon"]')).to_contain_text("gus@far.example")
        expect(gus.get_by_test_id("select-mastodon")).to_be_checked()
        hugo = page.locator('[data-handle="hugo_x"]')
        expect(hugo.locator('td[data-net="mastodon"]')).not_to_contain_text("far.example")
        expect(search).to_have_text("Search my server for the 2 not found")
        everything = page.evaluate("chrome.storage.local.get(null)")
    asked = [p for h, p in e2e_internet.control.paths if h == "home.social"]
    assert any(p.startswith("/api/v2/search") for p in asked)
    assert "tok-" not in repr(everything)  # the token stayed in the service's memory

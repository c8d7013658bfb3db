"""Everyone can use the extension's pages: axe-core finds no violation of impact serious or
critical on any view (the results page under each filter, the review of suggestions, the follow
panels, the exports menu, the announcement, a narrow window; the options; the popup), in
English and in French, light and dark; the steps are reachable and operable by keyboard with a
visible focus; the progress is announced; the list is a named table with headed columns; rows
become cards on a 360 px window without anything running off its side.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import extension_context
from tests.e2e.axe import blocking

SEED = (Path(__file__).with_name("seed_results.js")).read_text(encoding="utf-8")
KEY = "big/following"

# What the generated list lacks, so that every kind of row is audited: a new arrival, one gone
# since the last check, one that could not be checked, a bridged match with other candidates,
# and the outcome of a follow (followed, already followed, not followed with why).
VARIETY = """async (key) => {
  const rk = `results:${key}`;
  const results = (await chrome.storage.local.get(rk))[rk];
  results.user0.mastodon.new = true;
  results.user3.bluesky = { ...results.user3.bluesky, gone: true, reasons: ['gone'] };
  results.user2 = { ...results.user2, error: { code: 'upstream', message: 'timeout' } };
  results.user8.mastodon = { acct: 'user8.bsky.social@bsky.brid.gy', url: 'https://bsky.brid.gy/r/x',
    display_name: 'User 8', avatar: null, level: 'likely', reasons: ['bridged'], bridged: true };
  results.user8.candidates = { bluesky: [], mastodon: [{ acct: 'user8@mastodon.social',
    url: 'https://mastodon.social/@user8', display_name: 'User 8', level: 'possible',
    reasons: ['same-name'] }] };
  await chrome.storage.local.set({
    [rk]: results,
    [`checked:${key}`]: { at: Date.now() },
    [`follow:${key}`]: { status: 'done', counts: { followed: 1, skipped: 1, failed: 1, pending: 0 },
      accounts: { 'did:plc:user1': { status: 'followed' }, 'did:plc:user7': { status: 'skipped' },
        'did:plc:user9': { status: 'failed', error: 'blocked by the account' } } },
  });
}"""


def seeded_results(ctx: Any, ext_id: str, n: int = 30) -> Any:
    page = ctx.new_page()
    page.goto(f"chrome-extension://{ext_id}/pages/options.html")
    page.evaluate(SEED, n)
    page.evaluate(VARIETY, KEY)
    page.goto(f"chrome-extension://{ext_id}/pages/results.html?list={KEY}")
    expect(page.get_by_test_id("row")).to_have_count(n)
    expect(page.get_by_test_id("follow-outcome")).to_have_count(3)
    return page


def results_views(page: Any) -> Iterator[str]:
    """Puts the results page in each state in turn and names it."""
    yield "results"
    for value in ("confirmed", "likely", "possible"):
        page.get_by_test_id("filter-level").select_option(value)
        yield f"level filter {value}"
    page.get_by_test_id("filter-level").select_option("")
    for value in ("bluesky", "mastodon"):
        page.get_by_test_id("filter-network").select_option(value)
        yield f"network filter {value}"
    page.get_by_test_id("filter-network").select_option("")
    for hook in ("filter-notfound", "filter-followsyou", "filter-new"):
        page.get_by_test_id(hook).check()
        yield hook
        page.get_by_test_id(hook).uncheck()
    page.get_by_test_id("search").fill("user1")
    yield "search"
    page.get_by_test_id("search").fill("")
    page.locator('[data-handle="user1"] [data-testid=bluesky-level]').click()  # its reasons
    page.locator('[data-handle="user8"] [data-testid=mastodon-candidates] summary').click()
    yield "reasons and other candidates open"
    page.get_by_test_id("exports").click()
    expect(page.get_by_test_id("export-json")).to_be_visible()
    yield "exports menu"
    page.keyboard.press("Escape")
    page.get_by_test_id("review-possibles").click()
    expect(page.get_by_test_id("review-text")).to_have_attribute("data-reviewing", "user5")
    yield "review of suggestions"
    page.keyboard.press("Escape")
    page.get_by_test_id("action-both").click()
    expect(page.get_by_test_id("follow-panel")).to_be_visible()
    expect(page.get_by_test_id("mastodon-panel")).to_be_visible()
    yield "follow panels"
    page.get_by_test_id("announce-panel").locator("summary").click()
    expect(page.get_by_test_id("announce-text")).to_be_visible()
    yield "announcement"
    page.set_viewport_size({"width": 360, "height": 780})
    yield "narrow window"


def audit_both_themes(page: Any, view: str, found: list[str]) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        found.extend(blocking(page, f"{view} ({scheme})"))


@pytest.mark.parametrize("locale", ["en-US", "fr-FR"])
def test_no_serious_or_critical_violation_on_any_view(
    playwright: Any, extension_dir: Any, locale: str
) -> None:
    found: list[str] = []
    with extension_context(playwright, extension_dir, locale=locale) as (ctx, ext_id):
        page = seeded_results(ctx, ext_id)
        seen = []
        for view in results_views(page):
            seen.append(view)
            audit_both_themes(page, view, found)
        assert len(seen) == 16  # every state above was reached
        for name in ("options", "popup"):
            other = ctx.new_page()
            other.goto(f"chrome-extension://{ext_id}/pages/{name}.html")
            expect(other.locator("main")).to_be_visible()
            audit_both_themes(other, name, found)
    assert not found, "\n".join(found)


WHO = "document.activeElement.dataset.testid || document.activeElement.tagName"


def test_keyboard_alone_reaches_every_step_with_a_visible_focus(
    playwright: Any, extension_dir: Any
) -> None:
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        page = seeded_results(ctx, ext_id)

        def tab_to(testid: str, limit: int = 60) -> None:
            seen = []
            for _ in range(limit):
                page.keyboard.press("Tab")
                seen.append(page.evaluate(WHO))
                if seen[-1] == testid:
                    return
            raise AssertionError(f"Tab never reached {testid}: {seen}")

        def focus_ring() -> bool:
            return bool(
                page.evaluate(
                    "() => { const s = getComputedStyle(document.activeElement);"
                    " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"
                )
            )

        # The first stop skips to the list.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.classList.contains('skip-link')")
        assert focus_ring()
        # The menu opens with Enter and Escape closes it, the focus back on its button.
        tab_to("exports")
        assert focus_ring()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("exports")).to_have_attribute("aria-expanded", "true")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.dataset.testid") == "export-mastodon"
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("export-mastodon")).to_be_hidden()
        assert page.evaluate("document.activeElement.dataset.testid") == "exports"
        # Step 1 by keyboard: the review starts, answered with Y.
        tab_to("review-possibles")
        page.keyboard.press("Enter")
        text = page.get_by_test_id("review-text")
        expect(text).to_have_attribute("data-reviewing", "user5")
        page.keyboard.press("y")
        expect(text).to_have_attribute("data-reviewing", "user11")
        page.keyboard.press("Escape")
        # Step 2: the primary action opens its sign-in, the focus in its first field.
        tab_to("action-bluesky")
        assert focus_ring()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("follow-panel")).to_be_visible()
        expect(page.get_by_test_id("action-bluesky")).to_have_attribute("aria-expanded", "true")
        assert page.evaluate("document.activeElement.dataset.testid") == "bsky-handle"
        assert focus_ring()
        # A row's match is selected with the space bar.
        box = page.locator('[data-handle="user1"] [data-testid=select-bluesky]')
        expect(box).to_be_checked()
        box.focus()
        assert focus_ring()
        page.keyboard.press(" ")
        expect(box).not_to_be_checked()


def test_screen_readers_hear_the_progress_and_a_named_table(
    playwright: Any, extension_dir: Any
) -> None:
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        page = seeded_results(ctx, ext_id)
        expect(page.get_by_test_id("progress")).to_have_attribute("aria-live", "polite")
        expect(page.get_by_test_id("progress")).to_have_attribute("role", "status")
        table = page.get_by_role("table", name="Everyone on the list")
        expect(table).to_have_count(1)
        expect(table.get_by_role("columnheader")).to_have_text(["On X", "Bluesky", "Fediverse"])
        expect(table.get_by_role("row")).to_have_count(31)  # the header and 30 people
        expect(page.get_by_role("main")).to_have_count(1)
        follow = page.get_by_role("button", name=re.compile(r"^Follow \d+ on Bluesky$"))
        expect(follow).to_be_visible()


# Cumulative layout shift: "good" is below 0.1 (web.dev/articles/cls), from the page's start.
CLS = """() => new Promise((resolve) => {
  let total = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (!e.hadRecentInput) total += e.value;
  }).observe({ type: 'layout-shift', buffered: true });
  setTimeout(() => resolve(total), 500);
})"""
# The same from now on, added up in the page while something happens.
WATCH = """() => {
  window.shifts = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (!e.hadRecentInput) window.shifts += e.value;
  }).observe({ type: 'layout-shift' });
}"""

# Answers arriving for the people not found yet, as a resolve or a check again writes them.
ARRIVE = """async (key) => {
  const rk = `results:${key}`;
  const results = (await chrome.storage.local.get(rk))[rk];
  for (const [h, r] of Object.entries(results)) {
    if (r.bluesky || r.error) continue;
    r.bluesky = { handle: `${h}.bsky.social`, did: `did:plc:${h}`, display_name: h,
      url: `https://bsky.app/profile/${h}.bsky.social`, avatar: null, level: 'likely',
      reasons: ['same-handle'], bridged: false };
  }
  await chrome.storage.local.set({ [rk]: results });
}"""


def test_narrow_windows_get_cards_and_rows_arrive_without_shifting_the_page(
    playwright: Any, extension_dir: Any
) -> None:
    with extension_context(playwright, extension_dir, viewport=(360, 780)) as (ctx, ext_id):
        page = seeded_results(ctx, ext_id, n=400)
        assert page.evaluate(CLS) < 0.1
        # Answers arrive for the rows on screen: nothing above or around them moves.
        before = page.get_by_test_id("action-bluesky").inner_text()
        page.evaluate(WATCH)
        page.evaluate(ARRIVE, KEY)
        expect(page.get_by_test_id("action-bluesky")).not_to_have_text(before)
        page.evaluate("() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 100)))")
        assert page.evaluate("window.shifts") < 0.1
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        row = page.locator('[data-handle="user5"]')
        # A card: the networks one under the other, each named.
        x_cell, bsky, masto = (row.locator("td").nth(i).bounding_box() for i in range(3))
        assert x_cell and bsky and masto
        assert x_cell["y"] < bsky["y"] < masto["y"]
        assert bsky["x"] == x_cell["x"]
        label = row.locator("td[data-net=bluesky]").evaluate(
            "el => getComputedStyle(el, '::before').content"
        )
        assert label == '"Bluesky"'
        # The primary actions fit the window.
        for hook in ("action-bluesky", "action-mastodon"):
            box = page.get_by_test_id(hook).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360

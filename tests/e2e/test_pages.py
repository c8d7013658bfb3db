"""The extension's own pages and languages: French throughout, options checked against the
service, the popup, a hidden tab pausing the scan, and a results page of 5,000 rows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import extension_context
from tests.e2e.conftest import Recorder
from tests.e2e.helpers import ContentWorld, storage, wait_until
from tests.standins.xcom import XCom, XList

# Fills the extension's storage with a scanned list of n accounts and their answers.
SEED_5000 = (Path(__file__).with_name("seed_results.js")).read_text(encoding="utf-8")
LIST = "/owner/following"
KEY = "owner/following"


def test_french_throughout(
    playwright: Any, extension_dir: Any, accounts: list[dict[str, Any]]
) -> None:
    part = accounts[:40]
    with extension_context(playwright, extension_dir, locale="fr-FR") as (ctx, _):
        XCom([XList(LIST, part, latency_ms=10)]).install(ctx)
        page = ctx.new_page()
        page.goto(f"https://x.com{LIST}")
        button = page.get_by_test_id("passerelle-scan")
        expect(button).to_have_text("Les retrouver sur Bluesky et Mastodon")
        with ctx.expect_page(timeout=120_000) as opened:
            button.click()
            expect(page.get_by_test_id("passerelle-stop")).to_have_text("Arrêter")
        results = opened.value
        expect(results.get_by_test_id("row")).to_have_count(len(part))
        expect(results.locator("h1")).to_have_text("Passerelle — où sont partis vos contacts")
        expect(results.get_by_test_id("counts")).to_contain_text("comptes")
        expect(results.get_by_test_id("summary")).to_contain_text(
            "Sur les 40 comptes de cette liste"
        )
        expect(results.get_by_test_id("action-bluesky")).to_have_text(
            re.compile(r"^Suivre \d+ sur Bluesky$")
        )
        expect(results.get_by_test_id("exports")).to_have_text("Exporter / importer ▾")
        expect(results.get_by_test_id("export-mastodon")).to_have_text(
            "Fichier d’import Mastodon (CSV)"
        )
        assert results.evaluate("document.documentElement.lang") == "fr"
        search = results.get_by_test_id("search")
        expect(search).to_have_attribute("placeholder", "Chercher un nom ou un identifiant")
        assert search.evaluate(  # the hint reads whole, in French too
            "el => { const c = document.createElement('canvas').getContext('2d');"
            " c.font = getComputedStyle(el).font;"
            " return c.measureText(el.placeholder).width < el.clientWidth; }"
        )


def test_options_check_and_save(playwright: Any, extension_dir: Any, recorder: Recorder) -> None:
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        page = ctx.new_page()
        page.goto(f"chrome-extension://{ext_id}/pages/options.html")
        url = page.get_by_test_id("options-url")
        expect(url).to_have_value(recorder.url)
        page.get_by_test_id("options-check").click()
        expect(page.get_by_test_id("options-health")).to_have_text(
            "The service answers (version 0.1.0)."
        )
        url.fill("ftp://nope")
        page.get_by_test_id("options-save").click()
        expect(page.get_by_test_id("options-saved")).to_have_text(
            "Enter an http:// or https:// address."
        )
        url.fill(recorder.url + "/")
        page.get_by_test_id("options-mastodon").uncheck()
        page.get_by_test_id("options-save").click()
        expect(page.get_by_test_id("options-saved")).to_have_text("Saved.")
        assert storage(page, "settings") == {"serviceUrl": recorder.url, "networks": ["bluesky"]}


def test_popup(playwright: Any, extension_dir: Any) -> None:
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        page = ctx.new_page()
        page.goto(f"chrome-extension://{ext_id}/pages/popup.html")
        expect(page.get_by_test_id("popup-status")).to_have_text(
            "Open a following, followers or list members page on X."
        )
        expect(page.get_by_test_id("popup-scan")).to_be_disabled()
        with ctx.expect_page() as opened:
            page.get_by_test_id("popup-open").click()
        expect(opened.value.get_by_test_id("empty")).to_be_visible()


@pytest.mark.parametrize("hook", ["read ahead", "rows only"])
def test_switching_tabs_mid_scan_loses_no_row(
    playwright: Any,
    extension_dir: Any,
    recorder: Recorder,
    accounts: list[dict[str, Any]],
    hook: str,
) -> None:
    """A tab in the background draws nothing, or only now and then: the scan must wait (or,
    reading rows only, step back over rows it scrolled past undrawn), never skip them.

    X's third page is held until the other tab is in front, so the tab is switched mid-list
    however fast or slow the machine is. While the tab is away, animation frames stop in the
    scan's world (what a hidden tab does): it must say it is paused. Then they come back while
    the tab is still behind (headless Chromium draws a background tab now and then), and the
    scan goes on to the end with every row."""
    recorder.clear()
    part = accounts[:400]
    op_name = None if hook == "read ahead" else "FollowingRenamed"  # the hook then sees nothing
    xlist = XList(LIST, part, latency_ms=100, op_name=op_name, hold_from_page=2)
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        XCom([xlist]).install(ctx)
        page = ctx.new_page()
        content = ContentWorld(ctx, page)
        page.goto(f"https://x.com{LIST}")
        page.get_by_test_id("passerelle-scan").click()
        wait_until(page, lambda: bool(xlist.held), "the scan to ask for the third page")
        other = ctx.new_page()
        other.goto(f"chrome-extension://{ext_id}/pages/popup.html")
        other.bring_to_front()
        content.stop_frames()
        xlist.release()
        expect(page.get_by_test_id("passerelle-overlay-text")).to_contain_text("Paused")
        assert len(storage(other, f"scan:{KEY}")["order"]) < len(part)
        with ctx.expect_page(timeout=120_000) as opened:
            content.restart_frames()
        results = opened.value
        expect(results.get_by_test_id("row")).to_have_count(len(part))
    assert [a["handle"] for a in recorder.accounts()] == [a["handle"] for a in part]


def test_results_page_with_5000_rows(playwright: Any, extension_dir: Any) -> None:
    n = 5000
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        page = ctx.new_page()
        page.goto(f"chrome-extension://{ext_id}/pages/options.html")
        page.evaluate(SEED_5000, n)
        results = ctx.new_page()
        results.goto(f"chrome-extension://{ext_id}/pages/results.html?list=big/following")
        expect(results.get_by_test_id("row")).to_have_count(n, timeout=30_000)
        expect(results.get_by_test_id("counts")).to_contain_text("5,000 accounts")
        results.get_by_test_id("search").fill("user4999")
        expect(results.locator("[data-testid=row]:not([hidden])")).to_have_count(1)
        expect(results.get_by_test_id("selected")).to_have_text(
            "1,667 selected on Bluesky · 1,000 selected on the fediverse"
        )
        # Beyond Mastodon's 400 follows a day, the plan is said before starting.
        expect(results.get_by_test_id("masto-plan")).to_contain_text(
            "these 1,000 take about 3 days"
        )


def test_possibles_are_suggestions_reviewed_one_by_one(playwright: Any, extension_dir: Any) -> None:
    """`possible` matches (of 65 possible Bluesky rows on a real list, 4 were the person) are set
    apart as suggestions, never ticked, and reviewed with yes / no / skip, by keyboard too; the
    verdicts tick or set aside the match and are kept with the list."""
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        page = ctx.new_page()
        page.goto(f"chrome-extension://{ext_id}/pages/options.html")
        page.evaluate(SEED_5000, 30)  # possibles on Bluesky: user5, 11, 17, 23, 29
        results = ctx.new_page()
        results.goto(f"chrome-extension://{ext_id}/pages/results.html?list=big/following")
        expect(results.get_by_test_id("row")).to_have_count(30)
        button = results.get_by_test_id("review-possibles")
        expect(button).to_have_text("Review the suggestions (5)")

        def cell(handle: str) -> Any:
            return results.locator(f'[data-handle="{handle}"] td[data-net="bluesky"]')

        for handle in ("user5", "user11"):
            expect(cell(handle).get_by_test_id("bluesky-suggestion")).to_be_visible()
            expect(cell(handle).get_by_test_id("select-bluesky")).not_to_be_checked()
            expect(cell(handle).locator(".match.suggestion")).to_have_count(1)
        expect(cell("user1").get_by_test_id("bluesky-suggestion")).to_have_count(0)  # likely

        button.click()
        text = results.get_by_test_id("review-text")
        expect(text).to_have_attribute("data-reviewing", "user5")
        expect(results.locator('[data-handle="user5"]')).to_have_class("reviewing")
        results.keyboard.press("y")
        expect(text).to_have_attribute("data-reviewing", "user11")
        expect(cell("user5").get_by_test_id("select-bluesky")).to_be_checked()
        results.keyboard.press("n")
        expect(text).to_have_attribute("data-reviewing", "user17")
        expect(cell("user11").locator(".match.rejected")).to_have_count(1)
        expect(cell("user11").get_by_test_id("select-bluesky")).not_to_be_checked()
        results.keyboard.press("s")
        expect(text).to_have_attribute("data-reviewing", "user23")
        results.keyboard.press("Escape")
        expect(results.get_by_test_id("review-panel")).to_be_hidden()
        expect(button).to_have_text("Review the suggestions (3)")

        # Kept with the list: a reload shows the same verdicts.
        results.reload()
        expect(results.get_by_test_id("row")).to_have_count(30)
        expect(cell("user5").get_by_test_id("select-bluesky")).to_be_checked()
        expect(cell("user11").get_by_test_id("bluesky-suggestion")).to_have_attribute(
            "data-verdict", "no"
        )
        cell("user11").get_by_test_id("bluesky-undo").click()
        expect(cell("user11").get_by_test_id("bluesky-accept")).to_be_visible()
        expect(button).to_have_text("Review the suggestions (4)")
        # The reviewed match is what the Mastodon/Bluesky selection counts.
        expect(results.get_by_test_id("selected")).to_contain_text("selected on Bluesky")

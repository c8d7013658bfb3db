"""Checking again from the extension (issue #21): a list resolved once; weeks later one person
has joined Bluesky and one has deleted their account. The user chose a weekly schedule when
the results page asked; its alarm fires, the background re-checks the list, the toolbar badge
counts the new arrival and a notification says so; the results page marks the
new row, filters it, says who is gone, and narrows the selection to the new ones for the
usual follow flows. Chromium with the built extension and the real service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import extension_context
from tests.e2e.helpers import SEED_SCAN, storage, wait_until
from tests.standins.internet import Internet, add_bsky_profile, delete_bsky_profile
from tests.standins.world import _did

KEY = "owner/following"
SEED = SEED_SCAN
ROWS = [["arrive_x", "Zélie Arrivée"], ["leave_x", "Léon Départ"], ["stay_x", "Sacha Resté"]]


def _profile(handle: str, name: str, bio: str) -> dict[str, Any]:
    return {
        "did": _did("recheck-" + handle),
        "handle": handle,
        "displayName": name,
        "description": bio,
        "labels": [],
        "links": [],
    }


@pytest.fixture
def people(e2e_internet: Internet) -> Iterator[None]:
    """Léon is on Bluesky at the first check (his profile names his X account back)."""
    add_bsky_profile(
        e2e_internet.world, _profile("leon-depart.bsky.social", "Léon Départ", "x.com/leave_x")
    )
    try:
        yield
    finally:
        delete_bsky_profile(e2e_internet.world, "leon-depart.bsky.social")
        delete_bsky_profile(e2e_internet.world, "zelie-arrivee.bsky.social")


def _job(page: Any) -> dict[str, Any]:
    return storage(page, f"job:{KEY}") or {}


def test_check_again_marks_the_new_and_the_gone(
    playwright: Any, extension_dir: Path, e2e_internet: Internet, people: None, tmp_path: Path
) -> None:
    with extension_context(playwright, extension_dir, viewport=(1280, 560)) as (ctx, ext_id):
        from tests.e2e.test_screenshots import faces

        faces(ctx)  # the networks' picture servers, for the README's picture
        page = ctx.new_page()
        page.goto(f"chrome-extension://{ext_id}/pages/options.html")
        page.evaluate(SEED, [KEY, ROWS])
        # The first check.
        page.evaluate(f"chrome.runtime.sendMessage({{type: 'resume', key: '{KEY}'}})")
        wait_until(page, lambda: _job(page).get("status") == "done", "the first check")
        first = storage(page, f"results:{KEY}")
        assert first["leave_x"]["bluesky"]["handle"] == "leon-depart.bsky.social"
        assert first["arrive_x"]["bluesky"] is None
        # After the first check, the results page asks once whether to check again by itself.
        page.goto(f"chrome-extension://{ext_id}/pages/results.html?list={KEY}")
        expect(page.get_by_test_id("schedule-prompt")).to_be_visible()
        page.get_by_test_id("schedule-weekly").click()
        expect(page.get_by_test_id("schedule-prompt")).to_be_hidden()
        assert storage(page, "settings")["recheck"] == "weekly"
        page.goto(f"chrome-extension://{ext_id}/pages/options.html")
        expect(page.get_by_test_id("options-recheck-weekly")).to_be_checked()
        # Weeks later: Zélie joined, Léon deleted his account.
        add_bsky_profile(
            e2e_internet.world,
            _profile("zelie-arrivee.bsky.social", "Zélie Arrivée", "Enfin ici ! x.com/arrive_x"),
        )
        delete_bsky_profile(e2e_internet.world, "leon-depart.bsky.social")
        # The list was last checked eight days ago; the schedule's alarm fires (the real alarm,
        # brought forward: an unpacked extension's alarms may fire at once).
        wait_until(
            page, lambda: page.evaluate("chrome.alarms.get('passerelle-recheck')"), "the schedule"
        )
        page.evaluate(
            f"""chrome.storage.local.set({{'checked:{KEY}': {{at: Date.now() - 8 * 86400000}}}})
            .then(() => chrome.alarms.create('passerelle-recheck', {{when: Date.now() + 200}}))"""
        )
        wait_until(
            page,
            lambda: _job(page).get("status") == "done" and _job(page).get("rechecked"),
            "the scheduled re-check",
        )
        # What the browser accepted to show (headless, it may close it at once):
        note = storage(page, f"notified:{KEY}")
        assert note["id"] == f"passerelle-new:{KEY}", note
        assert note["title"] == "New arrivals" and note["message"].endswith(
            "1 (1 on Bluesky, 0 on the fediverse)"
        ), note
        assert _job(page)["newCount"] == 1
        assert page.evaluate("chrome.action.getBadgeText({})") == "1"
        # The results page: the new row marked and filtered, the gone one said so.
        page.goto(f"chrome-extension://{ext_id}/pages/results.html?list={KEY}")
        expect(page.get_by_test_id("row")).to_have_count(3)
        arrive = page.locator('[data-handle="arrive_x"]')
        expect(arrive).to_have_attribute("data-new", "true")
        expect(arrive.get_by_test_id("bluesky-link")).to_have_text("@zelie-arrivee.bsky.social")
        expect(arrive.get_by_test_id("select-bluesky")).to_be_checked()
        leave = page.locator('[data-handle="leave_x"]')
        expect(leave).not_to_have_attribute("data-new", "true")
        expect(leave.get_by_test_id("bluesky-level")).to_have_attribute("data-level", "possible")
        expect(leave.get_by_test_id("select-bluesky")).to_be_disabled()
        expect(leave.get_by_test_id("bluesky-gone")).to_have_text("Gone since the last check")
        expect(leave.get_by_test_id("bluesky-suggestion")).to_have_count(0)  # not offered
        expect(arrive.get_by_test_id("new-badge")).to_have_text("New")
        expect(page.get_by_test_id("recheck-status")).to_contain_text("1 new since the last check")
        # The README's picture of the new arrivals (written by `make screenshots`).
        from tests.e2e.test_screenshots import save

        save(page, "results-new.png", tmp_path)
        leave.get_by_test_id("bluesky-level").click()
        expect(leave.get_by_test_id("bluesky-reasons")).to_contain_text("Gone since the last check")
        expect(page.get_by_test_id("recheck-status")).to_contain_text("1 new since the last check")
        page.get_by_test_id("filter-new").check()
        expect(page.locator('[data-testid="row"]:not([hidden])')).to_have_count(1)
        page.get_by_test_id("filter-new").uncheck()
        # The page showed the new arrival: the badge no longer counts it.
        wait_until(page, lambda: page.evaluate("chrome.action.getBadgeText({})") == "", "badge")
        # "Follow the new ones": only they stay selected, for the usual follow flows.
        follow_new = page.get_by_test_id("follow-new")
        expect(follow_new).to_have_text("Follow the new ones (1 on Bluesky, 0 on the fediverse)…")
        follow_new.click()
        expect(page.get_by_test_id("selected")).to_contain_text("1")
        expect(page.get_by_test_id("follow-panel")).to_be_visible()
        # Check again from the page itself: nothing newer, and it says so.
        page.get_by_test_id("recheck").click()
        expect(page.get_by_test_id("recheck-status")).to_contain_text(
            "0 new since the last check", timeout=60_000
        )
        expect(page.locator('[data-testid="row"][data-new="true"]')).to_have_count(0)

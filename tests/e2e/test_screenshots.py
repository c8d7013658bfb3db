"""The README's pictures, taken by the suite's own browser so they show what the code does today:
the button on an X follow list, the scan under way, the results page in English and in French,
dark, and on a narrow window.

Every run takes them and checks what each must show; `make screenshots` (PASSERELLE_SCREENSHOTS
set to a folder) also writes them there, and a test keeps the README pointing only at pictures
that exist.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import extension_context
from tests.e2e.conftest import Recorder
from tests.e2e.helpers import wait_until
from tests.standins.xcom import XCom, XList

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
LIST = "/owner/following"
VIEW = (1280, 800)


# Stands in for the networks' picture servers (cdn.bsky.app, each fediverse server), which the
# browser cannot reach here: one round face per person, its colour from the address.
FACE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><circle cx="20" cy="20" r="20" '
    'fill="hsl({hue},45%,62%)"/><circle cx="20" cy="16" r="7" fill="#fff"/>'
    '<ellipse cx="20" cy="34" rx="12" ry="9" fill="#fff"/></svg>'
)


def faces(ctx: Any) -> None:
    def handle(route: Any) -> None:
        if route.request.resource_type != "image":
            route.fallback()
            return
        hue = sum(route.request.url.encode()) % 360
        route.fulfill(status=200, content_type="image/svg+xml", body=FACE.format(hue=hue))

    ctx.route(re.compile(r"^https://(?!(x|twitter)\.com/).*"), handle)


def save(page: Any, name: str, tmp_path: Path, height: int | None = None) -> Path:
    """Writes `name` into the chosen folder (or a temporary one) and returns its path: the
    window, or the page's top `height` pixels (the steps and the first rows)."""
    folder = Path(os.environ.get("PASSERELLE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if height:
        width = page.viewport_size["width"]
        clip = {"x": 0, "y": 0, "width": width, "height": height}
        page.screenshot(path=str(path), full_page=True, clip=clip)
    else:
        page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000  # a picture, not a blank page
    return path


def test_the_button_and_the_scan(
    playwright: Any,
    extension_dir: Any,
    recorder: Recorder,
    accounts: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    xlist = XList(LIST, accounts[:300], latency_ms=20, hold_from_page=2)
    with extension_context(playwright, extension_dir, viewport=VIEW) as (ctx, _):
        XCom([xlist]).install(ctx)
        page = ctx.new_page()
        page.goto(f"https://x.com{LIST}")
        expect(page.get_by_test_id("passerelle-scan")).to_be_visible()
        expect(page.locator("[data-testid=UserCell]").first).to_be_visible()
        save(page, "x-button.png", tmp_path)
        page.get_by_test_id("passerelle-scan").click()
        # X's third page is held: the scan is caught mid-list, whatever the machine's speed.
        wait_until(page, lambda: bool(xlist.held), "the scan to ask for the third page")
        expect(page.get_by_test_id("passerelle-overlay-text")).to_contain_text("100 accounts")
        save(page, "x-scan.png", tmp_path)
        xlist.release()


def scanned_results(ctx: Any, part: list[dict[str, Any]]) -> Any:
    """Scan `part` on the X imitation and return the results page, every row resolved."""
    XCom([XList(LIST, part, latency_ms=10)]).install(ctx)
    faces(ctx)  # after X's imitation: the last route added answers first (X's pictures too)
    page = ctx.new_page()
    page.goto(f"https://x.com{LIST}")
    with ctx.expect_page(timeout=120_000) as opened:
        page.get_by_test_id("passerelle-scan").click()
    results = opened.value
    results.set_viewport_size({"width": VIEW[0], "height": VIEW[1]})
    expect(results.get_by_test_id("row")).to_have_count(len(part))
    expect(results.get_by_test_id("progress")).to_be_hidden()
    return results


@pytest.mark.parametrize(
    ("locale", "name", "title"),
    [
        ("en-US", "results-en.png", "Passerelle — where your people went"),
        ("fr-FR", "results-fr.png", "Passerelle — où sont partis vos contacts"),
    ],
)
def test_the_results_page(
    playwright: Any,
    extension_dir: Any,
    recorder: Recorder,
    accounts: list[dict[str, Any]],
    tmp_path: Path,
    locale: str,
    name: str,
    title: str,
) -> None:
    part = accounts[:40]
    with extension_context(playwright, extension_dir, locale=locale, viewport=VIEW) as (ctx, _):
        results = scanned_results(ctx, part)
        expect(results.locator("h1")).to_have_text(title)
        # Pictures of people's faces load from the stand-in CDN; wait until they are drawn.
        results.wait_for_load_state("networkidle")
        save(results, name, tmp_path, height=1150)
        if locale != "en-US":
            return
        # The same page in the system's dark setting, and on a phone-sized window (cards).
        results.emulate_media(color_scheme="dark")
        assert (
            results.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(15, 20, 25)"
        )
        save(results, "results-dark.png", tmp_path, height=1150)
        results.emulate_media(color_scheme="light")
        results.set_viewport_size({"width": 390, "height": 844})
        assert results.evaluate("document.documentElement.scrollWidth") <= 390
        save(results, "results-narrow.png", tmp_path, height=1900)


def test_suggestions_and_reasons(
    playwright: Any,
    extension_dir: Any,
    recorder: Recorder,
    accounts: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    """A filtered view (the suggestions only) with one under review, and a row's reasons."""
    part = accounts[:150]
    with extension_context(playwright, extension_dir, viewport=VIEW) as (ctx, _):
        results = scanned_results(ctx, part)
        results.get_by_test_id("filter-level").select_option("possible")
        expect(results.get_by_test_id("shown")).to_contain_text("of 150")
        assert results.locator(".match.suggestion:visible").count() > 0
        results.get_by_test_id("review-possibles").click()
        expect(results.get_by_test_id("review-text")).to_contain_text("Suggestion 1 of")
        results.wait_for_load_state("networkidle")
        save(results, "results-review.png", tmp_path)
        results.keyboard.press("Escape")
        results.get_by_test_id("filter-level").select_option("confirmed")
        first = results.locator("[data-testid=row]:visible").first
        badge = first.locator("[data-testid$=-level][data-level=confirmed]").first
        badge.click()
        expect(first.locator("[data-testid$=-reasons]:visible li").first).to_be_visible()
        first.scroll_into_view_if_needed()
        save(results, "results-reasons.png", tmp_path)


def test_the_readme_shows_only_pictures_that_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r"\]\((docs/screenshots/[^)]+\.png)\)", readme)
    assert {Path(p).name for p in shown} >= {
        "x-button.png",
        "x-scan.png",
        "results-en.png",
        "results-fr.png",
        "results-dark.png",
        "results-narrow.png",
        "results-review.png",
        "results-reasons.png",
    }
    for p in shown:
        assert (ROOT / p).is_file(), p

"""The whole journey in a real Chromium with the built extension: click the button on an x.com
follow list, let it scroll and read everything, resolve through the real service, and check
what arrived, what the results page shows, and what the exports hold."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from server.core.extension_id import CHROME_ID
from tests.browser import extension_context
from tests.e2e.conftest import Recorder
from tests.e2e.helpers import expected_sent, export, result_rows, scan_to_results, storage
from tests.evaluation import PRESELECTED
from tests.standins.xcom import SIDEBAR, XCom, XList

LIST = "/owner/following"
KEY = "owner/following"


def scan_state(page: Any) -> Any:
    return storage(page, f"scan:{KEY}")


def test_full_list_scanned_resolved_and_shown(
    playwright: Any,
    extension_dir: Any,
    recorder: Recorder,
    e2e_world: dict[str, Any],
    accounts: list[dict[str, Any]],
) -> None:
    recorder.clear()
    assert len(accounts) >= 1000
    xlist = XList(LIST, accounts, fail_pages={3}, latency_ms=60)
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        XCom([xlist]).install(ctx)
        page = ctx.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"https://x.com{LIST}")
        button = page.get_by_test_id("passerelle-scan")
        expect(button).to_be_visible()
        with ctx.expect_page(timeout=240_000) as opened:
            button.click()
            expect(page.get_by_test_id("passerelle-overlay")).to_be_visible()
        results = opened.value
        assert results.url.startswith(f"chrome-extension://{ext_id}/pages/results.html")
        assert ext_id == CHROME_ID  # the ID the service admits (server/core/extension_id.py)
        results.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        expect(results.get_by_test_id("row")).to_have_count(len(accounts), timeout=30_000)
        rows = result_rows(results)
        counts = results.get_by_test_id("counts").inner_text()
        hostile_row = results.locator('[data-handle="hostile_bio"] [data-testid=x-name]')
        expect(hostile_row).to_have_text("<b>Bold</b> <img src=x onerror=alert(1)>")
        scan = scan_state(results)
        avatars = results.locator("img.avatar")
        assert avatars.count() >= len(accounts)  # X's pictures, and the matches' where known
        assert xlist.failed == {3}  # the failed load was retried by clicking X's Retry

    # Everything arrived intact at the service, once each, in list order.
    sent = recorder.accounts()
    assert [a["handle"] for a in sent] == [a["handle"] for a in accounts]
    for i, (got, acc) in enumerate(zip(sent, accounts, strict=True)):
        want = expected_sent(acc, i)
        assert {k: got.get(k) for k in want} == want, acc["handle"]
    # The sidebar's "Who to follow" accounts were never collected.
    assert not {s["handle"].lower() for s in SIDEBAR} & set(scan["order"])
    assert scan["state"] == "done"

    # The results page shows the right match with the right level, and pre-selects only
    # confirmed and likely matches.
    truth = {a["handle"]: a for a in e2e_world["accounts"]}
    wrong = []
    for row in rows:
        acc = truth[row["handle"]]
        for net in ("bluesky", "mastodon"):
            cell = row[net]
            if cell:  # a Bridgy Fed address says so (API.md §3: NET-bridged)
                assert cell["bridged"] == cell["id"].endswith("brid.gy"), cell
            if cell and cell["selected"]:
                assert cell["level"] in PRESELECTED
                if cell["id"] != acc["expect"][net]:
                    wrong.append((row["handle"], net, cell))
            if acc["findable"][net]:
                # A Bridgy Fed mirror is not ticked by default: the person's own account on
                # the other network is, and both would bring every post twice.
                assert cell and cell["id"] == acc["expect"][net], (row["handle"], net, cell)
                assert cell["selected"] == (not cell["bridged"]), (row["handle"], net, cell)
    assert not wrong, wrong[:5]
    assert f"{len(accounts):,}" in counts
    assert not dialogs  # no script from a bio or name ever ran


def test_exports(
    playwright: Any,
    extension_dir: Any,
    recorder: Recorder,
    e2e_world: dict[str, Any],
    accounts: list[dict[str, Any]],
) -> None:
    part = accounts[:150]
    with extension_context(playwright, extension_dir) as (ctx, _):
        XCom([XList(LIST, part, latency_ms=20)]).install(ctx)
        results = scan_to_results(ctx, LIST)
        expect(results.get_by_test_id("row")).to_have_count(len(part))
        files = {}
        for name in ("export-mastodon", "export-json", "export-csv"):
            download = export(results, name)
            files[name] = (
                download.suggested_filename,
                Path(download.path()).read_text(encoding="utf-8"),
            )
    truth = {a["handle"]: a for a in e2e_world["accounts"][:150]}
    name, mastodon = files["export-mastodon"]
    assert name.endswith("-mastodon.csv")
    lines = mastodon.splitlines()
    assert lines[0] == "Account address,Show boosts,Notify on new posts,Languages"
    expected = {
        a["expect"]["mastodon"]
        for a in truth.values()
        if a["findable"]["mastodon"] and not a["expect"]["mastodon"].endswith("@bsky.brid.gy")
    }
    assert {line.split(",")[0] for line in lines[1:]} == expected
    assert all(line.endswith(",true,false,") for line in lines[1:])
    _, text = files["export-json"]
    data = json.loads(text)
    assert [r["x"]["handle"] for r in data["results"]] == [a["handle"] for a in part]
    assert all("result" in r and "selected" in r for r in data["results"])
    _, text = files["export-csv"]
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["x_handle"] for r in table] == [a["handle"] for a in part]
    for r in table:
        acc = truth[r["x_handle"]]
        if acc["findable"]["bluesky"]:
            assert r["bluesky_handle"] == acc["expect"]["bluesky"]
            mirror = acc["expect"]["bluesky"].endswith(".brid.gy")
            assert r["bluesky_selected"] == ("" if mirror else "true")


def test_filters_and_search(
    playwright: Any, extension_dir: Any, accounts: list[dict[str, Any]]
) -> None:
    part = accounts[:120]
    with extension_context(playwright, extension_dir) as (ctx, _):
        XCom([XList(LIST, part, latency_ms=20)]).install(ctx)
        results = scan_to_results(ctx, LIST)
        rows = results.get_by_test_id("row")
        expect(rows).to_have_count(len(part))
        target = part[7]
        results.get_by_test_id("search").fill(target["handle"][:-1].upper())
        visible = [r for r in result_rows(results) if not r["hidden"]]
        assert target["handle"] in {r["handle"] for r in visible}
        assert len(visible) < len(part)
        results.get_by_test_id("search").fill("")
        results.get_by_test_id("filter-level").select_option("confirmed")
        for r in result_rows(results):
            levels = {c["level"] for c in (r["bluesky"], r["mastodon"]) if c}
            assert r["hidden"] != ("confirmed" in levels)
        results.get_by_test_id("filter-level").select_option("")
        results.get_by_test_id("filter-notfound").check()
        for r in result_rows(results):
            assert r["hidden"] == bool(r["bluesky"] or r["mastodon"])
        results.get_by_test_id("filter-notfound").uncheck()
        results.get_by_test_id("filter-followsyou").check()
        follows = {a["handle"] for a in part if a["follows_you"]}
        assert {r["handle"] for r in result_rows(results) if not r["hidden"]} == follows
        # The count of what a filter shows, and none without a filter.
        expect(results.get_by_test_id("shown")).to_have_text(f"{len(follows)} shown of {len(part)}")
        # The search box's hint reads whole.
        search = results.get_by_test_id("search")
        assert search.evaluate(
            "el => { const c = document.createElement('canvas').getContext('2d');"
            " c.font = getComputedStyle(el).font;"
            " return c.measureText(el.placeholder).width < el.clientWidth; }"
        )
        # reasons on demand
        results.get_by_test_id("filter-followsyou").uncheck()
        expect(results.get_by_test_id("shown")).to_have_text("")
        first = results.locator("[data-testid=bluesky-level]").first
        reasons = results.locator("[data-testid=bluesky-reasons]").first
        expect(reasons).to_be_hidden()
        first.click()
        expect(reasons).to_be_visible()

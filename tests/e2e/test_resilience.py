"""Nothing is lost: a page reload mid-scan, the service worker stopped mid-way, the service
down for a while; and the button follows X's in-app navigation."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser import extension_context
from tests.e2e.conftest import Recorder
from tests.e2e.helpers import expected_sent, scan_to_results, storage, wait_for
from tests.standins.xcom import XCom, XList

LIST = "/owner/following"
KEY = "owner/following"


def extension_page(ctx: Any, ext_id: str, name: str = "options.html") -> Any:
    page = ctx.new_page()
    page.goto(f"chrome-extension://{ext_id}/pages/{name}")
    return page


def test_reload_mid_scan_loses_nothing(
    playwright: Any, extension_dir: Any, recorder: Recorder, accounts: list[dict[str, Any]]
) -> None:
    recorder.clear()
    part = accounts[:600]
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        XCom([XList(LIST, part, latency_ms=250)]).install(ctx)
        page = ctx.new_page()
        page.goto(f"https://x.com{LIST}")
        page.get_by_test_id("passerelle-scan").click()
        ext = extension_page(ctx, ext_id)
        page.bring_to_front()  # the user stays on the X tab while it scans
        before = wait_for(
            lambda: (s := storage(ext, f"scan:{KEY}")) and len(s["order"]) >= 150 and s,
            60,
            "150 accounts saved",
        )
        page.reload()
        saved = storage(ext, f"scan:{KEY}")
        assert saved["state"] == "scanning"
        assert set(before["order"]) <= set(saved["order"])  # nothing read was lost
        button = page.get_by_test_id("passerelle-scan")
        expect(button).to_contain_text(f"{len(saved['order']):,}")  # "Resume the scan (N …)"
        with ctx.expect_page(timeout=180_000) as opened:
            button.click()
        results = opened.value
        expect(results.get_by_test_id("row")).to_have_count(len(part))
    sent = recorder.accounts()
    assert sorted(a["handle"] for a in sent) == sorted(a["handle"] for a in part)


def test_worker_stopped_mid_scan_and_mid_resolve(
    playwright: Any, extension_dir: Any, recorder: Recorder, accounts: list[dict[str, Any]]
) -> None:
    recorder.clear()
    recorder.delay = 1.5  # each batch of 100 takes a while: time to stop the worker mid-way
    part = accounts[:500]
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        XCom([XList(LIST, part, latency_ms=100)]).install(ctx)
        page = ctx.new_page()
        page.goto(f"https://x.com{LIST}")
        cdp = ctx.new_cdp_session(page)
        cdp.send("ServiceWorker.enable")
        page.get_by_test_id("passerelle-scan").click()
        ext = extension_page(ctx, ext_id)
        page.bring_to_front()
        wait_for(
            lambda: (s := storage(ext, f"scan:{KEY}")) and len(s["order"]) >= 100,
            60,
            "a scan under way",
        )
        cdp.send("ServiceWorker.stopAllWorkers")  # mid-scan: the scan lives in the page
        wait_for(
            lambda: (
                (j := storage(ext, f"job:{KEY}"))
                and j["status"] == "resolving"
                and j["done"] >= 100
            ),
            120,
            "resolving under way",
        )
        cdp.send("ServiceWorker.stopAllWorkers")  # mid-resolve: its fetch dies with it
        stalled = storage(ext, f"job:{KEY}")
        assert stalled["status"] == "resolving" and stalled["done"] < len(part)
        recorder.delay = 0.0
        # Opening the results wakes the worker, which carries on where it stopped.
        results = extension_page(ctx, ext_id, f"results.html?list={KEY}")
        wait_for(
            lambda: (j := storage(ext, f"job:{KEY}")) and j["status"] == "done",
            120,
            "the job to finish after the restart",
        )
        job = storage(ext, f"job:{KEY}")
        errors = {
            h: r["error"]
            for h, r in (storage(ext, f"results:{KEY}") or {}).items()
            if r.get("error")
        }
        scan = storage(ext, f"scan:{KEY}")
        missing = [i for i, a in enumerate(part) if a["handle"].lower() not in scan["accounts"]]
        assert job["done"] == len(part) and job["failed"] == 0, (job, errors, missing)
        results.reload()
        expect(results.get_by_test_id("row")).to_have_count(len(part))
        stored = storage(ext, f"results:{KEY}")
        assert len(stored) == len(part)
    sent = {a["handle"] for a in recorder.accounts()}
    assert sent == {a["handle"] for a in part}


def test_worker_stopped_mid_resolve_carries_on_by_itself(
    playwright: Any, extension_dir: Any, recorder: Recorder, accounts: list[dict[str, Any]]
) -> None:
    """The worker stopped mid-resolve with no page of ours open to wake it (the user is
    elsewhere): the alarm armed for the job wakes it, the job carries on, and the results page
    the user asked for by clicking still opens at the end."""
    recorder.clear()
    recorder.delay = 1.5
    part = accounts[:300]
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        XCom([XList(LIST, part, latency_ms=20)]).install(ctx)
        page = ctx.new_page()
        page.goto(f"https://x.com{LIST}")
        cdp = ctx.new_cdp_session(page)
        cdp.send("ServiceWorker.enable")
        page.get_by_test_id("passerelle-scan").click()
        wait_for(
            lambda: (
                (j := storage(page_of(ctx, ext_id), f"job:{KEY}"))
                and j["status"] == "resolving"
                and j["done"] >= 100
            ),
            120,
            "resolving under way",
        )
        cdp.send("ServiceWorker.stopAllWorkers")  # its fetch dies with it
        recorder.delay = 0.0
        page_of(ctx, ext_id).close()  # nothing of ours open: only the alarm can wake it
        with ctx.expect_page(timeout=180_000) as opened:
            pass
        results = opened.value
        assert results.url.startswith(f"chrome-extension://{ext_id}/pages/results.html")
        expect(results.get_by_test_id("row")).to_have_count(len(part))
        job = storage(results, f"job:{KEY}")
        assert job["status"] == "done" and job["done"] == len(part), job


def page_of(ctx: Any, ext_id: str) -> Any:
    """An extension page to read storage from (one, kept open until closed)."""
    for p in ctx.pages:
        if p.url.startswith(f"chrome-extension://{ext_id}/pages/options.html"):
            return p
    return extension_page(ctx, ext_id)


def test_service_down_for_a_while(
    playwright: Any, extension_dir: Any, recorder: Recorder, accounts: list[dict[str, Any]]
) -> None:
    recorder.clear()
    recorder.fail_next = 2  # the first two tries answer 503; the worker backs off and retries
    part = accounts[:120]
    with extension_context(playwright, extension_dir) as (ctx, _ext_id):
        XCom([XList(LIST, part, latency_ms=20)]).install(ctx)
        results = scan_to_results(ctx, LIST)
        expect(results.get_by_test_id("row")).to_have_count(len(part))
        job = storage(results, f"job:{KEY}")
        assert job["status"] == "done" and job["done"] == len(part)


def test_button_follows_in_app_navigation(
    playwright: Any, extension_dir: Any, accounts: list[dict[str, Any]]
) -> None:
    with extension_context(playwright, extension_dir) as (ctx, _):
        XCom([XList(LIST, accounts[:30], latency_ms=10)]).install(ctx)
        page = ctx.new_page()
        page.goto(f"https://x.com{LIST}")
        button = page.get_by_test_id("passerelle-scan")
        expect(button).to_have_count(1)
        for path, present in [
            ("/explore", 0),
            ("/owner/followers", 1),
            ("/owner", 0),
            ("/i/lists/1234/members", 1),
            ("/owner/verified_followers", 1),
            ("/home", 0),
        ]:
            page.evaluate("p => history.pushState({}, '', p)", path)
            expect(button).to_have_count(present)
        page.goto("https://twitter.com/someone/followers")
        expect(button).to_have_count(1)


def test_dom_scan_works_without_the_page_hook(
    playwright: Any, extension_dir: Any, recorder: Recorder, accounts: list[dict[str, Any]]
) -> None:
    """X renames its query: the hook sees nothing, and the list is still read from the page
    (without what only the hook knows: expanded links and websites)."""
    recorder.clear()
    part = accounts[:80]
    with extension_context(playwright, extension_dir) as (ctx, _):
        XCom([XList(LIST, part, latency_ms=20, op_name="FollowingTimelineV2")]).install(ctx)
        results = scan_to_results(ctx, LIST)
        expect(results.get_by_test_id("row")).to_have_count(len(part))
    sent = recorder.accounts()
    assert [a["handle"] for a in sent] == [a["handle"] for a in part]
    assert [a["name"] for a in sent] == [a["name"] for a in part]
    assert all(a["url"] is None and a["links"] == [] for a in sent)


def test_stop_resolves_what_was_read(
    playwright: Any, extension_dir: Any, recorder: Recorder, accounts: list[dict[str, Any]]
) -> None:
    recorder.clear()
    part = accounts[:500]
    with extension_context(playwright, extension_dir) as (ctx, _ext_id):
        XCom([XList(LIST, part, latency_ms=300)]).install(ctx)
        page = ctx.new_page()
        page.goto(f"https://x.com{LIST}")
        page.get_by_test_id("passerelle-scan").click()
        expect(page.get_by_test_id("passerelle-overlay-text")).to_contain_text("Reading the list")
        page.wait_for_function(
            "() => /\\d{3}/.test(document.querySelector("
            "'[data-testid=passerelle-overlay-text]').textContent)"
        )
        with ctx.expect_page(timeout=120_000) as opened:
            page.get_by_test_id("passerelle-stop").click()
        results = opened.value
        scan = storage(results, f"scan:{KEY}")
        assert scan["state"] == "stopped"
        assert 100 <= len(scan["order"]) < len(part)
        expect(results.get_by_test_id("row")).to_have_count(len(scan["order"]))
    assert len(recorder.accounts()) == len(scan["order"])


def test_a_page_x_changed_is_said_not_scrolled_through(
    playwright: Any, extension_dir: Any, recorder: Recorder, accounts: list[dict[str, Any]]
) -> None:
    """X renames the user cell and its query: the rows are there but none can be read, and
    the hook sees nothing. The scan says so after a few screens, and sends nothing."""
    recorder.clear()
    with extension_context(playwright, extension_dir) as (ctx, _):
        changed = XList(
            LIST, accounts[:1000], latency_ms=20, cell_testid="UserCellV2", op_name="FollowingV3"
        )
        XCom([changed]).install(ctx)
        page = ctx.new_page()
        page.goto(f"https://x.com{LIST}")
        page.get_by_test_id("passerelle-scan").click()
        expect(page.get_by_test_id("passerelle-overlay")).to_contain_text(
            "X's page has changed", timeout=30_000
        )
        # A few screens, not the whole list: X served a few of its 20 pages.
        assert changed.requests <= 6
    assert recorder.accounts() == []


def test_changed_markup_is_read_from_x_s_own_responses(
    playwright: Any, extension_dir: Any, recorder: Recorder, accounts: list[dict[str, Any]]
) -> None:
    """X renames the user cell but its responses are the same: the list is read whole from
    them, in order, with the bio as X shows it."""
    recorder.clear()
    part = accounts[:300]
    with extension_context(playwright, extension_dir) as (ctx, _):
        XCom([XList(LIST, part, latency_ms=20, cell_testid="UserCellV2")]).install(ctx)
        results = scan_to_results(ctx, LIST)
        expect(results.get_by_test_id("row")).to_have_count(len(part))
    sent = recorder.accounts()
    assert [a["handle"] for a in sent] == [a["handle"] for a in part]
    for i, (got, acc) in enumerate(zip(sent, part, strict=True)):
        want = expected_sent(acc, i)
        assert {k: got.get(k) for k in want} == want, acc["handle"]
        assert got["avatar"]  # from X's response, as the row would have shown it


def test_read_ahead_never_mixes_in_another_list(
    playwright: Any, extension_dir: Any, recorder: Recorder, accounts: list[dict[str, Any]]
) -> None:
    """Pages of another list seen during the same visit (in-app navigation, a late answer for
    the previous list) carry another path or another subject: they are never read ahead."""
    recorder.clear()
    part = accounts[:120]
    with extension_context(playwright, extension_dir) as (ctx, _):
        # The list's first load fails (503, Retry): its first page comes after these.
        XCom([XList(LIST, part, latency_ms=20, fail_pages={0})]).install(ctx)
        page = ctx.new_page()
        page.goto(f"https://x.com{LIST}")
        expect(page.get_by_test_id("passerelle-scan")).to_have_count(1)
        assert page.evaluate("window.__xcomState().loaded") == 0
        page.evaluate(
            """() => {
              const user = (h) => ({handle: h, name: h, description: '', links: [], url: null});
              const send = (extra) => window.postMessage(
                {source: 'passerelle-hook', op: 'Following', users: [user(extra.who)], ...extra},
                location.origin);
              // A late answer for the list seen before, arriving first on this path.
              send({who: 'late_answer', path: location.pathname, subject: '424242'});
              send({who: 'other_path', path: '/someone/following', subject: null});
            }"""
        )
        with ctx.expect_page(timeout=120_000) as opened:
            page.get_by_test_id("passerelle-scan").click()
        expect(opened.value.get_by_test_id("row")).to_have_count(len(part))
    sent = [a["handle"] for a in recorder.accounts()]
    assert sent == [a["handle"] for a in part]


def test_a_page_the_responses_do_not_show_is_read_from_its_rows(
    playwright: Any, extension_dir: Any, recorder: Recorder, accounts: list[dict[str, Any]]
) -> None:
    """One page of X's responses comes in a shape the extension cannot read: reading ahead
    would jump past its rows. The rows drawn that no response held give it away; the scan goes
    back and reads every row, and the list arrives whole and in order."""
    recorder.clear()
    part = accounts[:300]
    with extension_context(playwright, extension_dir) as (ctx, _):
        XCom([XList(LIST, part, latency_ms=20, renamed_pages={2})]).install(ctx)
        results = scan_to_results(ctx, LIST)
        expect(results.get_by_test_id("row")).to_have_count(len(part))
    assert [a["handle"] for a in recorder.accounts()] == [a["handle"] for a in part]


def test_service_not_running_is_said_within_seconds(
    playwright: Any, extension_dir: Any, recorder: Recorder, accounts: list[dict[str, Any]]
) -> None:
    """Nothing answers at the service's address (connections closed unanswered): the overlay
    says so at the first failed attempt, with the address and how to start it, while the worker
    keeps retrying; once the service answers, the look-ups go on and the results open."""
    recorder.clear()
    recorder.drop_next = 2  # one attempt or two (a browser may retry a dropped connection)
    part = accounts[:40]
    with extension_context(playwright, extension_dir) as (ctx, _):
        XCom([XList(LIST, part, latency_ms=10)]).install(ctx)
        page = ctx.new_page()
        page.goto(f"https://x.com{LIST}")
        with ctx.expect_page(timeout=120_000) as opened:
            page.get_by_test_id("passerelle-scan").click()
            expect(page.get_by_test_id("passerelle-overlay-text")).to_contain_text(
                f"does not answer at {recorder.url}"
            )
        results = opened.value
        expect(results.get_by_test_id("row")).to_have_count(len(part))
        assert "unreachable" not in (storage(results, f"job:{KEY}") or {})
    assert recorder.drop_next == 0

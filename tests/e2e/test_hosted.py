"""A hosted service that asks for an access token, as an association would run one: the
options page checks the token, the extension sends it with every call, and keeps it in session
storage only (memory), never in local storage (disk)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import build_extension
from tests.browser import extension_context
from tests.conftest import Served, service_env
from tests.e2e.helpers import result_rows, scan_to_results, storage, wait_for
from tests.standins.internet import Internet
from tests.standins.xcom import XCom, XList

TOKEN = "asso-members-token-7f3a9c1d2e"
LIST = "/owner/following"
KEY = "owner/following"


@pytest.fixture(scope="module")
def hosted(e2e_internet: Internet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    env = service_env(e2e_internet, tmp_path_factory.mktemp("hosted"), PASSERELLE_API_TOKEN=TOKEN)
    s = Served(env)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def hosted_extension(hosted: Served, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist-hosted")
    build_extension.build(("chrome",), hosted.url, out)
    return out / "chrome"


def _everything_stored(page: Any) -> str:
    return page.evaluate("chrome.storage.local.get(null).then(x => JSON.stringify(x))")


def test_token_checked_saved_in_memory_and_sent(
    playwright: Any, hosted_extension: Path, accounts: list[dict[str, Any]]
) -> None:
    part = accounts[:30]
    with extension_context(playwright, hosted_extension) as (ctx, ext_id):
        XCom([XList(LIST, part, latency_ms=10)]).install(ctx)
        options = ctx.new_page()
        options.goto(f"chrome-extension://{ext_id}/pages/options.html")
        health = options.get_by_test_id("options-health")
        options.get_by_test_id("options-check").click()
        expect(health).to_contain_text("needs a valid access token")
        options.get_by_test_id("options-token").fill("not-the-right-token-at-all")
        options.get_by_test_id("options-check").click()
        expect(health).to_contain_text("needs a valid access token")
        options.get_by_test_id("options-token").fill(TOKEN)
        options.get_by_test_id("options-check").click()
        expect(health).to_have_text("The service answers (version 0.1.0).")
        options.get_by_test_id("options-save").click()
        expect(options.get_by_test_id("options-saved")).to_have_text("Saved.")
        assert options.evaluate("chrome.storage.session.get('token')") == {"token": TOKEN}

        results = scan_to_results(ctx, LIST)
        expect(results.get_by_test_id("row")).to_have_count(len(part))
        rows = {r["handle"]: r for r in result_rows(results)}
        assert set(rows) == {a["handle"] for a in part}
        assert storage(results, f"job:{KEY}")["status"] == "done"
        assert TOKEN not in _everything_stored(results)  # nothing on disk holds it


def test_without_the_token_the_list_waits_with_a_clear_message(
    playwright: Any, hosted_extension: Path, accounts: list[dict[str, Any]]
) -> None:
    part = accounts[:10]
    with extension_context(playwright, hosted_extension) as (ctx, ext_id):
        XCom([XList(LIST, part, latency_ms=10)]).install(ctx)
        page = ctx.new_page()
        page.goto(f"https://x.com{LIST}")
        page.get_by_test_id("passerelle-scan").click()
        probe = ctx.new_page()
        probe.goto(f"chrome-extension://{ext_id}/pages/popup.html")
        job = wait_for(
            lambda: (j := storage(probe, f"job:{KEY}")) and j["status"] == "error" and j,
            60,
            "the resolve to be refused",
        )
        assert "access token" in job["error"]
        assert storage(probe, f"scan:{KEY}")["order"] == [a["handle"] for a in part]  # kept

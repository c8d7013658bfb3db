"""From the browser to the command line and back: the results page exports the scanned list in
exactly the input shape of `passerelle resolve`, the real command resolves it, and the results
page imports its answer (into the same list, or as a new list on a fresh browser)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser import extension_context
from tests.conftest import service_env
from tests.e2e.conftest import Recorder
from tests.e2e.helpers import export, result_rows, scan_to_results
from tests.evaluation import PRESELECTED
from tests.standins.internet import Internet
from tests.standins.xcom import XCom, XList

LIST = "/owner/following"
API_KEYS = ("handle", "name", "bio", "url", "links", "id", "follows_you")
PASSERELLE = str(Path(sys.executable).parent / "passerelle")


def known(account: dict[str, Any]) -> dict[str, Any]:
    """An account's API fields that carry something (absent and null mean the same)."""
    return {k: account[k] for k in API_KEYS if account.get(k) is not None}


def shown(row: dict[str, Any], net: str) -> Any:
    cell = row[net]
    return cell and (cell["id"], cell["level"], cell["selected"])


def expected(result: dict[str, Any], net: str) -> Any:
    m = result[net]
    if not m:
        return None
    # Pre-selected, except a Bridgy Fed mirror (for users who say they use one network only).
    ticked = m["level"] in PRESELECTED and not m.get("bridged")
    return (m["handle"] if net == "bluesky" else m["acct"], m["level"], ticked)


def test_scanned_list_goes_to_the_cli_and_its_results_come_back(
    playwright: Any,
    extension_dir: Any,
    recorder: Recorder,
    e2e_internet: Internet,
    accounts: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    part = accounts[:60]
    recorder.clear()
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        # The browser looks on Bluesky only; the command line will look on both networks.
        options = ctx.new_page()
        options.goto(f"chrome-extension://{ext_id}/pages/options.html")
        options.evaluate(
            "url => chrome.storage.local.set({settings: {serviceUrl: url, networks: ['bluesky']}})",
            recorder.url,
        )
        XCom([XList(LIST, part, latency_ms=20)]).install(ctx)
        results = scan_to_results(ctx, LIST)
        expect(results.get_by_test_id("row")).to_have_count(len(part))
        assert all(row["mastodon"] is None for row in result_rows(results))
        download = export(results, "export-accounts")
        assert download.suggested_filename == "passerelle-owner-following-accounts.json"
        exported = json.loads(Path(download.path()).read_text(encoding="utf-8"))

        # Exactly the CLI's input: {"accounts": [...]} with the API's fields, nothing else,
        # and the very accounts the extension sent to the service, in list order.
        assert list(exported) == ["accounts"]
        assert all(set(a) <= set(API_KEYS) for a in exported["accounts"])
        assert [known(a) for a in exported["accounts"]] == [known(a) for a in recorder.accounts()]
        assert [a["handle"] for a in exported["accounts"]] == [a["handle"] for a in part]

        accounts_file = tmp_path / "following.json"
        accounts_file.write_text(json.dumps(exported), encoding="utf-8")
        p = subprocess.run(
            [PASSERELLE, "resolve", str(accounts_file)],
            env=service_env(e2e_internet, tmp_path),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert p.returncode == 0, p.stderr
        cli = json.loads(p.stdout)["results"]
        assert any(r["mastodon"] for r in cli)  # something new for the page to show
        results_file = tmp_path / "results.json"
        results_file.write_text(p.stdout, encoding="utf-8")

        # Not a results file: said, and nothing changes.
        junk = tmp_path / "junk.json"
        junk.write_text('{"accounts": []}', encoding="utf-8")
        results.get_by_test_id("import-results").set_input_files(str(junk))
        expect(results.get_by_test_id("import-status")).to_contain_text("junk.json holds no")
        assert all(row["mastodon"] is None for row in result_rows(results))

        # The command line's answers replace the page's, with a fresh pre-selection.
        results.get_by_test_id("import-results").set_input_files(str(results_file))
        expect(results.get_by_test_id("import-status")).to_have_text(
            "Imported the answers for 60 accounts (0 not in this list, left out)."
        )
        rows = {row["handle"]: row for row in result_rows(results)}
        for r in cli:
            for net in ("bluesky", "mastodon"):
                assert shown(rows[r["handle"]], net) == expected(r, net), (r["handle"], net)

    # A fresh browser with no list: the file becomes one.
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        page = ctx.new_page()
        page.goto(f"chrome-extension://{ext_id}/pages/results.html")
        expect(page.get_by_test_id("empty")).to_be_visible()
        page.get_by_test_id("import-results").set_input_files(str(results_file))
        expect(page.get_by_test_id("row")).to_have_count(len(part))
        assert "list=imported%2Fresults" in page.url
        got = result_rows(page)
        assert [row["handle"] for row in got] == [a["handle"] for a in part]
        for row, r in zip(got, cli, strict=True):
            for net in ("bluesky", "mastodon"):
                assert shown(row, net) == expected(r, net), (r["handle"], net)

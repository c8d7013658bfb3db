"""The results page's "everything" CSV: no cell a spreadsheet would run as a formula (names and
bios come from strangers), and Mastodon's import file exactly as Mastodon reads it."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser import extension_context
from tests.e2e.helpers import export

KEY = "hostile/following"
SEED = """([key, name, acct]) => chrome.storage.local.set({
  [`scan:${key}`]: {key, state: 'done', order: ['evil_x'],
    accounts: {evil_x: {handle: 'evil_x', name, bio: '', links: [], follows_you: false}}},
  [`results:${key}`]: {evil_x: {handle: 'evil_x', error: null, bluesky: null,
    candidates: {bluesky: [], mastodon: []},
    mastodon: {acct, url: '+cmd|calc', display_name: '@SUM(1+9)', avatar: null,
               level: 'confirmed', reasons: ['bio-handle'], bridged: false}}},
  current: key})"""
NAME = '=HYPERLINK("http://evil.example","x")'


def test_no_cell_of_the_csv_begins_a_formula(playwright: Any, extension_dir: Any) -> None:
    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        page = ctx.new_page()
        page.goto(f"chrome-extension://{ext_id}/pages/options.html")
        page.evaluate(SEED, [KEY, NAME, "evil@piaille.fr"])
        page.goto(f"chrome-extension://{ext_id}/pages/results.html?list={KEY}")
        expect(page.get_by_test_id("x-name")).to_have_text(NAME)  # shown as it is, as text
        files = {}
        for name in ("export-csv", "export-mastodon"):
            download = export(page, name)
            files[name] = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(files["export-csv"])))
    cells = [c for row in rows[1:] for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert f"'{NAME}" in cells and "'+cmd|calc" in cells
    assert files["export-mastodon"].splitlines()[1] == "evil@piaille.fr,true,false,"


HOSTS = [
    "xn--colo-9oa.social",
    "xn--bcher-kva.example",
    "xn--mnchen-3ya.de",
    "mastodon.xn--80aswg.xn--p1ai",
    "xn--fiqs8s.xn--fiqz9s",
    "xn--i-7iq.ws",
    "piaille.fr",
    "xn--invalid-!!.social",
]


def test_server_names_are_shown_in_unicode_and_exported_as_mastodon_reads_them(
    playwright: Any, extension_dir: Any
) -> None:
    def python_reads(host: str) -> str:
        """Python's own RFC 3492 codec, label by label; a malformed label shown as it is."""

        def label(part: str) -> str:
            if not part.startswith("xn--"):
                return part
            try:
                return part[4:].encode("ascii").decode("punycode")
            except (UnicodeError, ValueError):
                return part

        return ".".join(label(p) for p in host.split("."))

    with extension_context(playwright, extension_dir) as (ctx, ext_id):
        page = ctx.new_page()
        page.goto(f"chrome-extension://{ext_id}/pages/options.html")
        page.evaluate(SEED, [KEY, "Zoé", "zoe@xn--colo-9oa.social"])
        page.goto(f"chrome-extension://{ext_id}/pages/results.html?list={KEY}")
        link = page.get_by_test_id("mastodon-link")
        expect(link).to_have_text("@zoe@écolo.social")
        expect(link).to_have_attribute("data-id", "zoe@xn--colo-9oa.social")
        page.get_by_test_id("search").fill("écolo")
        expect(page.locator("[data-testid=row]:not([hidden])")).to_have_count(1)
        # The page's decoder against Python's punycode codec, an independent implementation.
        shown = page.evaluate("hosts => hosts.map((h) => readableAddress(h))", HOSTS)
        download = export(page, "export-mastodon")
        exported = Path(download.path()).read_text(encoding="utf-8")
    assert shown == [python_reads(h) for h in HOSTS]
    assert exported.splitlines()[1] == "zoe@xn--colo-9oa.social,true,false,"

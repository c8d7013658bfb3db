"""The content scripts' reading of x.com, in Chromium, on fixtures in X's markup: every
selector of extension/content/selectors.js is exercised here or in the x.com imitation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import QUIET_ARGS, chromium_path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = [ROOT / "extension/content/selectors.js", ROOT / "extension/content/extract.js"]


@pytest.fixture(scope="module")
def page(playwright: Any) -> Iterator[Any]:
    browser = playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=QUIET_ARGS
    )
    pg = browser.new_page()
    pg.set_content((ROOT / "tests/fixtures/x_cells.html").read_text(encoding="utf-8"))
    for script in SCRIPTS:
        pg.add_script_tag(content=script.read_text(encoding="utf-8"))
    yield pg
    browser.close()


def read(page: Any, cell_id: str) -> Any:
    return page.evaluate("id => Passerelle.readCell(document.getElementById(id))", cell_id)


def test_new_button_cell(page: Any) -> None:
    got = read(page, "c1")
    assert got == {
        "handle": "Alice_M",
        "name": "Alice Martin 🦋 Ⓜ️",
        "bio": "Journaliste 📰 chez @lemondefr\nMastodon : piaille.fr/@alice_verylon… #climat & co",
        "shown_links": ["piaille.fr/@alice_verylon…"],
        "id": "1234567890",
        "follows_you": True,
        "avatar": "https://pbs.twimg.com/profile_images/1/a_normal.jpg",
    }


def test_old_div_cell_without_bio(page: Any) -> None:
    assert read(page, "c2") == {
        "handle": "old_style",
        "name": "Old Style",
        "bio": "",
        "shown_links": [],
        "id": "42",
        "follows_you": False,
        "avatar": None,  # x.png is not X's image host
    }


def test_rows_that_are_not_users(page: Any) -> None:
    assert read(page, "c3") is None


def test_sidebar_is_outside_the_list(page: Any) -> None:
    inside = page.evaluate("""() => [...document.querySelector(Passerelle.selectors.primaryColumn)
        .querySelectorAll(Passerelle.selectors.cell)].map(c => c.id)""")
    assert sorted(inside) == ["c1", "c2", "c3"]
    assert page.evaluate(
        "() => !!document.getElementById('side').closest(Passerelle.selectors.sidebar)"
    )


def test_selectors_each_match_the_fixture(page: Any) -> None:
    counts = page.evaluate("""() => {
        const S = Passerelle.selectors, out = {};
        for (const [k, v] of Object.entries(S)) {
            if (typeof v !== 'string' || k.endsWith('Prefix')) continue;
            out[k] = document.querySelectorAll(v).length;
        }
        return out;
    }""")
    for name, n in counts.items():
        assert n > 0, f"selector {name} matches nothing in the fixture"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://x.com/alice/following",
            {"kind": "following", "owner": "alice", "key": "alice/following"},
        ),
        (
            "https://x.com/Alice/followers/",
            {"kind": "followers", "owner": "Alice", "key": "alice/followers"},
        ),
        (
            "https://twitter.com/a_b/verified_followers",
            {"kind": "verified_followers", "owner": "a_b", "key": "a_b/verified_followers"},
        ),
        (
            "https://x.com/a/followers_you_follow",
            {"kind": "followers_you_follow", "owner": "a", "key": "a/followers_you_follow"},
        ),
        (
            "https://x.com/i/lists/123/members",
            {"kind": "list_members", "owner": "123", "key": "lists/123/members"},
        ),
        ("https://x.com/alice", None),
        ("https://x.com/home", None),
        ("https://x.com/i/lists/123", None),
        ("https://x.com/alice/following/extra", None),
        ("https://evil.example/alice/following", None),
        ("https://x.com.evil.example/a/following", None),
        ("https://x.com/settings/following", None),
        ("not a url", None),
    ],
)
def test_list_pages(page: Any, url: str, expected: Any) -> None:
    assert page.evaluate("u => Passerelle.listPage(u)", url) == expected

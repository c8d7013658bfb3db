"""Small helpers for the end-to-end tests: storage reads, waiting, and expected values."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from tests.standins.xcom import x_side


def storage(page: Any, key: str) -> Any:
    """One value of the extension's chrome.storage.local, read from an extension page."""
    return page.evaluate("k => chrome.storage.local.get(k).then(x => x[k] ?? null)", key)


def export(page: Any, testid: str) -> Any:
    """Clicks one item of the results page's Export / import menu (opened first when closed, as
    a person would) inside `page.expect_download()`, and returns the download."""
    if page.get_by_test_id("exports").get_attribute("aria-expanded") != "true":
        page.get_by_test_id("exports").click()
    with page.expect_download() as dl:
        page.get_by_test_id(testid).click()
    return dl.value


def _poll(fn: Callable[[], Any], timeout: float, what: str, pause: Callable[[], None]) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        pause()


def wait_for(fn: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `fn` until it returns something truthy (the state lives in storage, not the DOM)."""
    return _poll(fn, timeout, what, lambda: time.sleep(0.2))


def wait_until(page: Any, fn: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """Like `wait_for`, for a condition that Playwright's own events make true (a route
    handler runs only while Playwright is called): polls through the page's event loop."""
    return _poll(fn, timeout, what, lambda: page.wait_for_timeout(50))


class ContentWorld:
    """The extension's content-script world in one page, reached through CDP (Playwright
    evaluates in the page's own world only). Create it before the page loads."""

    def __init__(self, ctx: Any, page: Any) -> None:
        self.cdp = ctx.new_cdp_session(page)
        self.contexts: list[dict[str, Any]] = []
        self.cdp.on("Runtime.executionContextCreated", lambda e: self.contexts.append(e["context"]))
        self.cdp.send("Runtime.enable")

    def evaluate(self, expression: str) -> Any:
        ours = [
            c
            for c in self.contexts
            if c.get("origin", "").startswith("chrome-extension://")
            and (c.get("auxData") or {}).get("type") == "isolated"
        ]
        assert ours, "the content scripts are not running in this page"
        answer = self.cdp.send(
            "Runtime.evaluate",
            {"expression": expression, "contextId": ours[-1]["id"], "returnByValue": True},
        )
        return answer["result"].get("value")

    def stop_frames(self) -> None:
        """What a hidden tab does to the scan: no animation frame comes any more. (Headless
        Chromium keeps drawing a background tab now and then, so switching tabs alone does
        not show it.)"""
        self.evaluate(
            "globalThis.__raf = globalThis.__raf || window.requestAnimationFrame;"
            "window.requestAnimationFrame = () => 0; true"
        )

    def restart_frames(self) -> None:
        self.evaluate("window.requestAnimationFrame = globalThis.__raf; true")


def shown_bio(account: dict[str, Any], index: int) -> str:
    """The bio as X shows it: the raw description with each t.co link in its display form."""
    xs = x_side(account, index)
    text = xs["description"]
    for u in xs["urls"]:
        text = text.replace(u["url"], u["display_url"])
    return re.sub(r"[ \t]+\n", "\n", text).strip()


def expected_sent(account: dict[str, Any], index: int) -> dict[str, Any]:
    """What the extension must send for an account of the imitation's list."""
    return {
        "handle": account["handle"],
        "name": account.get("name") or "",
        "bio": shown_bio(account, index),
        # The website is an address: anything else X holds there (javascript:…) is not sent.
        "url": url if (url := account.get("url") or None) and url.startswith("http") else None,
        "links": list(account.get("links") or []),
        "id": str(account["id"]),
        "follows_you": bool(account.get("follows_you")),
    }


ROWS_JS = """() => [...document.querySelectorAll('[data-testid=row]')].map(r => {
  const cell = (net) => {
    const link = r.querySelector(`[data-testid=${net}-link]`);
    const level = r.querySelector(`[data-testid=${net}-level]`);
    const box = r.querySelector(`[data-testid=select-${net}]`);
    return link ? { id: link.dataset.id, shown: link.textContent, level: level.dataset.level,
                    selected: box.checked,
                    bridged: !!r.querySelector(`[data-testid=${net}-bridged]`) } : null;
  };
  return { handle: r.dataset.handle, hidden: r.hidden,
           name: r.querySelector('[data-testid=x-name]').textContent,
           bluesky: cell('bluesky'), mastodon: cell('mastodon') };
})"""


def result_rows(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(ROWS_JS)


def scan_to_results(ctx: Any, path: str, timeout: float = 120_000) -> Any:
    """Open the list on x.com, click the button, and return the results page once it opens."""
    page = ctx.new_page()
    page.goto(f"https://x.com{path}")
    with ctx.expect_page(timeout=timeout) as opened:
        page.get_by_test_id("passerelle-scan").click()
    return opened.value


# A scanned list (X handle, name) without answers yet, written into the extension's storage
# from one of its pages: `page.evaluate(SEED_SCAN, [key, rows])`.
SEED_SCAN = """([key, rows]) => {
  const order = [], accounts = {};
  rows.forEach(([x, name]) => {
    order.push(x);
    accounts[x] = {handle: x, name, bio: '', url: null, links: [], id: '1', follows_you: false};
  });
  return chrome.storage.local.set({[`scan:${key}`]: {key, order, accounts, state: 'done'},
                                   current: key});
}"""

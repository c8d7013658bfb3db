"""Only the page's own, real messages are read as X's answers: a synthetic event (what any
script of the page or another extension can dispatch), or an ill-formed user, adds nobody to the
scanned list (issue #13: a forged message could alter a scanned row)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser import extension_context
from tests.e2e.conftest import Recorder
from tests.standins.xcom import XCom, XList, user_id

LIST = "/owner/following"
FORGE = """([subject, how]) => {
  const page = {source: 'passerelle-hook', op: 'Following', path: '/owner/following', subject,
    users: [{handle: 'forged_user', name: 'Forged', description: 'not in the list', links: []}]};
  if (how === 'synthetic') {
    window.dispatchEvent(new MessageEvent('message',
      {data: page, source: window, origin: location.origin}));
  } else {  // a real message, but its user is not one X would send
    page.users = [{handle: 'huge_name', name: 'x'.repeat(100000), description: '', links: []}];
    window.postMessage(page, location.origin);
  }
}"""


def test_forged_messages_add_nobody(
    playwright: Any, extension_dir: Any, recorder: Recorder, accounts: list[dict[str, Any]]
) -> None:
    recorder.clear()
    part = accounts[:60]
    with extension_context(playwright, extension_dir) as (ctx, _):
        XCom([XList(LIST, part, latency_ms=20)]).install(ctx)
        page = ctx.new_page()
        page.goto(f"https://x.com{LIST}")
        expect(page.get_by_test_id("passerelle-scan")).to_be_visible()
        for how in ("synthetic", "ill-formed"):
            page.evaluate(FORGE, [user_id(LIST), how])
        with ctx.expect_page(timeout=120_000) as opened:
            page.get_by_test_id("passerelle-scan").click()
        expect(opened.value.get_by_test_id("row")).to_have_count(len(part))
    assert [a["handle"] for a in recorder.accounts()] == [a["handle"] for a in part]

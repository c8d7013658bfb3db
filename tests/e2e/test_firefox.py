"""The Firefox build in Firefox ESR itself, at a real service's pace.

Firefox suspends an idle event page after 30 s; `fetch()` and `storage.local` do not count as
activity. A service that takes 8 s a batch (a cold real one) gives a resolve of 500 accounts
40 s and more, and the suspension used to stop it half-way, with the results page never
opened. Chromium does not behave so: this test runs the `.xpi`'s files in Firefox ESR through
Marionette (tests/firefox.py), the X imitation served over HTTPS through a proxy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import build_extension
from tests.conftest import Served
from tests.e2e.helpers import ROWS_JS, expected_sent
from tests.firefox import firefox_path, firefox_with_extension
from tests.standins.relay import Relay
from tests.standins.xcom import XCom, XList
from tests.standins.xcom.server import XComServer

LIST = "/renardroux/following"
KEY = "renardroux/following"
SIZE = 500
BATCH_SECONDS = 8.0  # 5 batches: 40 s of resolving, past the 30 s suspension (was 800: 64 s)


@pytest.fixture
def slow_service(e2e_served: Served) -> Iterator[Relay]:
    """The service behind a relay that takes 8 s to answer each resolve batch."""
    relay = Relay(e2e_served.url, record="/api/resolve")
    relay.delay = BATCH_SECONDS
    yield relay
    relay.stop()


def test_long_resolve_survives_event_page_suspension(
    slow_service: Relay,
    e2e_world: dict[str, Any],
    accounts: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    if firefox_path() is None:
        pytest.fail("Firefox ESR is not installed: run scripts/test-deps.sh (make test does)")
    part = accounts[:SIZE]
    build_extension.build(("firefox",), slow_service.url, tmp_path)
    x = XComServer(XCom([XList(LIST, part, latency_ms=150)]))
    try:
        with firefox_with_extension(tmp_path / "firefox", x.ca, x.proxy_port) as ff:
            ff.client.navigate(f"https://x.com{LIST}")
            button = ff.wait(
                lambda: ff.script(
                    "return document.querySelector('[data-testid=passerelle-scan]');"
                ),
                "the Passerelle button on the list",
            )
            button.click()
            results = ff.base + "pages/results.html"
            # Scrolling 500 rows, then 5 batches at 8 s each: past Firefox's 30 s idle
            # suspension of the event page.
            try:
                handle = ff.wait(lambda: ff.handle_of(results), "the results page", timeout=480)
            except AssertionError as e:
                got = len(slow_service.accounts())
                raise AssertionError(f"{e}: {got} of {SIZE} accounts were sent") from None
            ff.client.switch_to_window(handle)
            rows = ff.wait(
                lambda: (r := ff.script(f"return ({ROWS_JS})();")) and len(r) == SIZE and r,
                f"{SIZE} rows on the results page",
                timeout=60,
            )
            job = ff.script("return document.querySelector('[data-testid=counts]').textContent;")
    finally:
        x.stop()

    # Every account was read intact, sent, and answered.
    sent = {a["handle"]: a for a in slow_service.accounts()}
    assert set(sent) == {a["handle"] for a in part}
    for i, acc in enumerate(part):
        want = expected_sent(acc, i)
        assert {k: sent[acc["handle"]].get(k) for k in want} == want, acc["handle"]
    assert [r["handle"] for r in rows] == [a["handle"] for a in part]
    truth = {a["handle"]: a for a in e2e_world["accounts"]}
    for row in rows:
        acc = truth[row["handle"]]
        for net in ("bluesky", "mastodon"):
            if acc["findable"][net]:
                assert row[net] and row[net]["id"] == acc["expect"][net], (row["handle"], net)
    assert f"{SIZE:,}" in job

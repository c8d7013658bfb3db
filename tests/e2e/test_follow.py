"""From the results page to follows on the PDS: sign in with an app password on the page, follow
the selection through the real service, and find the records on the real local PDS."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import build_extension
from tests import devenv
from tests.browser import extension_context
from tests.conftest import Served, service_env
from tests.e2e.helpers import SEED_SCAN
from tests.standins.internet import Internet
from tests.test_follow_bluesky import records

pytestmark = pytest.mark.devenv

PASSWORD = "pw-e2e-0001"
PEOPLE = [f"ami{i:02d}.test" for i in range(5)]
KEY = "owner/following"
ANOTHER_PDS = ("moi-b.test", "moi-c.test")
FIREFOX_ME = "moi-f.test"  # signs in with Bluesky from the Firefox build
# Follow the people who arrived since the last check (#21): from Chromium, from Firefox.
NEW_ME = {"chromium": "moi-n.test", "firefox": "moi-fn.test"}
NEWCOMER = {"chromium": "ami03.test", "firefox": "ami04.test"}


@pytest.fixture(scope="module")
def network() -> Iterator[devenv.AtprotoNetwork]:
    accounts = [{"handle": "moi-x.test", "displayName": "Moi", "password": PASSWORD}]
    # Signs in with Bluesky's OAuth (its own follows, apart from moi-x.test's).
    accounts += [{"handle": "moi-o.test", "displayName": "Moi O", "password": PASSWORD}]
    accounts += [{"handle": FIREFOX_ME, "password": PASSWORD}]
    accounts += [{"handle": h, "password": PASSWORD} for h in NEW_ME.values()]
    # Users of another provider (the network's second PDS): by app password, and by OAuth.
    accounts += [{"handle": h, "password": PASSWORD, "pds": 2} for h in ANOTHER_PDS]
    accounts += [{"handle": h, "displayName": h.split(".")[0].title()} for h in PEOPLE]
    net = devenv.start(accounts)
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture(scope="module")
def follow_extension(
    network: devenv.AtprotoNetwork, e2e_internet: Internet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    from tests.standins.dns import TxtServer

    tmp = tmp_path_factory.mktemp("follow")
    # Every sign-in finds the account's own PDS from its handle (DNS, then PLC): no
    # PASSERELLE_BSKY_PDS, as a hosted instance serving people of many providers runs.
    me = ("moi-x.test", "moi-o.test", FIREFOX_ME, *ANOTHER_PDS, *NEW_ME.values())
    dns = TxtServer({f"_atproto.{h}": f"did={network.accounts[h]}" for h in me})
    served = Served(
        service_env(
            e2e_internet,
            tmp,
            XDG_STATE_HOME=str(tmp / "state"),
            PASSERELLE_PLC_URL=network.plc,
            PASSERELLE_DNS_SERVERS=dns.address,
            PASSERELLE_TRUSTED_HOSTS="localhost",
        )
    )
    try:
        build_extension.build(("chrome", "firefox"), served.url, tmp / "dist")
        yield tmp / "dist" / "chrome"  # the Firefox build beside it
    finally:
        served.stop()
        dns.stop()


SEED = """([key, people]) => {
  const order = [], accounts = {}, results = {};
  people.forEach(([handle, did], i) => {
    const x = `x_${i}`;
    order.push(x);
    accounts[x] = {handle: x, name: `Person ${i}`, bio: '', url: null, links: [], id: String(i),
                   follows_you: false};
    results[x] = {handle: x, error: null, mastodon: null, candidates: {bluesky: [], mastodon: []},
      bluesky: {handle, did, url: `https://bsky.app/profile/${handle}`, display_name: handle,
                avatar: null, level: i === people.length - 1 ? 'possible' : 'confirmed',
                reasons: ['bio-handle'], bridged: false}};
  });
  return chrome.storage.local.set({[`scan:${key}`]: {key, order, accounts, state: 'done'},
                                   [`results:${key}`]: results, current: key});
}"""


def results_page(ctx: Any, ext_id: str, network: devenv.AtprotoNetwork) -> Any:
    """The results page of a list whose people are PEOPLE (the last one only `possible`), with
    its follow panel open."""
    people = [[h, network.accounts[h]] for h in PEOPLE]
    page = ctx.new_page()
    page.goto(f"chrome-extension://{ext_id}/pages/options.html")
    page.evaluate(SEED, [KEY, people])
    page.goto(f"chrome-extension://{ext_id}/pages/results.html?list={KEY}")
    expect(page.get_by_test_id("row")).to_have_count(len(PEOPLE))
    page.get_by_test_id("action-bluesky").click()
    return page


def test_follow_from_the_results_page(
    playwright: Any, follow_extension: Path, network: devenv.AtprotoNetwork
) -> None:
    with extension_context(playwright, follow_extension) as (ctx, ext_id):
        page = results_page(ctx, ext_id, network)
        follow = page.get_by_test_id("bsky-follow")
        expect(follow).to_have_text("Follow the 4 selected")  # "possible" is not pre-selected
        page.get_by_test_id("bsky-handle").fill("moi-x.test")
        page.get_by_test_id("bsky-password").fill("wrong-password")
        follow.click()
        expect(page.get_by_test_id("follow-status")).to_have_text(
            "Bluesky refused the handle or app password.", timeout=60_000
        )
        page.get_by_test_id("bsky-password").fill(PASSWORD)
        page.get_by_test_id("bsky-list").fill("Venus de X")
        page.get_by_test_id("bsky-pack").fill("Mes gens")
        follow.click()
        expect(page.get_by_test_id("bsky-password")).to_have_value("")
        status = page.get_by_test_id("follow-status")
        expect(status).to_have_attribute("data-status", "done", timeout=60_000)
        expect(status).to_have_text("Done: followed 4, already followed 0, failed 0.")
        outcomes = page.get_by_test_id("follow-outcome")
        expect(outcomes).to_have_count(4)
        expect(outcomes.first).to_have_text("followed")
        page.get_by_test_id("announce-panel").locator("summary").click()
        page.get_by_test_id("my-fediverse").fill("moi@piaille.fr")
        text = page.get_by_test_id("announce-text").input_value()
        assert (
            "🦋 Bluesky: @moi-x.test" in text and "🐘 Mastodon / fediverse: @moi@piaille.fr" in text
        )
        assert f"https://bsky.app/starter-pack/{network.accounts['moi-x.test']}/" in text
        page.get_by_test_id("announce-lang").select_option("fr")
        assert page.get_by_test_id("announce-text").input_value().startswith("Je quitte X.")
        everything = page.evaluate("chrome.storage.local.get(null)")
    follows = {r["value"]["subject"] for r in records(network, "app.bsky.graph.follow")}
    assert follows == {network.accounts[h] for h in PEOPLE[:4]}
    lists = {r["value"]["name"]: r["uri"] for r in records(network, "app.bsky.graph.list")}
    items = {
        r["value"]["subject"]
        for r in records(network, "app.bsky.graph.listitem")
        if r["value"]["list"] == lists["Venus de X"]
    }
    assert items == follows
    assert PASSWORD not in repr(everything)  # the extension kept no credential


def test_an_account_on_another_pds_follows_from_the_results_page(
    playwright: Any, follow_extension: Path, network: devenv.AtprotoNetwork
) -> None:
    """The user's account lives on another provider's PDS (the network's second one): the
    app password signs in there, found from the handle, and the follows are written there."""
    with extension_context(playwright, follow_extension) as (ctx, ext_id):
        page = results_page(ctx, ext_id, network)
        page.get_by_test_id("bsky-handle").fill("moi-b.test")
        page.get_by_test_id("bsky-password").fill(PASSWORD)
        page.get_by_test_id("bsky-follow").click()
        status = page.get_by_test_id("follow-status")
        expect(status).to_have_attribute("data-status", "done", timeout=60_000)
        expect(status).to_have_text("Done: followed 4, already followed 0, failed 0.")
    written = records(network, "app.bsky.graph.follow", "moi-b.test")
    follows = {r["value"]["subject"] for r in written}
    assert follows == {network.accounts[h] for h in PEOPLE[:4]}


@pytest.mark.parametrize("me", ["moi-o.test", "moi-c.test"])
def test_sign_in_with_bluesky_from_the_results_page(
    playwright: Any, follow_extension: Path, network: devenv.AtprotoNetwork, me: str
) -> None:
    """No app password: the button opens the account's own server's sign-in and consent
    screens (the local PDS's for moi-o.test, the second PDS's for moi-c.test, driven here),
    the service takes the answer, and the follow job runs with the DPoP-bound token."""
    with extension_context(playwright, follow_extension) as (ctx, ext_id):
        page = results_page(ctx, ext_id, network)
        page.get_by_test_id("bsky-handle").fill(me)
        oauth = page.get_by_test_id("bsky-oauth")
        expect(oauth).to_have_text("Sign in with Bluesky and follow")
        with ctx.expect_page() as sign_in_page:
            oauth.click()
        sign_in = sign_in_page.value
        expect(sign_in.locator("input[name=username]")).to_have_value(me, timeout=60_000)
        pds = network.pds2 if me == "moi-c.test" else network.pds
        assert sign_in.url.startswith(pds.replace("127.0.0.1", "localhost")), sign_in.url
        sign_in.fill("input[name=password]", PASSWORD)
        sign_in.get_by_role("button", name="Sign in").click()
        sign_in.get_by_role("button", name="Authorize").click()
        expect(sign_in.get_by_test_id("oauth-done")).to_contain_text(f"@{me}", timeout=60_000)
        status = page.get_by_test_id("follow-status")
        expect(status).to_have_attribute("data-status", "done", timeout=60_000)
        expect(status).to_have_text("Done: followed 4, already followed 0, failed 0.")
        everything = page.evaluate("chrome.storage.local.get(null)")
    did = network.accounts[me]
    with urllib.request.urlopen(
        f"{pds}/xrpc/com.atproto.repo.listRecords?repo={did}"
        "&collection=app.bsky.graph.follow&limit=100"
    ) as r:
        follows = {rec["value"]["subject"] for rec in json.loads(r.read())["records"]}
    assert follows == {network.accounts[h] for h in PEOPLE[:4]}
    assert PASSWORD not in repr(everything)


def test_sign_in_with_bluesky_and_follow_in_firefox(
    follow_extension: Path, network: devenv.AtprotoNetwork
) -> None:
    """The Firefox build, in Firefox ESR: Sign in with Bluesky from the results page, the PDS's
    own screens in the tab it opens, and the follow job to its end. The user takes 35 s on the
    sign-in page: past the 30 s after which Firefox suspends an idle event page, while the
    background waits for them (its polls are fetch(), which Firefox does not count as activity)."""
    import time

    from tests.firefox import firefox_path, firefox_with_extension
    from tests.standins.tls import LocalCA

    if firefox_path() is None:
        pytest.fail("Firefox ESR is not installed: run scripts/test-deps.sh (make test does)")
    people = [[h, network.accounts[h]] for h in PEOPLE]
    pds = network.pds.replace("127.0.0.1", "localhost")
    # No x.com here: whatever would be proxied goes to a closed port.
    with firefox_with_extension(follow_extension.parent / "firefox", LocalCA(), 9) as ff:
        ff.client.navigate(ff.base + "pages/options.html")
        # In the page's own scope (no sandbox), where the extension's `chrome` API lives.
        ff.client.execute_script(
            f"return ({SEED})(arguments[0]);", script_args=[[KEY, people]], sandbox=None
        )
        ff.client.navigate(ff.base + f"pages/results.html?list={KEY}")
        results = ff.client.current_window_handle
        ff.wait(
            lambda: (
                ff.script("return document.querySelectorAll('[data-testid=row]').length;")
                == len(PEOPLE)
            ),
            "the rows",
        )
        ff.script("document.querySelector('[data-testid=action-bluesky]').click();")
        handle = ff.client.find_element("css selector", "[data-testid=bsky-handle]")
        handle.send_keys(FIREFOX_ME)
        ff.client.find_element("css selector", "[data-testid=bsky-oauth]").click()
        sign_in = ff.wait(lambda: ff.handle_of(pds), "the PDS's sign-in tab", timeout=60)
        ff.client.switch_to_window(sign_in)
        ff.wait(
            lambda: (
                ff.script(
                    "const u = document.querySelector('input[name=username]');return u && u.value;"
                )
                == FIREFOX_ME
            ),
            "the sign-in form, the handle filled in",
            timeout=60,
        )
        time.sleep(35)  # the user reads, finds their password: the event page stays idle
        ff.client.find_element("css selector", "input[name=password]").send_keys(PASSWORD)
        ff.client.find_element("xpath", "//button[normalize-space()='Sign in']").click()
        authorize = ff.wait(
            lambda: ff.client.find_elements("xpath", "//button[normalize-space()='Authorize']"),
            "the consent screen",
            timeout=60,
        )
        authorize[0].click()
        ff.wait(
            lambda: f"@{FIREFOX_ME}" in (ff.script("return document.body.innerText;") or ""),
            "the service's page: connected",
            timeout=60,
        )
        ff.client.switch_to_window(results)
        ff.wait(
            lambda: ff.script(
                "const s = document.querySelector('[data-testid=follow-status]');"
                "return s && s.dataset.status === 'done';"
            ),
            "the follow job done",
            timeout=120,
        )
        text = ff.script(
            "return document.querySelector('[data-testid=follow-status]').textContent;"
        )
    assert text == "Done: followed 4, already followed 0, failed 0.", text
    follows = {r["value"]["subject"] for r in records(network, "app.bsky.graph.follow", FIREFOX_ME)}
    assert follows == {network.accounts[h] for h in PEOPLE[:4]}


MSEED = """([key, rows]) => {
  const order = [], accounts = {}, results = {};
  rows.forEach(([x, acct, bridged]) => {
    order.push(x);
    accounts[x] = {handle: x, name: x, bio: '', url: null, links: [], id: '1', follows_you: false};
    results[x] = {handle: x, error: null, bluesky: null, candidates: {bluesky: [], mastodon: []},
      mastodon: {acct, url: `https://${acct.split('@')[1]}/@${acct.split('@')[0]}`, display_name: x,
                 avatar: null, level: 'confirmed', reasons: ['bio-handle'], bridged}};
  });
  return chrome.storage.local.set({[`scan:${key}`]: {key, order, accounts, state: 'done'},
                                   [`results:${key}`]: results, current: key});
}"""


def test_follow_on_mastodon_from_the_results_page(
    playwright: Any,
    extension_dir: Path,
    e2e_internet: Internet,
    e2e_world: dict[str, Any],
) -> None:
    plain = [a for a in e2e_world["accounts"] if a["case"] == "fedi-handle"][:2]
    bridged = [a for a in e2e_world["accounts"] if a["case"] == "bridged-bsky-to-fedi"][:1]
    rows = [[a["handle"], a["expect"]["mastodon"], a in bridged] for a in plain + bridged]
    proxy = e2e_internet.env["HTTPS_PROXY"]  # the user's server, reached through the stand-ins
    with extension_context(playwright, extension_dir, proxy=proxy) as (ctx, ext_id):
        page = ctx.new_page()
        page.goto(f"chrome-extension://{ext_id}/pages/options.html")
        page.evaluate(MSEED, [KEY, rows])
        page.goto(f"chrome-extension://{ext_id}/pages/results.html?list={KEY}")
        expect(page.get_by_test_id("row")).to_have_count(3)
        # The bridged Bluesky account is ticked only for someone who only uses Mastodon.
        mirror = page.locator(f'[data-handle="{bridged[0]["handle"]}"]')
        expect(mirror.get_by_test_id("select-mastodon")).not_to_be_checked()
        expect(mirror.get_by_test_id("mastodon-bridged")).to_have_text("bridged")
        page.get_by_test_id("only-mastodon").check()
        expect(mirror.get_by_test_id("select-mastodon")).to_be_checked()
        page.get_by_test_id("action-mastodon").click()
        page.get_by_test_id("masto-server").fill("home.social")
        with ctx.expect_page() as consent_page:
            page.get_by_test_id("masto-follow").click()
        consent = consent_page.value
        authorize = consent.get_by_role("button", name="Authorize")
        try:
            expect(authorize).to_be_visible(timeout=60_000)
        except AssertionError as e:
            shown = consent.evaluate("() => document.body ? document.body.innerText : ''")
            raise AssertionError(f"consent page {consent.url!r} shows {shown[:300]!r}") from e
        authorize.click()
        expect(consent.get_by_test_id("oauth-done")).to_contain_text(
            "moi@home.social", timeout=60_000
        )
        status = page.get_by_test_id("masto-status")
        expect(status).to_have_attribute("data-status", "done", timeout=60_000)
        expect(status).to_have_text("Done: followed 3, already followed 0, failed 0.")
        expect(page.get_by_test_id("follow-outcome")).to_have_count(3)
        everything = page.evaluate("chrome.storage.local.get(null)")
    assert e2e_internet.world.follows["moi@home.social"] == {r[1] for r in rows}
    assert "tok-" not in repr(everything)  # the token stayed in the service's memory


# -- checking again, then following the people who arrived (#21) ------------------------------
RKEY = "owner/followers"
RSEED = SEED_SCAN


def _arrival(e2e_internet: Internet, network: devenv.AtprotoNetwork, browser: str) -> str:
    """The newcomer's Bluesky account appears on the AppView, naming their X account back (the
    account is a real one of the local network: following it writes a real record)."""
    from tests.standins.internet import add_bsky_profile

    handle = NEWCOMER[browser]
    x = f"new_{browser}"
    add_bsky_profile(
        e2e_internet.world,
        {
            "did": network.accounts[handle],
            "handle": handle,
            "displayName": f"Nouvelle {browser.title()}",
            "description": f"Arrivée ! Anciennement x.com/{x}",
            "labels": [],
            "links": [],
        },
    )
    return x


def test_check_again_then_follow_the_new_ones(
    playwright: Any,
    follow_extension: Path,
    network: devenv.AtprotoNetwork,
    e2e_internet: Internet,
) -> None:
    """Chromium: a list checked once; a person joins; Check again marks them new; "Follow the
    new ones" leaves them alone selected; the follow writes exactly their record on the PDS."""
    from tests.e2e.helpers import storage, wait_until
    from tests.standins.internet import delete_bsky_profile

    rows = [["new_chromium", "Nouvelle Chromium"], ["other_chromium", "Quelqu'un"]]
    with extension_context(playwright, follow_extension) as (ctx, ext_id):
        page = ctx.new_page()
        page.goto(f"chrome-extension://{ext_id}/pages/options.html")
        page.evaluate(RSEED, [RKEY, rows])
        page.evaluate(f"chrome.runtime.sendMessage({{type: 'resume', key: '{RKEY}'}})")
        job = lambda: storage(page, f"job:{RKEY}") or {}  # noqa: E731
        wait_until(page, lambda: job().get("status") == "done", "the first check")
        try:
            _arrival(e2e_internet, network, "chromium")
            page.goto(f"chrome-extension://{ext_id}/pages/results.html?list={RKEY}")
            page.get_by_test_id("recheck").click()
            row = page.locator('[data-handle="new_chromium"]')
            expect(row).to_have_attribute("data-new", "true", timeout=60_000)
            page.get_by_test_id("follow-new").click()
            follow = page.get_by_test_id("bsky-follow")
            expect(follow).to_have_text("Follow the 1 selected")
            page.get_by_test_id("bsky-handle").fill(NEW_ME["chromium"])
            page.get_by_test_id("bsky-password").fill(PASSWORD)
            follow.click()
            expect(page.get_by_test_id("follow-status")).to_have_text(
                "Done: followed 1, already followed 0, failed 0.", timeout=120_000
            )
        finally:
            delete_bsky_profile(e2e_internet.world, NEWCOMER["chromium"])
    follows = {
        r["value"]["subject"] for r in records(network, "app.bsky.graph.follow", NEW_ME["chromium"])
    }
    assert follows == {network.accounts[NEWCOMER["chromium"]]}


def test_scheduled_check_in_firefox_then_follow_the_new_ones(
    follow_extension: Path, network: devenv.AtprotoNetwork, e2e_internet: Internet
) -> None:
    """The Firefox build in Firefox ESR: the weekly schedule's alarm fires (brought forward by
    the test), the background checks the list again, the badge counts the arrival and a
    notification says so; the new row is then followed on the local network."""
    from tests.firefox import firefox_path, firefox_with_extension
    from tests.standins.internet import delete_bsky_profile
    from tests.standins.tls import LocalCA

    if firefox_path() is None:
        pytest.fail("Firefox ESR is not installed: run scripts/test-deps.sh (make test does)")
    rows = [["new_firefox", "Nouvelle Firefox"], ["other_firefox", "Quelqu'un"]]
    get = "return chrome.storage.local.get(arguments[0]).then(x => x[arguments[0]] || null);"
    with firefox_with_extension(follow_extension.parent / "firefox", LocalCA(), 9) as ff:
        ff.client.navigate(ff.base + "pages/options.html")
        run = lambda src, *a: ff.client.execute_script(src, script_args=list(a), sandbox=None)  # noqa: E731
        run(f"return ({RSEED})(arguments[0]);", [RKEY, rows])
        run(f"chrome.runtime.sendMessage({{type: 'resume', key: '{RKEY}'}});")
        ff.wait(lambda: (run(get, f"job:{RKEY}") or {}).get("status") == "done", "first check")
        try:
            _arrival(e2e_internet, network, "firefox")
            run(
                "return chrome.storage.local.get('settings').then(({settings}) =>"
                " chrome.storage.local.set({settings: {...(settings || {}), recheck: 'weekly'},"
                f" 'checked:{RKEY}': {{at: Date.now() - 8 * 86400000}}}}));"
            )
            # The schedule arms its daily alarm once the setting is saved; then the test brings
            # that alarm forward (created again under its name, it fires in 0.2 s).
            ff.wait(lambda: run("return chrome.alarms.get('passerelle-recheck');"), "the schedule")
            run("chrome.alarms.create('passerelle-recheck', {when: Date.now() + 200});")
            ff.wait(
                lambda: (run(get, f"job:{RKEY}") or {}).get("rechecked"),
                "the scheduled re-check",
                timeout=120,
            )
            assert run("return chrome.action.getBadgeText({});") == "1"
            # Headless Firefox closes a notification as soon as it is shown: what the browser
            # accepted (the id `notifications.create` resolved with) is read back from storage.
            note = run(get, f"notified:{RKEY}")
            assert note["id"] == f"passerelle-new:{RKEY}", note
            assert note["message"] == (
                "People you follow on X are now on Bluesky or the fediverse: "
                "1 (1 on Bluesky, 0 on the fediverse)"
            ), note
            ff.client.navigate(ff.base + f"pages/results.html?list={RKEY}")
            ff.wait(
                lambda: ff.script(
                    "return document.querySelector('[data-handle=new_firefox][data-new]');"
                ),
                "the new row",
            )
            ff.script("document.querySelector('[data-testid=follow-new]').click();")
            ff.client.find_element("css selector", "[data-testid=bsky-handle]").send_keys(
                NEW_ME["firefox"]
            )
            ff.client.find_element("css selector", "[data-testid=bsky-password]").send_keys(
                PASSWORD
            )
            ff.client.find_element("css selector", "[data-testid=bsky-follow]").click()
            ff.wait(
                lambda: ff.script(
                    "const s = document.querySelector('[data-testid=follow-status]');"
                    "return s && s.dataset.status === 'done';"
                ),
                "the follow job done",
                timeout=120,
            )
            text = ff.script(
                "return document.querySelector('[data-testid=follow-status]').textContent;"
            )
        finally:
            delete_bsky_profile(e2e_internet.world, NEWCOMER["firefox"])
    assert text == "Done: followed 1, already followed 0, failed 0.", text
    follows = {
        r["value"]["subject"] for r in records(network, "app.bsky.graph.follow", NEW_ME["firefox"])
    }
    assert follows == {network.accounts[NEWCOMER["firefox"]]}

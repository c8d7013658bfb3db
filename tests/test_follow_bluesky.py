"""`passerelle follow bluesky` against the real local AT Protocol network: sign-in, follows,
accounts already followed, a list, starter packs, a budget spent mid-way and resumed, a wrong
password, and the network cut mid-queue. The records are checked on the PDS itself."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import devenv
from tests.e2e.helpers import wait_for
from tests.standins.relay import Relay

pytestmark = pytest.mark.devenv

PASSERELLE = str(Path(sys.executable).parent / "passerelle")
PASSWORD = "hunter2-hunter2"
# Each test follows its own people, so none depends on what another did first (random order).
PEOPLE = [f"pers{i:02d}.test" for i in range(32)]
# Accounts found by the look-up, gone before the follow (one of them already followed).
GONE = {
    "gone-del.test": "deleted",
    "gone-deact.test": "deactivated",
    "gone-down.test": "takendown",
    "gone-fol.test": "deactivated",
}


@pytest.fixture(scope="module")
def network() -> Iterator[devenv.AtprotoNetwork]:
    accounts: list[dict[str, Any]] = [
        {"handle": "moi-x.test", "displayName": "Me", "password": PASSWORD},
        # The user of another provider: an account on the network's second PDS.
        {"handle": "moi-b.test", "password": PASSWORD, "pds": 2},
        # The same follow started twice at once (#25), and with a crash in the middle.
        {"handle": "moi-t.test", "password": PASSWORD},
        {"handle": "moi-k.test", "password": PASSWORD},
    ]
    accounts += [{"handle": h, "displayName": f"Person {h[4:6]}"} for h in PEOPLE]
    accounts += [{"handle": h, "displayName": f"Gone {how}"} for h, how in GONE.items()]
    net = devenv.start(
        accounts,
        follows=[("moi-x.test", PEOPLE[0]), ("moi-x.test", "gone-fol.test")],
        gone=GONE,
    )
    try:
        yield net
    finally:
        net.stop()


def results_file(
    tmp: Path, network: devenv.AtprotoNetwork, handles: list[str], level: str = "confirmed"
) -> Path:
    results = [
        {
            "handle": f"x_{h.split('.')[0]}",
            "error": None,
            "mastodon": None,
            "candidates": {"bluesky": [], "mastodon": []},
            "bluesky": {
                "handle": h,
                "did": network.accounts[h],
                "level": level,
                "reasons": ["bio-handle"],
                "url": f"https://bsky.app/profile/{h}",
                "display_name": h,
                "avatar": None,
                "bridged": False,
            },
        }
        for h in handles
    ]
    results.append(
        {
            "handle": "nobody",
            "bluesky": None,
            "mastodon": None,
            "error": None,
            "candidates": {"bluesky": [], "mastodon": []},
        }
    )
    path = tmp / "results.json"
    path.write_text(json.dumps({"results": results, "stats": {}}))
    return path


def records(
    network: devenv.AtprotoNetwork, collection: str, me: str = "moi-x.test"
) -> list[dict[str, Any]]:
    """`me`'s records, read on its own PDS (the second one for moi-b.test)."""
    did = network.accounts[me]
    pds = network.pds2 if me == "moi-b.test" else network.pds
    out, cursor = [], ""
    while True:
        url = (
            f"{pds}/xrpc/com.atproto.repo.listRecords?repo={did}"
            f"&collection={collection}&limit=100" + (f"&cursor={cursor}" if cursor else "")
        )
        with urllib.request.urlopen(url) as r:
            page = json.loads(r.read())
        out += page["records"]
        cursor = page.get("cursor")
        if not cursor or not page["records"]:
            return out


def follow(
    network: devenv.AtprotoNetwork,
    *args: str,
    pds: str | None = None,
    password: str = PASSWORD,
    budget: int = 5000,
    env_extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "BLUESKY_HANDLE": "moi-x.test",
        "BLUESKY_APP_PASSWORD": password,
        "PASSERELLE_BSKY_PDS": pds or network.pds,
        "PASSERELLE_BSKY_WRITE_BUDGET": str(budget),
        "PASSERELLE_CACHE_URL": "none",
        "PASSERELLE_RETRIES": "0",
        "PASSERELLE_TIMEOUT": "5",
    }
    env.update(env_extra or {})
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run(
        [PASSERELLE, "follow", "bluesky", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def subjects(network: devenv.AtprotoNetwork, collection: str, me: str = "moi-x.test") -> list[str]:
    return [r["value"]["subject"] for r in records(network, collection, me)]


def test_wrong_password(network: devenv.AtprotoNetwork, tmp_path: Path) -> None:
    p = follow(network, str(results_file(tmp_path, network, PEOPLE[:2])), password="nope-nope")
    assert p.returncode == 1
    assert "refused" in p.stderr and "Traceback" not in p.stderr
    assert "nope-nope" not in p.stderr + p.stdout


def test_follow_list_and_starter_pack(network: devenv.AtprotoNetwork, tmp_path: Path) -> None:
    wanted = PEOPLE[:5]  # PEOPLE[0] is already followed
    f = results_file(tmp_path, network, wanted)
    p = follow(network, str(f), "--list", "Mes contacts X", "--starter-pack", "Ma communauté")
    assert p.returncode == 0, p.stderr
    assert "followed 4, skipped 1 (already followed), failed 0" in p.stdout
    dids = {network.accounts[h] for h in wanted}
    follows = subjects(network, "app.bsky.graph.follow")
    assert set(follows) >= dids and len(follows) == len(set(follows))  # no duplicate follow
    lists = {r["value"]["name"]: r for r in records(network, "app.bsky.graph.list")}
    curated = lists["Mes contacts X"]
    assert curated["value"]["purpose"] == "app.bsky.graph.defs#curatelist"
    items = records(network, "app.bsky.graph.listitem")
    in_list = {r["value"]["subject"] for r in items if r["value"]["list"] == curated["uri"]}
    assert in_list == dids
    [pack] = [
        r
        for r in records(network, "app.bsky.graph.starterpack")
        if r["value"]["name"] == "Ma communauté"
    ]
    ref = lists["Ma communauté"]
    assert ref["value"]["purpose"] == "app.bsky.graph.defs#referencelist"
    assert pack["value"]["list"] == ref["uri"]
    assert {r["value"]["subject"] for r in items if r["value"]["list"] == ref["uri"]} == dids
    # Running it again changes nothing: everything is already there.
    before = len(records(network, "app.bsky.graph.listitem"))
    p = follow(network, str(f), "--list", "Mes contacts X", "--starter-pack", "Ma communauté")
    assert p.returncode == 0, p.stderr
    assert len(records(network, "app.bsky.graph.listitem")) == before
    assert len(subjects(network, "app.bsky.graph.follow")) == len(follows)


def test_budget_spent_midway_then_resumed(network: devenv.AtprotoNetwork, tmp_path: Path) -> None:
    wanted = PEOPLE[5:12]  # 7 people; a budget of 12 points is 4 follows
    f = results_file(tmp_path, network, wanted, level="likely")
    p = follow(network, str(f), "--no-wait", budget=12)
    assert p.returncode == 0, p.stderr
    assert "followed 4" in p.stdout and "still to do 3" in p.stdout
    assert "write budget spent" in p.stdout
    state = json.loads((tmp_path / "results.json.follow-bluesky.json").read_text())
    assert PASSWORD not in json.dumps(state)  # no credential on disk
    assert (
        sum(
            1
            for d in subjects(network, "app.bsky.graph.follow")
            if d in {network.accounts[h] for h in wanted}
        )
        == 4
    )
    p = follow(network, str(f), budget=5000)  # later: the budget has room again
    assert p.returncode == 0, p.stderr
    assert "followed 7" in p.stdout
    follows = subjects(network, "app.bsky.graph.follow")
    assert {network.accounts[h] for h in wanted} <= set(follows)
    assert len(follows) == len(set(follows))


def test_levels_filter(network: devenv.AtprotoNetwork, tmp_path: Path) -> None:
    f = results_file(tmp_path, network, PEOPLE[12:13], level="possible")
    p = follow(network, str(f))
    assert p.returncode == 0 and "followed 0, skipped 0" in p.stdout  # possible: not by default
    p = follow(network, str(f), "--levels", "possible")
    assert p.returncode == 0 and "followed 1" in p.stdout


def test_network_cut_mid_queue_then_resumed(network: devenv.AtprotoNetwork, tmp_path: Path) -> None:
    relay = Relay(network.pds)
    try:
        relay.cut_after = 4  # sign-in, read follows, one batch … then the line goes down
        wanted = PEOPLE[13:16]
        f = results_file(tmp_path, network, wanted)
        p = follow(network, str(f), "--list", "Coupure", pds=relay.url)
        assert p.returncode == 1
        assert "run the same command again to resume" in p.stdout
        relay.cut_after = None
        p = follow(network, str(f), "--list", "Coupure", pds=relay.url)
        assert p.returncode == 0, p.stderr
    finally:
        relay.stop()
    lists = {r["value"]["name"]: r["uri"] for r in records(network, "app.bsky.graph.list")}
    items = [
        r["value"]["subject"]
        for r in records(network, "app.bsky.graph.listitem")
        if r["value"]["list"] == lists["Coupure"]
    ]
    assert sorted(items) == sorted(network.accounts[h] for h in wanted)
    follows = subjects(network, "app.bsky.graph.follow")
    assert len(follows) == len(set(follows))


def test_bad_input_file(network: devenv.AtprotoNetwork, tmp_path: Path) -> None:
    f = tmp_path / "bad.json"
    f.write_text('{"results": [{"handle": "a", "bluesky": {"level": "sure"}}]}')
    p = follow(network, str(f))
    assert p.returncode == 2 and "results[0].bluesky" in p.stderr
    p = follow(network, str(f), "--levels", "maybe")
    assert p.returncode == 2 and "--levels" in p.stderr


def test_accounts_gone_since_the_look_up_are_neither_followed_nor_listed(
    network: devenv.AtprotoNetwork, tmp_path: Path
) -> None:
    """Before: a selected DID whose account was deleted was followed and added to the list
    and the starter pack (a PDS writes a follow record for any DID)."""
    here = PEOPLE[16:18]
    f = results_file(tmp_path, network, here + list(GONE))
    p = follow(network, str(f), "--list", "Partis", "--starter-pack", "Partis pack")
    assert p.returncode == 0, p.stderr
    # Counted only what was written: two follows; the one already followed is "skipped".
    assert "followed 2, skipped 1 (already followed), failed 0" in p.stdout
    assert "not followed 3 (no longer on the network)" in p.stdout
    for handle in ("gone-del.test", "gone-deact.test", "gone-down.test"):
        assert f"not followed: @{handle}: no longer on Bluesky" in p.stderr, p.stderr
    assert "not listed: @gone-fol.test: no longer on Bluesky" in p.stderr, p.stderr
    gone = {network.accounts[h] for h in GONE}
    follows = subjects(network, "app.bsky.graph.follow")
    assert {network.accounts[h] for h in here} <= set(follows)
    new_follows = set(follows) - {network.accounts[PEOPLE[0]], network.accounts["gone-fol.test"]}
    assert not new_follows & gone
    lists = {r["value"]["name"]: r["uri"] for r in records(network, "app.bsky.graph.list")}
    for name in ("Partis", "Partis pack"):
        members = {
            r["value"]["subject"]
            for r in records(network, "app.bsky.graph.listitem")
            if r["value"]["list"] == lists[name]
        }
        assert members == {network.accounts[h] for h in here}, name


@pytest.mark.parametrize("me", ["moi-x.test", "moi-b.test"])
def test_the_account_s_own_pds_is_found_from_its_handle(
    network: devenv.AtprotoNetwork, tmp_path: Path, me: str
) -> None:
    """No PASSERELLE_BSKY_PDS: the account lives on the local network's PDS (moi-x.test) or
    on its second PDS (moi-b.test, another provider's), not on the default
    (https://bsky.social, which cannot be reached from here); its handle gives its DID (DNS
    `_atproto` TXT, from a local DNS server), the DID its document (the local PLC directory),
    the document its PDS. Before: sign-in went to the default and failed."""
    from tests.standins.dns import TxtServer

    dns = TxtServer({f"_atproto.{me}": f"did={network.accounts[me]}"})
    try:
        f = results_file(tmp_path, network, [PEOPLE[18]])
        p = follow(
            network,
            str(f),
            env_extra={
                "BLUESKY_HANDLE": me,
                "PASSERELLE_BSKY_PDS": None,  # not set: found from the handle
                "PASSERELLE_PLC_URL": network.plc,
                "PASSERELLE_DNS_SERVERS": dns.address,
                # The PDS of a local network is on this machine: trusted by name, as an
                # operator trusts a PDS on their own network. Nothing else is.
                "PASSERELLE_TRUSTED_HOSTS": "localhost",
                # No way out: the well-known and AppView attempts fail here, as the default
                # PDS would.
                "HTTPS_PROXY": "http://127.0.0.1:9",
                "NO_PROXY": "127.0.0.1,localhost",
            },
        )
    finally:
        dns.stop()
    assert p.returncode == 0, p.stderr
    pds = network.pds2 if me == "moi-b.test" else network.pds
    assert f"signing in at {pds}" in p.stderr.replace("127.0.0.1", "localhost")
    assert network.accounts[PEOPLE[18]] in subjects(network, "app.bsky.graph.follow", me)


def test_a_handle_whose_pds_cannot_be_found_is_said(
    network: devenv.AtprotoNetwork, tmp_path: Path
) -> None:
    from tests.standins.dns import TxtServer

    dns = TxtServer({})
    try:
        p = follow(
            network,
            str(results_file(tmp_path, network, [PEOPLE[19]])),
            env_extra={
                "PASSERELLE_BSKY_PDS": None,
                "PASSERELLE_PLC_URL": network.plc,
                "PASSERELLE_DNS_SERVERS": dns.address,
                "HTTPS_PROXY": "http://127.0.0.1:9",
                "NO_PROXY": "127.0.0.1,localhost",
            },
        )
    finally:
        dns.stop()
    assert p.returncode == 1
    assert "@moi-x.test: no Bluesky account has this handle" in p.stderr, p.stderr


def allow_in_browser(
    playwright: Any,
    url: str,
    landed: str,
    hosted: bool = False,
    capture: str | None = None,
    me: str = "moi-x.test",
) -> str:
    """What the user does on the PDS's own OAuth screens (the local network's, in Chromium):
    sign in as `me` (the handle is filled in from the sign-in's hint), allow, and land
    on the page that says `landed`. `hosted`: the browser reaches names under
    devenv.LOOPBACK_DOMAIN on this machine, over https from the network's CA. `capture`: the
    address the browser is sent back to, starting so, is returned (whatever is there answers,
    `landed` is not looked for)."""
    from playwright.sync_api import expect

    from tests.browser import chromium_path

    # Direct connections: a stand-in internet's HTTPS_PROXY may be in this process's
    # environment (Chromium on Linux honours it), and would take the hosted address elsewhere.
    args = ["--no-proxy-server"]
    if hosted:
        args.append(f"--host-resolver-rules=MAP *.{devenv.LOOPBACK_DOMAIN} 127.0.0.1")
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=args)
    came_back = ""
    try:
        page = browser.new_context(ignore_https_errors=hosted).new_page()
        page.goto(url)
        # The PDS's pages and the service's callback do real work (metadata fetched, codes
        # exchanged): waited for on a busy machine as long as they need, within a minute.
        expect(page.locator("input[name=username]")).to_have_value(me, timeout=60_000)
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Authorize").click()
        if capture:
            page.wait_for_url(lambda u: u.startswith(capture), timeout=60_000)
            came_back = page.url
        else:
            expect(page.locator("body")).to_contain_text(landed, timeout=60_000)
    finally:
        browser.close()
    return came_back


@pytest.mark.parametrize("me", ["moi-x.test", "moi-b.test"])
def test_sign_in_with_bluesky_oauth(
    network: devenv.AtprotoNetwork, tmp_path: Path, playwright: Any, me: str
) -> None:
    """No app password: `--oauth` signs in with Bluesky's OAuth (PAR, PKCE, DPoP) as a
    loopback client; the PDS's own sign-in and consent screens are driven in Chromium, and the
    follows are written with the DPoP-bound token, at the PDS the handle names: the network's
    own (moi-x.test) or its second one (moi-b.test, another provider's, with its own
    authorization server)."""
    import threading
    import time

    from tests.standins.dns import TxtServer

    dns = TxtServer({f"_atproto.{me}": f"did={network.accounts[me]}"})
    wanted = PEOPLE[20:23]
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "BLUESKY_HANDLE": me,
        "PASSERELLE_PLC_URL": network.plc,
        "PASSERELLE_DNS_SERVERS": dns.address,
        "PASSERELLE_TRUSTED_HOSTS": "localhost",
        "PASSERELLE_CACHE_URL": "none",
        "PASSERELLE_RETRIES": "0",
        "PASSERELLE_TIMEOUT": "5",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
        "BROWSER": "true",  # the test's own browser signs in, not the desktop's
    }
    f = results_file(tmp_path, network, wanted)
    proc = subprocess.Popen(
        [PASSERELLE, "follow", "bluesky", str(f), "--oauth"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("in your browser: " in ln for ln in lines):
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        url = next(ln for ln in lines if "in your browser: " in ln).split("in your browser: ")[1]
        allow_in_browser(playwright, url.strip(), "Signed in with Bluesky", me=me)
        out = proc.stdout.read() if proc.stdout else ""
        assert proc.wait(timeout=180) == 0, "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
        dns.stop()
    reader.join(5)
    err = "".join(lines)
    assert "followed 3, skipped 0 (already followed), failed 0" in out, out + err
    assert f"signed in as @{me}" in err
    pds = network.pds2 if me == "moi-b.test" else network.pds
    assert url.startswith(pds.replace("127.0.0.1", "localhost")), url  # its own server's screens
    assert set(subjects(network, "app.bsky.graph.follow", me)) >= {
        network.accounts[h] for h in wanted
    }
    assert "code=" not in err and PASSWORD not in err + out  # no code, no password printed


def follow_job(
    url: str, session: str, network: devenv.AtprotoNetwork, wanted: list[str]
) -> dict[str, Any]:
    """A follow job of `wanted` through the service at `url`, polled to its end (or a minute)."""
    import time

    from tests.conftest import post_json

    targets = [{"did": network.accounts[h], "handle": h, "x": h[:6]} for h in wanted]
    status, started = post_json(
        url + "/api/bluesky/follow", {"session": session, "targets": targets}
    )
    assert status == 202, started
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(f"{url}/api/jobs/{started['job']}") as r:
            job = json.loads(r.read())
        if job["status"] in ("done", "stopped") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def test_sign_in_with_bluesky_through_the_service(
    network: devenv.AtprotoNetwork, tmp_path: Path, playwright: Any
) -> None:
    """The service on the user's machine (127.0.0.1) signs in with Bluesky's OAuth: authorize,
    the PDS's screens in Chromium, back to the service's callback, the session collected with
    the sign-in's key, then a follow job written with the DPoP-bound token."""

    from tests.conftest import Served, post_json
    from tests.standins.dns import TxtServer

    dns = TxtServer({"_atproto.moi-x.test": f"did={network.accounts['moi-x.test']}"})
    env = {
        **{k: v for k, v in __import__("os").environ.items() if not k.startswith("PASSERELLE_")},
        "PASSERELLE_PLC_URL": network.plc,
        "PASSERELLE_BSKY_APPVIEW": network.appview,
        "PASSERELLE_DNS_SERVERS": dns.address,
        "PASSERELLE_TRUSTED_HOSTS": "localhost",
        "PASSERELLE_CACHE_URL": f"sqlite:///{tmp_path}/cache.sqlite3",
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    served = Served(env)
    try:
        status, body = post_json(served.url + "/api/bluesky/authorize", {"handle": "moi-x.test"})
        assert status == 200, body
        allow_in_browser(playwright, body["authorize_url"], "Connected as @moi-x.test")
        ask = {"state": body["state"], "key": "not the key"}
        assert post_json(served.url + "/api/bluesky/oauth-session", ask)[1] == {"ready": False}
        ask["key"] = body["key"]
        status, ready = post_json(served.url + "/api/bluesky/oauth-session", ask)
        assert ready["ready"] and ready["did"] == network.accounts["moi-x.test"], ready
        wanted = PEOPLE[23:26]
        job = follow_job(served.url, ready["session"], network, wanted)
        assert job["status"] == "done" and job["counts"]["followed"] == 3, job
        # The code is exchanged once: coming back again is refused.
        again = post_json(served.url + "/api/bluesky/oauth-session", ask)[1]
        assert again == {"ready": False}
    finally:
        served.stop()
        dns.stop()
    assert set(subjects(network, "app.bsky.graph.follow")) >= {network.accounts[h] for h in wanted}


def test_oauth_tokens_are_refreshed(network: devenv.AtprotoNetwork, playwright: Any) -> None:
    """A long follow job outlives an access token: the session renews it with its single-use
    refresh token (DPoP-bound, same key) before it expires, and the writes go on."""
    import datetime

    import requests

    from server.follow.bsky_oauth import BlueskyOAuth, LoopbackCallback, loopback_client_id

    did = network.accounts["moi-x.test"]
    callback = LoopbackCallback()
    http = requests.Session()
    http.trust_env = False
    oauth = BlueskyOAuth(http, 10, ("localhost",))
    try:
        redirect = callback.redirect_uri
        pending = oauth.start(
            "moi-x.test", did, network.pds, loopback_client_id(redirect), redirect
        )
        allow_in_browser(playwright, pending.authorize_url, "Signed in with Bluesky")
        answer = callback.wait(30)
    finally:
        callback.close()
    assert answer.get("state") == pending.state
    session = oauth.finish(pending, answer["code"], answer.get("iss"))
    first_access, first_refresh = session.access_token, session.refresh_token
    assert first_refresh and session.expires_at > 0
    session.expires_at = 1.0  # as if it had expired: the next call renews it first
    record = {
        "$type": "app.bsky.graph.follow",
        "subject": network.accounts[PEOPLE[26]],
        "createdAt": datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z"),
    }
    body = {"repo": did, "collection": "app.bsky.graph.follow", "record": record}
    r = session.xrpc(http, "POST", "com.atproto.repo.createRecord", body=body)
    assert r.status_code == 200, r.text
    assert session.access_token != first_access and session.refresh_token != first_refresh
    assert network.accounts[PEOPLE[26]] in subjects(network, "app.bsky.graph.follow")
    # The old refresh token was used up.
    stale = session.__class__.from_json({**session.to_json(), "refresh_token": first_refresh})
    assert not stale.refresh(http)


HOSTED_SECRET = "a-hosted-instance-secret-kept-out-of-files"


def hosted_env(network: devenv.AtprotoNetwork, tmp_path: Path, dns_address: str) -> dict[str, str]:
    import os

    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_")},
        "PASSERELLE_PLC_URL": network.plc,
        "PASSERELLE_BSKY_APPVIEW": network.appview,
        "PASSERELLE_DNS_SERVERS": dns_address,
        "PASSERELLE_TRUSTED_HOSTS": "localhost",
        "PASSERELLE_CACHE_URL": f"sqlite:///{tmp_path}/cache.sqlite3",
        "PASSERELLE_SECRET_KEY": HOSTED_SECRET,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def test_sign_in_with_bluesky_as_a_hosted_instance(
    network: devenv.AtprotoNetwork, tmp_path: Path, playwright: Any
) -> None:
    """A hosted instance (`https://app.passerelle.internal:PORT`, TLS ended by a front as a reverse
    proxy would) is a confidential client: it publishes its client metadata and public key,
    the local PDS fetches them over https, and every request to the token endpoints carries a
    `private_key_jwt` assertion. Sign-in on the PDS's screens, back to the hosted callback, the
    session collected, a follow job written. A second service with another secret claiming the
    same address is refused: the PDS checks the assertion against the published key."""

    import requests

    from tests.conftest import Served, free_port, post_json
    from tests.standins.dns import TxtServer
    from tests.standins.tls import TlsFront

    dns = TxtServer({"_atproto.moi-x.test": f"did={network.accounts['moi-x.test']}"})
    front_port = free_port()  # the public address is fixed before the service starts
    public = f"https://app.{devenv.LOOPBACK_DOMAIN}:{front_port}"
    env = {**hosted_env(network, tmp_path, dns.address), "PASSERELLE_PUBLIC_URL": public}
    served = Served(env)
    front = TlsFront(network.ca, served.port, port=front_port)
    impostor = None
    try:
        # What the PDS reads, over https through the front (the service also answers on the
        # address it listens on).
        meta = requests.get(served.url + "/api/bluesky/client-metadata.json", timeout=10).json()
        assert meta["client_id"] == public + "/api/bluesky/client-metadata.json"
        assert meta["redirect_uris"] == [public + "/api/bluesky/callback"]
        assert meta["token_endpoint_auth_method"] == "private_key_jwt"
        assert meta["dpop_bound_access_tokens"] is True
        jwks = requests.get(served.url + "/api/bluesky/jwks.json", timeout=10).json()
        (key,) = jwks["keys"]
        assert key["kty"] == "EC" and key["alg"] == "ES256" and "d" not in key

        status, body = post_json(served.url + "/api/bluesky/authorize", {"handle": "moi-x.test"})
        assert status == 200, json.dumps(body) + served.output()[-2000:]
        assert "client_id=https%3A%2F%2Fapp.passerelle.internal" in body["authorize_url"]
        allow_in_browser(playwright, body["authorize_url"], "Connected as @moi-x.test", True)
        status, ready = post_json(
            served.url + "/api/bluesky/oauth-session", {"state": body["state"], "key": body["key"]}
        )
        assert ready["ready"] and ready["did"] == network.accounts["moi-x.test"], ready
        wanted = PEOPLE[27:29]
        job = follow_job(served.url, ready["session"], network, wanted)
        assert job["status"] == "done" and job["counts"]["followed"] == 2, job

        # Another secret, another key: its assertions match no key the address publishes.
        impostor = Served({**env, "PASSERELLE_SECRET_KEY": "another-secret-another-key-000"})
        status, refused = post_json(
            impostor.url + "/api/bluesky/authorize", {"handle": "moi-x.test"}
        )
        assert status == 401 and refused["error"]["code"] == "sign-in-refused", refused
        assert "client_assertion" in refused["error"]["message"], refused
    finally:
        for s in (impostor, served):
            if s is not None:
                s.stop()
        front.stop()
        dns.stop()
    assert set(subjects(network, "app.bsky.graph.follow")) >= {network.accounts[h] for h in wanted}
    assert HOSTED_SECRET not in served.output()


def test_a_hosted_instance_s_session_is_refreshed_with_its_assertion(
    network: devenv.AtprotoNetwork, tmp_path: Path, playwright: Any
) -> None:
    """The confidential client's refresh carries its assertion too (the PDS refuses it
    otherwise); without the key, a confidential session cannot be refreshed at all."""
    import datetime

    import requests

    from server.follow.bsky_oauth import BlueskyOAuth, ClientKey
    from tests.conftest import Served, free_port
    from tests.standins.dns import TxtServer
    from tests.standins.tls import TlsFront

    dns = TxtServer({})
    front_port = free_port()
    public = f"https://app.{devenv.LOOPBACK_DOMAIN}:{front_port}"
    env = {**hosted_env(network, tmp_path, dns.address), "PASSERELLE_PUBLIC_URL": public}
    served = Served(env)  # publishes the metadata and key the PDS checks
    front = TlsFront(network.ca, served.port, port=front_port)
    http = requests.Session()
    http.trust_env = False
    oauth = BlueskyOAuth(http, 10, ("localhost",), ClientKey(HOSTED_SECRET))
    did = network.accounts["moi-x.test"]
    try:
        callback = public + "/api/bluesky/callback"
        client_id = public + "/api/bluesky/client-metadata.json"
        pending = oauth.start("moi-x.test", did, network.pds, client_id, callback)
        # The hosted service's callback does not know this sign-in (the test started it): it
        # answers so without using the code, which the test then exchanges itself.
        back = allow_in_browser(playwright, pending.authorize_url, "", True, capture=callback)
        from urllib.parse import parse_qs, urlsplit

        answer = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
        assert answer.get("state") == pending.state, back
        session = oauth.finish(pending, answer["code"], answer.get("iss"))
        first_refresh = session.refresh_token
        keyless = session.__class__.from_json(session.to_json())  # no key given back
        assert not keyless.refresh(http)
        session.expires_at = 1.0  # as if expired: the next write renews it first
        record = {
            "$type": "app.bsky.graph.follow",
            "subject": network.accounts[PEOPLE[29]],
            "createdAt": datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z"),
        }
        body = {"repo": did, "collection": "app.bsky.graph.follow", "record": record}
        r = session.xrpc(http, "POST", "com.atproto.repo.createRecord", body=body)
        assert r.status_code == 200, r.text
        assert session.refresh_token != first_refresh
    finally:
        served.stop()
        front.stop()
        dns.stop()
    assert network.accounts[PEOPLE[29]] in subjects(network, "app.bsky.graph.follow")


# -- the same follow started twice (#25) ---------------------------------------------------------
def _start(
    network: devenv.AtprotoNetwork, me: str, args: list[str], log: Path, budget: int = 5000
) -> subprocess.Popen[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(log.parent),  # the runs of one test share one machine's lease folder
        "BLUESKY_HANDLE": me,
        "BLUESKY_APP_PASSWORD": PASSWORD,
        "PASSERELLE_BSKY_PDS": network.pds,
        "PASSERELLE_BSKY_WRITE_BUDGET": str(budget),
        "PASSERELLE_CACHE_URL": "none",
        "PASSERELLE_RETRIES": "0",
        "PASSERELLE_TIMEOUT": "5",
    }
    out = open(log, "w")  # noqa: SIM115 - the child writes it; closed with the test's tmp
    return subprocess.Popen(
        [PASSERELLE, "follow", "bluesky", *args],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _once_each(network: devenv.AtprotoNetwork, me: str, collection: str) -> list[str]:
    found = subjects(network, collection, me)
    assert len(found) == len(set(found)), f"{collection} written twice: {len(found)} records"
    return found


def test_the_same_follow_started_twice_at_once_writes_each_record_once(
    network: devenv.AtprotoNetwork, tmp_path: Path
) -> None:
    """Two terminals, one command, each run its own state file: before, both read the follows
    before either wrote, and every follow (list item, starter pack) was written twice."""
    me, people = "moi-t.test", PEOPLE
    f = results_file(tmp_path, network, people)
    runs = [
        _start(
            network,
            me,
            [
                str(f),
                "--state",
                str(tmp_path / f"state{i}.json"),
                "--list",
                "Deux fois",
                "--starter-pack",
                "Pack deux fois",
            ],
            tmp_path / f"run{i}.log",
        )
        for i in range(2)
    ]
    outs = []
    for r in runs:
        assert r.wait(timeout=300) == 0
    for i in range(2):
        outs.append((tmp_path / f"run{i}.log").read_text())
    dids = {network.accounts[h] for h in people}
    assert set(_once_each(network, me, "app.bsky.graph.follow")) == dids
    # The list and the starter pack's list: each holds each person once.
    items: dict[str, list[str]] = {}
    for r in records(network, "app.bsky.graph.listitem", me):
        items.setdefault(r["value"]["list"], []).append(r["value"]["subject"])
    assert len(items) == 2
    for members in items.values():
        assert sorted(members) == sorted(dids), "a list item written twice"
    lists = records(network, "app.bsky.graph.list", me)
    assert sorted(r["value"]["name"] for r in lists) == ["Deux fois", "Pack deux fois"]
    assert len(records(network, "app.bsky.graph.starterpack", me)) == 1
    # The summaries are true: one run followed everyone, the other found them followed.
    lines = sorted(o.strip().splitlines()[-1] for o in outs)
    assert any(f"followed {len(people)}, skipped 0" in line for line in lines), lines
    assert any(f"followed 0, skipped {len(people)} (already followed)" in line for line in lines)
    assert any("waiting for another follow run of this account to end" in o for o in outs)


def test_a_run_that_dies_midway_hands_over_to_the_waiting_one(
    network: devenv.AtprotoNetwork, tmp_path: Path
) -> None:
    """The first run writes 10 follows, then waits for its write budget; a second run waits
    for it; the first is killed (no clean exit): the second goes on from what is on the PDS."""
    me, people = "moi-k.test", PEOPLE[:20]
    f = results_file(tmp_path, network, people)
    first = _start(
        network, me, [str(f), "--state", str(tmp_path / "a.json")], tmp_path / "a.log", budget=30
    )
    try:
        wait_for(
            lambda: "write budget spent" in (tmp_path / "a.log").read_text(),
            120,
            "the first run to spend its budget",
        )
        second = _start(
            network, me, [str(f), "--state", str(tmp_path / "b.json")], tmp_path / "b.log"
        )
        wait_for(
            lambda: "waiting for another follow run" in (tmp_path / "b.log").read_text(),
            60,
            "the second run to wait for the first",
        )
        assert second.poll() is None
    finally:
        first.kill()
        first.wait()
    assert second.wait(timeout=300) == 0
    dids = {network.accounts[h] for h in people}
    assert set(_once_each(network, me, "app.bsky.graph.follow")) == dids
    last = (tmp_path / "b.log").read_text().strip().splitlines()[-1]
    assert "followed 10, skipped 10 (already followed), failed 0" in last, last

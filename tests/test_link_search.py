"""Link-back search (`PASSERELLE_FEDI_SEARCH`): people whom only their fediverse profile ties to
X ("ex-Twitter @me"), found through a large server's public account search.

The stand-in answers `/api/v2/search` as Mastodon does (see `FediServer.search`): a visitor
without a token may not resolve nor page; usernames and display names are searched, and bios
only where the server runs Elasticsearch and only for accounts that opted into discovery;
profile fields never. A hit counts only when the profile names the X account, and only once its
own server says so too. Through the real service code (create_app), in the mastodon network
only."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server import create_app
from tests.envvars import patched
from tests.standins.internet import Internet

BIG = "big.example"
HOME = "home.example"
TOKEN = "user-token-1234567890"
PASSERELLE = str(Path(sys.executable).parent / "passerelle")


def _acc(user: str, name: str, note: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "username": user,
        "display_name": name,
        "note": f"<p>{note}</p>" if note else "",
        "fields": extra.pop("fields", []),
        "bot": False,
        "moved": None,
        **extra,
    }


def world() -> dict[str, Any]:
    return {
        "bluesky": [],
        "accounts": [],
        "servers": {
            BIG: {
                "software": "mastodon",
                "version": "4.3.2",
                "accounts": {
                    # Shares the X handle as a username, never says X: a stranger.
                    "carol_x": _acc("carol_x", "Carol Dupont", "Podcasts", discoverable=True),
                    # Its copy of erin@small.example, as it was: still "ex-Twitter".
                },
                "knows": [
                    "alice@small.example",
                    "bob_x@other.example",
                    "dave@small.example",
                    "fan@small.example",
                ],
            },
            "small.example": {
                "software": "mastodon",
                "version": "4.3.2",
                "accounts": {
                    "alice": _acc(
                        "alice", "Alice M.", "Ex-Twitter @alice_x. Vélo.", discoverable=True
                    ),
                    # The bio says it, but she did not opt into discovery: not in the index.
                    "dave": _acc("dave", "Dave", "Formerly @dave_x on Twitter", discoverable=False),
                    # Names the X account, but as someone else's.
                    "fan": _acc("fan", "Fan", "I love @carol_x's podcast", discoverable=True),
                },
            },
            # The user's own server: it federates with far.example, which the large one does
            # not know.
            HOME: {
                "software": "mastodon",
                "version": "4.3.2",
                "tokens": {TOKEN: "me"},
                "accounts": {"me": _acc("me", "Me")},
                "knows": ["gus@far.example"],
            },
            "far.example": {
                "software": "mastodon",
                "version": "4.3.2",
                "accounts": {
                    "gus": _acc("gus", "Gus", "Ex-Twitter: x.com/gus_x", discoverable=True),
                },
            },
            "other.example": {
                "software": "mastodon",
                "version": "4.3.2",
                "accounts": {
                    # Found by its username; the proof is in a profile field.
                    "bob_x": _acc("bob_x", "Bob", "", fields=[("X", "https://x.com/bob_x")]),
                },
            },
        },
    }


@pytest.fixture
def internet() -> Iterator[Internet]:
    net = Internet(world())
    try:
        with patched(net.env):
            yield net
    finally:
        net.stop()


def _client(tmp_path: Path, search: str) -> Any:
    app = create_app(
        {
            "PASSERELLE_CACHE_URL": f"sqlite:///{tmp_path}/c.sqlite3",
            "PASSERELLE_RETRIES": "0",
            "PASSERELLE_FEDI_SEARCH": search,
        }
    )
    return app


def _resolve(app: Any, *handles: str) -> dict[str, Any]:
    accounts = [{"handle": h, "name": h.split("_")[0].title(), "bio": ""} for h in handles]
    r = app.test_client().post(
        "/api/resolve", json={"accounts": accounts, "networks": ["mastodon"]}
    )
    assert r.status_code == 200, r.get_json()
    return {x["handle"]: x for x in r.get_json()["results"]}


def _searches(net: Internet) -> list[tuple[str, str]]:
    return [(h, p) for h, p in net.control.paths if p.startswith("/api/v2/search")]


def test_people_whose_fediverse_profile_names_their_x_account_are_found(
    internet: Internet, tmp_path: Path
) -> None:
    app = _client(tmp_path, BIG)
    try:
        got = _resolve(app, "alice_x", "bob_x", "carol_x", "dave_x")
    finally:
        app.extensions["passerelle.resolver"].close()
    alice = got["alice_x"]["mastodon"]
    assert alice["acct"] == "alice@small.example"
    assert alice["level"] == "confirmed"
    assert {"reverse-link", "link-search"} <= set(alice["reasons"])
    bob = got["bob_x"]["mastodon"]
    assert bob["acct"] == "bob_x@other.example" and bob["level"] == "confirmed"
    # Sharing the X handle, or naming it as someone else's, is no proof: not even offered.
    assert got["carol_x"]["mastodon"] is None
    assert got["carol_x"]["candidates"]["mastodon"] == []
    # Not discoverable: the index does not hold Dave's bio, so no search finds him.
    assert got["dave_x"]["mastodon"] is None
    # One search per person on the server, a look-up on their own server per proven hit only.
    assert len(_searches(internet)) == 4
    lookups = [(h, p) for h, p in internet.control.paths if p.startswith("/api/v1/accounts/lookup")]
    assert sorted(h for h, _ in lookups) == ["other.example", "small.example"]


def test_a_stale_copy_on_the_large_server_is_no_proof(internet: Internet, tmp_path: Path) -> None:
    """The large server still shows the old bio; the account's own server no longer names X."""
    internet.world.servers["small.example"]["accounts"]["alice"]["note"] = "<p>Vélo.</p>"
    copy = _acc("alice", "Alice M.", "Ex-Twitter @alice_x. Vélo.", discoverable=True)
    internet.world.servers[BIG]["knows"].remove("alice@small.example")
    internet.world.servers[BIG]["stale"] = {"alice@small.example": copy}
    app = _client(tmp_path, BIG)
    try:
        got = _resolve(app, "alice_x")
    finally:
        app.extensions["passerelle.resolver"].close()
    assert got["alice_x"]["mastodon"] is None


def test_off_by_default_and_mastodons_visitor_rules(internet: Internet, tmp_path: Path) -> None:
    app = _client(tmp_path, "")
    try:
        got = _resolve(app, "alice_x")
    finally:
        app.extensions["passerelle.resolver"].close()
    assert got["alice_x"]["mastodon"] is None
    assert _searches(internet) == []
    # What a visitor without a token may not do on Mastodon, the stand-in refuses as it does.
    import requests

    s = requests.Session()
    s.proxies = {"https": internet.env["HTTPS_PROXY"]}
    s.verify = internet.env["REQUESTS_CA_BUNDLE"]
    base = f"https://{BIG}/api/v2/search"
    r = s.get(base, params={"q": "alice_x", "type": "accounts", "resolve": "true"})
    assert r.status_code == 401 and "resolve remote resources" in r.json()["error"]
    r = s.get(base, params={"q": "alice_x", "type": "accounts", "offset": "5"})
    assert r.status_code == 401 and "pagination" in r.json()["error"]
    r = s.get(base, params={"q": "al", "type": "accounts"})
    assert r.json()["accounts"] == []  # under 3 characters: exact addresses only


def test_the_users_own_server_searches_what_it_federates_with(
    internet: Internet, tmp_path: Path
) -> None:
    """Signed in to their server for following, the user's search covers accounts the large
    server does not know. The sign-in is put where `/api/mastodon/callback` puts it (its own
    flow is tested in tests/test_mastodon_oauth.py)."""
    app = _client(tmp_path, BIG)
    sessions = app.extensions["passerelle.jobs"].mastodon.shared
    sessions.put(
        "masto-session",
        "sid-1",
        [f"https://{HOME}", TOKEN, f"me@{HOME}", time.time() + 600],
        600,
        secret=True,
    )
    client = app.test_client()
    try:
        body = {"accounts": [{"handle": "gus_x", "name": "Gus"}], "networks": ["mastodon"]}
        r = client.post("/api/resolve", json=body)
        assert r.get_json()["results"][0]["mastodon"] is None  # the large server alone
        r = client.post("/api/resolve", json={**body, "mastodon_session": "sid-1"})
        assert r.status_code == 200, r.get_json()
        gus = r.get_json()["results"][0]["mastodon"]
        assert gus["acct"] == "gus@far.example" and gus["level"] == "confirmed"
        asked = [p for h, p in internet.control.paths if h == HOME]
        assert any(p.startswith("/api/v2/search") for p in asked)
        r = client.post("/api/resolve", json={**body, "mastodon_session": "gone"})
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "session-expired"
        r = client.post("/api/resolve", json={**body, "mastodon_session": 7})
        assert r.status_code == 422
    finally:
        app.extensions["passerelle.resolver"].close()


def test_the_cli_searches_the_users_server(internet: Internet, tmp_path: Path) -> None:
    import os

    env = {**os.environ, **internet.env, "PASSERELLE_CACHE_URL": f"sqlite:///{tmp_path}/c.db"}
    src = tmp_path / "list.json"
    src.write_text(json.dumps([{"handle": "gus_x", "name": "Gus"}]), encoding="utf-8")
    args = [PASSERELLE, "resolve", str(src), "--networks", "mastodon"]
    p = subprocess.run(
        [*args, "--search-server", f"https://{HOME}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and "MASTODON_ACCESS_TOKEN" in p.stderr
    p = subprocess.run(
        [*args, "--search-server", f"https://{HOME}"],
        env={**env, "MASTODON_ACCESS_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["results"][0]["mastodon"]["acct"] == "gus@far.example"

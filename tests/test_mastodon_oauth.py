"""Following on Mastodon from the results page, service side: the app registered on the user's
server, the consent page, the code exchanged for a token kept in memory, then a follow job."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from server import create_app
from server.networks.http import make_session
from tests.envvars import patched
from tests.standins.internet import Internet
from tests.test_follow_mastodon import _server

HOME = "home.social"


@pytest.fixture
def net() -> Iterator[Internet]:
    world = {
        "bluesky": [],
        "accounts": [],
        "servers": {
            HOME: _server(["moi"], signed_in="moi"),
            "piaille.fr": _server(["p0", "p1", "p2"]),
        },
    }
    internet = Internet(world)
    internet.world.ratelimit = (300, 3.0)
    try:
        with patched(internet.env):
            yield internet
    finally:
        internet.stop()


@pytest.fixture
def client(net: Internet, tmp_path: Path) -> Any:
    with patched({"XDG_STATE_HOME": str(tmp_path)}):
        yield create_app({"PASSERELLE_CACHE_URL": "none", "PASSERELLE_RETRIES": "0"}).test_client()


def consent(url: str) -> str:
    """What the user does in their browser: open the consent page and click Authorize."""
    browser = make_session()
    page = browser.get(url)
    assert page.status_code == 200 and "Authorize" in page.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    answer = browser.post(f"https://{HOME}/oauth/authorize", data=fields, allow_redirects=False)
    assert answer.status_code == 302
    return answer.headers["Location"]


def collect(client: Any, state: str, key: str) -> Any:
    r = client.post("/api/mastodon/session", json={"state": state, "key": key})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_sign_in_and_follow(client: Any, net: Internet) -> None:
    r = client.post("/api/mastodon/authorize", json={"server": HOME})
    assert r.status_code == 200, r.get_json()
    url, state, key = (r.get_json()[k] for k in ("authorize_url", "state", "key"))
    assert url.startswith(f"https://{HOME}/oauth/authorize?")
    assert parse_qs(urlsplit(url).query)["scope"] == ["read:search read:follows write:follows"]
    assert key not in url  # the key never travels in an address
    assert collect(client, state, key) == {"ready": False}
    back = urlsplit(consent(url))
    assert back.path == "/api/mastodon/callback"
    assert key not in back.query
    page = client.get(f"{back.path}?{back.query}")
    assert page.status_code == 200 and "Connected as moi@home.social" in page.get_data(True)
    # Whoever saw the state (the server, the browser's history, a proxy's log) without the
    # key gets nothing, and does not spoil the sign-in for its starter.
    assert collect(client, state, "a-guess") == {"ready": False}
    assert client.get(f"/api/mastodon/session?state={state}").status_code == 405
    ready = collect(client, state, key)
    assert ready["ready"] and ready["acct"] == "moi@home.social"
    assert collect(client, state, key) == {"ready": False}
    r = client.post(
        "/api/mastodon/follow",
        json={
            "session": ready["session"],
            "targets": [{"acct": "p0@piaille.fr"}, {"acct": "p1@piaille.fr"}],
        },
    )
    assert r.status_code == 202
    job = r.get_json()["job"]
    deadline = time.monotonic() + 30
    while (status := client.get(f"/api/jobs/{job}").get_json())["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status["status"] == "done" and status["network"] == "mastodon"
    assert status["counts"]["followed"] == 2
    assert net.world.follows["moi@home.social"] == {"p0@piaille.fr", "p1@piaille.fr"}
    # The app was registered once for this server.
    client.post("/api/mastodon/authorize", json={"server": f"https://{HOME}/"})
    assert len(net.world.oauth_apps) == 1


def test_reused_or_forged_callback(client: Any) -> None:
    r = client.get("/api/mastodon/callback?state=forged&code=x")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "sign-in-refused"
    r = client.get("/api/mastodon/callback?error=access_denied&error_description=Refused")
    assert r.status_code == 400


def test_follow_needs_a_session(client: Any) -> None:
    r = client.post("/api/mastodon/follow", json={"session": "nope", "targets": []})
    assert r.status_code == 401


def test_unknown_server(client: Any) -> None:
    r = client.post("/api/mastodon/authorize", json={"server": "nowhere.example"})
    assert r.status_code == 503
    r = client.post("/api/mastodon/authorize", json={"server": "ftp://x"})
    assert r.status_code == 422


def test_a_server_without_an_instance_endpoint_signs_in_at_once(client: Any, net: Internet) -> None:
    """A server answering 404 to /api/v1/instance/ (some fediverse software, or an
    administrator's choice) made Mastodon.py retry its version check inside `log_in` until a
    RecursionError: the callback hung over a minute, then answered 500."""
    net.control.add_fault(HOME, "status", path="/api/v1/instance", status=404)
    net.control.add_fault(HOME, "status", path="/api/v2/instance", status=404)
    r = client.post("/api/mastodon/authorize", json={"server": HOME})
    url, state, key = (r.get_json()[k] for k in ("authorize_url", "state", "key"))
    back = urlsplit(consent(url))
    page = client.get(f"{back.path}?{back.query}")
    assert page.status_code == 200 and "Connected as moi@home.social" in page.get_data(True)
    assert collect(client, state, key)["ready"]
    instance_asks = [p for h, p in net.control.paths if h == HOME and "/instance" in p]
    assert len(instance_asks) <= 2, instance_asks  # asked at most once each, never in a loop


def test_a_failed_callback_is_a_page_for_the_browser(client: Any) -> None:
    """The browser lands on the callback: a failure is a page in English and French there (with
    the same status), not the API's JSON; API clients still get JSON."""
    for path in ("/api/mastodon/callback", "/api/bluesky/callback"):
        r = client.get(
            f"{path}?state=forged&code=x",
            headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        )
        assert r.status_code == 401 and r.mimetype == "text/html", path
        text = r.get_data(True)
        assert "The sign-in did not go through" in text and "La connexion n'a pas abouti" in text
        assert "expired" in text
        r = client.get(f"{path}?state=forged&code=x", headers={"Accept": "application/json"})
        assert r.get_json()["error"]["code"] == "sign-in-refused", path

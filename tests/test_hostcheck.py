"""Which address the service answers to (a forged Host is refused under `passerelle serve`:
DNS rebinding of the local service) and where the Mastodon sign-in sends people back (the
service's own address, never the request's Host)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from server import create_app
from server.web.hostcheck import allowed_hosts
from tests.test_mastodon_oauth import HOME, net  # noqa: F401 (the stand-in home server)

LISTEN = "http://127.0.0.1:8765"
PUBLIC = "https://passerelle.example.org"


@pytest.mark.parametrize(
    ("public", "host", "allowed"),
    [
        ("", "127.0.0.1:8765", True),
        ("", "localhost:8765", True),
        ("", "[::1]:8765", True),
        ("", "evil.example:8765", False),  # a rebound name: the attacker's page, our service
        ("", "evil.example", False),
        ("", "127.0.0.1:9999", False),
        ("", "127.0.0.1", False),
        (PUBLIC, "passerelle.example.org", True),
        (PUBLIC, "passerelle.example.org:443", True),
        (PUBLIC, "PASSERELLE.example.org", False),  # compared lowercased by the app, see below
        (PUBLIC, "other.example.org", False),
    ],
)
def test_allowed_hosts(public: str, host: str, allowed: bool) -> None:
    hosts = allowed_hosts(public, LISTEN)
    assert hosts is not None and (host in hosts) == allowed


def test_a_request_naming_another_host_is_refused(tmp_path: Any) -> None:
    app = create_app({"PASSERELLE_CACHE_URL": "none"}, listen=LISTEN)
    client = app.test_client()
    r = client.get("/api/health", headers={"Host": "evil.example:8765"})
    assert r.status_code == 421 and r.get_json()["error"]["code"] == "misdirected"
    assert client.get("/api/health", headers={"Host": "127.0.0.1:8765"}).status_code == 200
    assert client.get("/api/health", headers={"Host": "LOCALHOST:8765"}).status_code == 200
    assert allowed_hosts("", None) is None  # an app built without `listen` checks nothing
    # Bound to every interface (a box on a LAN): any Host, unless the public address is set.
    assert allowed_hosts(PUBLIC, None) == {"passerelle.example.org", "passerelle.example.org:443"}


def redirect_uri(client: Any, host: str) -> Any:
    r = client.post("/api/mastodon/authorize", json={"server": HOME}, headers={"Host": host})
    if r.status_code != 200:
        return r.status_code
    return parse_qs(urlsplit(r.get_json()["authorize_url"]).query)["redirect_uri"][0]


def test_the_sign_in_sends_people_back_to_the_services_own_address(
    net: Any,  # noqa: F811
) -> None:
    app = create_app(
        {"PASSERELLE_CACHE_URL": "none", "PASSERELLE_PUBLIC_URL": PUBLIC}, listen=LISTEN
    )
    client = app.test_client()
    # Behind a TLS proxy: https, the public name, whatever reached the service.
    assert redirect_uri(client, "passerelle.example.org") == f"{PUBLIC}/api/mastodon/callback"
    assert redirect_uri(client, "127.0.0.1:8765") == f"{PUBLIC}/api/mastodon/callback"
    assert redirect_uri(client, "evil.example") == 421
    # Without the setting, the listen address; a forged Host changes nothing even unchecked.
    bare = create_app({"PASSERELLE_CACHE_URL": "none"}, listen=LISTEN).test_client()
    assert redirect_uri(bare, "localhost:8765") == f"{LISTEN}/api/mastodon/callback"

"""The Bluesky path against a real local AT Protocol network (@atproto/dev-env): a real PLC
directory, PDS and AppView (PostgreSQL, Redis) started by the test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from server.core.cache import NullCache
from server.core.config import load
from server.core.models import Account
from server.networks.bluesky import Bluesky
from server.networks.http import Politeness, make_session
from server.resolve.resolver import Resolver
from tests import devenv
from tests.conftest import free_port

pytestmark = pytest.mark.devenv

SEED = [
    {"handle": "alice.test", "displayName": "Alice Martin", "description": "Journaliste."},
    {
        "handle": "camille-photo.test",
        "displayName": "Camille Bernard",
        "description": "Photographe. Ex-Twitter @cam_bernard",
    },
    {"handle": "jdupont.test", "displayName": "Jean Dupont", "description": ""},
    {"handle": "squat.test", "displayName": "Someone Else", "description": ""},
]


@pytest.fixture(scope="module")
def network() -> Iterator[devenv.AtprotoNetwork]:
    net = devenv.start(SEED)
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture
def bsky(network: devenv.AtprotoNetwork, monkeypatch: pytest.MonkeyPatch) -> Bluesky:
    for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(k, raising=False)
    # A DNS server that never answers: the domain proof must fall back to the AppView.
    return Bluesky(
        make_session(
            Politeness(
                rate=100,
                retries=0,
                timeout=5,
                trusted=frozenset({urlsplit(network.appview).hostname or ""}),
            )
        ),
        network.appview,
        NullCache(),
        5,
        (f"127.0.0.1:{free_port()}",),
    )


def test_get_profiles_by_handle_and_did(bsky: Bluesky, network: devenv.AtprotoNetwork) -> None:
    alice_did = network.accounts["alice.test"]
    out = bsky.fetch_profiles(["alice.test", "camille-photo.test", "nobody.test", alice_did])
    assert out["nobody.test"] is None  # dropped silently by the AppView
    assert out["alice.test"] is not None and out["alice.test"].did == alice_did
    assert out["alice.test"].display_name == "Alice Martin"
    assert out[alice_did] == out["alice.test"]
    assert "Ex-Twitter @cam_bernard" in out["camille-photo.test"].description


def test_resolve_handle_through_the_appview(bsky: Bluesky, network: devenv.AtprotoNetwork) -> None:
    assert bsky.resolve_domain("jdupont.test") == network.accounts["jdupont.test"]
    assert bsky.resolve_domain("nobody.test") is None


def test_search_actors(bsky: Bluesky, network: devenv.AtprotoNetwork) -> None:
    hits = bsky.search("camille")  # this AppView's search matches handles only
    assert network.accounts["camille-photo.test"] in {h.did for h in hits}


def test_resolver_end_to_end(
    network: devenv.AtprotoNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(k, raising=False)
    settings = load(
        overrides={
            "PASSERELLE_BSKY_APPVIEW": network.appview,
            "PASSERELLE_CACHE_URL": "none",
            "PASSERELLE_BRIDGES": "off",
            "PASSERELLE_DNS_SERVERS": f"127.0.0.1:{free_port()}",
            "PASSERELLE_TIMEOUT": "5",
        }
    )
    r = Resolver(settings, NullCache())
    try:
        body: dict[str, Any] = r.resolve(
            [
                Account("alice_m", "Alice Martin", bio="🦋 alice.test"),
                # found by the name search (this AppView searches handles only) and the link back
                Account("cam_bernard", "Camille"),
                Account("squat", "Squat"),  # the same handle, another person's name
            ],
            ("bluesky",),
        )
    finally:
        r.close()
    alice, camille, squat = body["results"]
    assert alice["bluesky"]["handle"] == "alice.test"
    assert alice["bluesky"]["did"] == network.accounts["alice.test"]
    assert alice["bluesky"]["level"] == "confirmed"
    assert camille["bluesky"]["handle"] == "camille-photo.test"
    assert camille["bluesky"]["level"] == "confirmed"
    assert "reverse-link" in camille["bluesky"]["reasons"]
    assert squat["bluesky"]["handle"] == "squat.test"
    assert squat["bluesky"]["level"] == "possible"  # shown, never pre-selected
    assert set(squat["bluesky"]["reasons"]) == {"name-search", "same-handle"}
    assert all(res["error"] is None for res in body["results"])

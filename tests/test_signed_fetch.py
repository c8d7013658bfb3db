"""Servers that refuse unsigned reads (GoToSocial always; Mastodon in authorized-fetch mode):
`accounts/lookup` and the actor answer 401, WebFinger and the public web profile answer 200.

Before: the 401 was taken for "no such account", cached, and every such person missed (0
found). Now the account WebFinger confirms is read from its web page
(server/networks/profile_page.py), through the real service code against a stand-in that
renders the page as GoToSocial does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server import create_app
from server.networks.profile_page import read_profile_page
from tests.envvars import patched
from tests.standins.internet import Internet

GTS = "gts.example"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Any]:
    world = {
        "bluesky": [],
        "accounts": [],
        "servers": {
            GTS: {
                "software": "gotosocial",
                "version": "0.19.1",
                "signed_fetch": True,
                "accounts": {
                    "lea": {
                        "username": "lea",
                        "display_name": "Léa Martin",
                        "note": "<p>Vélo &amp; mobilités douces à Poitiers</p>",
                        "fields": [
                            ("X", "https://x.com/lea_velo"),
                            ("Site", "https://lea.example"),
                        ],
                        "bot": False,
                        "moved": None,
                    },
                    "asso": {
                        "username": "asso",
                        "display_name": "Vélo Poitiers",
                        "note": "<p>Association</p>",
                        "fields": [],
                        "bot": False,
                        "moved": None,
                    },
                },
            }
        },
    }
    net = Internet(world)
    try:
        with patched(net.env):
            app = create_app(
                {
                    "PASSERELLE_CACHE_URL": f"sqlite:///{tmp_path}/c.sqlite3",
                    "PASSERELLE_RETRIES": "0",
                }
            )
            test_client = app.test_client()
            test_client.net = net  # type: ignore[attr-defined]  # for the requests it saw
            yield test_client
            app.extensions["passerelle.resolver"].close()
    finally:
        net.stop()


def _resolve(client: Any, *accounts: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/resolve", json={"accounts": list(accounts), "networks": ["mastodon"]})
    assert r.status_code == 200, r.get_json()
    return {x["handle"]: x for x in r.get_json()["results"]}


def test_an_account_on_a_server_that_refuses_unsigned_reads_is_found(client: Any) -> None:
    got = _resolve(
        client,
        {"handle": "lea_velo", "name": "Léa Martin", "bio": "Mastodon : @lea@gts.example"},
        {"handle": "ghost_x", "name": "Ghost", "bio": "Mastodon : @ghost@gts.example"},
        {"handle": "benevole", "name": "Paul Durand", "bio": "Bénévole chez @asso@gts.example"},
    )
    lea = got["lea_velo"]
    assert not lea["error"]
    match = lea["mastodon"]
    assert match and match["acct"] == "lea@gts.example", lea
    assert match["level"] == "confirmed", match
    assert match["display_name"] == "Léa Martin"  # read from the page, not the refused API
    assert got["ghost_x"]["mastodon"] is None and not got["ghost_x"]["error"]
    stranger = got["benevole"]["mastodon"]
    assert stranger is None or stranger["level"] == "possible", stranger


def test_a_server_whose_api_refuses_visitors_is_not_asked_again(client: Any) -> None:
    """#23: GoToSocial answered 401 to every `accounts/lookup`, asked before WebFinger for each
    of its accounts (and asked twice in one look-up). Now its refusal is remembered for a day:
    one 401 for the server, then WebFinger and the page for each account."""
    net = client.net
    net.control.clear()
    got = _resolve(
        client, {"handle": "lea_velo", "name": "Léa Martin", "bio": "Mastodon : @lea@gts.example"}
    )
    assert got["lea_velo"]["mastodon"]["acct"] == "lea@gts.example"
    lookups = [p for _, p in net.control.paths if p.startswith("/api/v1/accounts/lookup")]
    assert len(lookups) == 1, net.control.paths  # once in the look-up, not again after WebFinger
    net.control.clear()
    got = _resolve(
        client,
        {"handle": "asso_x", "name": "Vélo Poitiers", "bio": "Mastodon : @asso@gts.example"},
        {"handle": "ghost_x", "name": "Ghost", "bio": "Mastodon : @ghost@gts.example"},
    )
    assert got["asso_x"]["mastodon"]["acct"] == "asso@gts.example"
    assert got["ghost_x"]["mastodon"] is None and not got["ghost_x"]["error"]
    assert not [p for _, p in net.control.paths if p.startswith("/api/")], net.control.paths


# A page as GoToSocial renders it, and what is read from it (input → expected), by hand.
PAGES = [
    (
        '<meta property="og:title" content="Léa Martin (@lea@gts.example)">'
        '<meta property="og:description" content="Vélo &amp; co">',
        ("Léa Martin", "Vélo & co", []),
    ),
    (
        '<meta property="og:title" content="@lea@gts.example">'
        '<meta property="og:description" '
        'content="This GoToSocial user hasn\'t written a bio yet!">',
        ("", "", []),
    ),
    (
        '<meta property="og:title" content="Ma (petite) asso (@asso@gts.example)">'
        '<div class="fields"><dl><div class="field"><dt>X</dt><dd><a href="https://x.com/asso"'
        ' rel="nofollow noreferrer noopener">x.com/asso</a></dd></div></dl></div>',
        ("Ma (petite) asso", "", [("X", "x.com/asso https://x.com/asso")]),
    ),
    ('<meta property="og:title" content="gts.example - GoToSocial">', ("", "", [])),
    ("<dd><a href='javascript:alert(1)'>x</a></dd><dt>", ("", "", [("", "x")])),
]


@pytest.mark.parametrize(("html", "expected"), PAGES)
def test_profile_page_table(html: str, expected: tuple[str, str, list[tuple[str, str]]]) -> None:
    page = read_profile_page(html)
    assert (page.display_name, page.note, page.fields) == expected


def test_what_a_worker_remembers_of_a_server_ends_when_the_shared_cache_forgets_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server whose API refused visitors, or its software, was remembered by each worker
    for its whole life: a GoToSocial that opened its API, or a server that changed software,
    stayed read the old way until the worker restarted. Each is now kept as long as the shared
    cache keeps it (a day, a week), then asked again."""
    import requests

    from server.core.cache import NullCache
    from server.networks import fediverse as fedi_mod

    now = [1000.0]
    monkeypatch.setattr(fedi_mod.time, "monotonic", lambda: now[0])
    f = fedi_mod.Fediverse(requests.Session(), NullCache(), 5)
    f._close_api("gts.example")
    assert f.api_closed("gts.example")
    now[0] += fedi_mod.API_CLOSED_TTL - 1
    assert f.api_closed("gts.example")
    now[0] += 2
    assert not f.api_closed("gts.example")  # the shared cache has forgotten too: ask again

    asked: list[str] = []

    def learn(host: str) -> str:
        asked.append(host)
        return "gotosocial"

    monkeypatch.setattr(f, "_software_uncached", learn)
    assert f.software("gts.example") == "gotosocial"
    now[0] += fedi_mod.SOFTWARE_TTL - 1
    assert f.software("gts.example") == "gotosocial" and asked == ["gts.example"]
    now[0] += 2
    assert f.software("gts.example") == "gotosocial" and asked == ["gts.example"] * 2

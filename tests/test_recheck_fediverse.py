"""Checking again on software with no Mastodon 4.3 batch (issue #21, its cost): Misskey's
accounts many at a time (`POST /api/users/show` with `userIds`), Threads' and Pixelfed's by
their actor alone (one request where a look-up from the start takes two), a GoToSocial
account by its web page alone (its actor refuses unsigned reads); what cannot be said that way is
looked up from the start. The stand-in follows each software's real answers (see
`tests/standins/internet.py`, `misskey_users_show` and `actor_url`, with their sources)."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from server import create_app
from server.networks.fediverse import same_site
from tests.envvars import patched
from tests.standins.internet import Internet, misskey_id


def _acc(user: str, name: str, note: str = "<p>Photographe</p>") -> dict[str, Any]:
    return {
        "username": user,
        "display_name": name,
        "note": note,
        "fields": [],
        "bot": False,
        "moved": None,
    }


MISSKEY = ["aiko", "bruno", "chloe", "dario", "emma", "farid"]
WORLD: dict[str, Any] = {
    "bluesky": [],
    "accounts": [],
    "servers": {
        "misskey.example": {
            "software": "misskey",
            "version": "2025.1.0",
            "accounts": {u: _acc(u, u.title() + " Sato") for u in MISSKEY},
        },
        "old-misskey.example": {
            "software": "misskey",
            "version": "13.14.2",
            "misskey_strict": True,  # one id not found fails the whole call
            "accounts": {
                "gaspard": _acc("gaspard", "Gaspard Roy"),
                "hana": _acc("hana", "Hana Ito"),
            },
        },
        "threads.example": {
            "software": "threads",
            "version": "1.0",
            "accounts": {"ines": _acc("ines", "Inès Faure"), "jules": _acc("jules", "Jules Petit")},
        },
        "pixelfed.example": {
            "software": "pixelfed",
            "version": "0.12.4",
            "accounts": {"karim": _acc("karim", "Karim Benali")},
        },
        "gts.example": {
            "software": "gotosocial",
            "version": "0.19.1",
            "signed_fetch": True,
            "accounts": {"lea": _acc("lea", "Léa Martin")},
        },
    },
}
PEOPLE = {  # X handle → (display name, fediverse address named in the bio)
    **{f"{u}_x": (f"{u.title()} Sato", f"{u}@misskey.example") for u in MISSKEY},
    "gaspard_x": ("Gaspard Roy", "gaspard@old-misskey.example"),
    "hana_x": ("Hana Ito", "hana@old-misskey.example"),
    "ines_x": ("Inès Faure", "ines@threads.example"),
    "jules_x": ("Jules Petit", "jules@threads.example"),
    "karim_x": ("Karim Benali", "karim@pixelfed.example"),
    "lea_x": ("Léa Martin", "lea@gts.example"),
}
ACCOUNTS = [
    {"handle": h, "name": name, "bio": f"Photographe. Fediverse : @{acct}"}
    for h, (name, acct) in PEOPLE.items()
]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Any, Internet]]:
    net = Internet(copy.deepcopy(WORLD))
    try:
        with patched(net.env):
            app = create_app(
                {
                    "PASSERELLE_CACHE_URL": f"sqlite:///{tmp_path}/c.sqlite3",
                    "PASSERELLE_RETRIES": "0",
                }
            )
            yield app.test_client(), net
            app.extensions["passerelle.resolver"].close()
    finally:
        net.stop()


def _resolve(client: Any, accounts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    body = {"accounts": accounts, "networks": ["mastodon"], **extra}
    r = client.post("/api/resolve", json=body)
    assert r.status_code == 200, r.get_json()
    return {x["handle"]: x for x in r.get_json()["results"]}


def _with_previous(answers: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**a, "previous": {"mastodon": answers[a["handle"]]["mastodon"]}} for a in ACCOUNTS]


def _first(client: Any) -> dict[str, Any]:
    got = _resolve(client, ACCOUNTS)
    for handle, (_, acct) in PEOPLE.items():
        m = got[handle]["mastodon"]
        assert m and m["acct"] == acct and m["level"] == "confirmed", (handle, m)
    return got


def test_what_the_first_answer_keeps_for_a_cheap_recheck(world: tuple[Any, Internet]) -> None:
    client, _ = world
    got = _first(client)
    # Misskey: its user id (from its actor's URL, which Misskey writes by id) and the actor.
    m = got["aiko_x"]["mastodon"]
    assert m["id"] == misskey_id("misskey.example", "aiko"), m
    assert m["actor"] == f"https://misskey.example/users/{m['id']}", m
    # Threads, Pixelfed, GoToSocial: no batch, the actor kept to ask it alone.
    assert got["ines_x"]["mastodon"]["actor"] == "https://threads.example/users/ines"
    assert "id" not in got["ines_x"]["mastodon"]
    assert got["karim_x"]["mastodon"]["actor"] == "https://pixelfed.example/users/karim"


def test_a_recheck_asks_each_software_the_cheapest_way(world: tuple[Any, Internet]) -> None:
    client, net = world
    first = _first(client)
    net.control.clear()
    again = _resolve(client, _with_previous(first), recheck=True)
    asked = Counter((host, path.split("?")[0]) for host, path in net.control.paths)
    # Six Misskey users in one call; nothing else of that server.
    assert asked[("misskey.example", "/api/users/show")] == 1, asked
    assert sum(n for (h, _), n in asked.items() if h == "misskey.example") == 1, asked
    # Threads and Pixelfed: the actor alone, no WebFinger.
    for host, users in (("threads.example", ("ines", "jules")), ("pixelfed.example", ("karim",))):
        assert sum(n for (h, _), n in asked.items() if h == host) == len(users), asked
        for u in users:
            assert asked[(host, f"/users/{u}")] == 1, asked
    # GoToSocial refuses unsigned reads of its actors (NodeInfo said GoToSocial): its web
    # page alone says the account is still there.
    assert sum(n for (h, _), n in asked.items() if h == "gts.example") == 1, asked
    assert asked[("gts.example", "/@lea")] == 1, asked
    assert not any(p == "/.well-known/webfinger" for _, p in asked), asked
    for handle, (_, acct) in PEOPLE.items():
        m = again[handle]["mastodon"]
        assert m and m["acct"] == acct and m["level"] == "confirmed" and not m.get("gone"), m


def test_who_left_is_said_gone_whatever_the_software(world: tuple[Any, Internet]) -> None:
    client, net = world
    first = _first(client)
    later = copy.deepcopy(WORLD)
    servers = later["servers"]
    del servers["misskey.example"]["accounts"]["bruno"]
    servers["misskey.example"]["accounts"]["chloe"]["suspended"] = True
    del servers["old-misskey.example"]["accounts"]["hana"]
    del servers["threads.example"]["accounts"]["jules"]
    del servers["pixelfed.example"]["accounts"]["karim"]
    del servers["gts.example"]["accounts"]["lea"]
    net.change(later)
    net.control.clear()
    again = _resolve(client, _with_previous(first), recheck=True)
    for handle in ("bruno_x", "chloe_x", "hana_x", "jules_x", "karim_x", "lea_x"):
        m = again[handle]["mastodon"]
        assert m and m["gone"] and m["level"] == "possible" and m["gone_why"] == "not-found", m
    for handle in ("aiko_x", "dario_x", "emma_x", "farid_x", "gaspard_x", "ines_x"):
        m = again[handle]["mastodon"]
        assert m and not m.get("gone") and m["level"] == "confirmed", (handle, m)
    # An older Misskey fails the whole call when one id is gone: each is then asked alone.
    asked = Counter((h, p.split("?")[0]) for h, p in net.control.paths)
    assert asked[("old-misskey.example", "/api/users/show")] == 1, asked
    gaspard = misskey_id("old-misskey.example", "gaspard")
    assert asked[("old-misskey.example", f"/users/{gaspard}")] == 1, asked


def test_a_renamed_account_is_looked_up_from_the_start(world: tuple[Any, Internet]) -> None:
    client, net = world
    first = _first(client)
    later = copy.deepcopy(WORLD)
    accounts = later["servers"]["threads.example"]["accounts"]
    accounts["ines"]["username"] = "ines.faure"  # the actor at /users/ines names someone else
    accounts["ines.faure"] = accounts.pop("ines")
    accounts["ines"] = _acc("ines", "Inès Faure")
    accounts["ines"]["username"] = "ines"
    net.change(later)
    net.control.clear()
    _resolve(client, _with_previous(first), recheck=True)
    assert ("threads.example", "/users/ines") in net.control.paths


def test_an_earlier_answer_naming_another_server_is_not_taken_at_its_word(
    world: tuple[Any, Internet],
) -> None:
    """The earlier answer comes from the caller: an actor or id on a server that does not
    serve the address is never asked; the address is looked up on its own server."""
    client, net = world
    first = _first(client)
    forged = copy.deepcopy(first)
    forged["ines_x"]["mastodon"]["actor"] = "https://pixelfed.example/users/nobody"
    forged["aiko_x"]["mastodon"]["url"] = "https://old-misskey.example/@aiko"
    net.control.clear()
    again = _resolve(client, _with_previous(forged), recheck=True)
    asked = Counter((h, p.split("?")[0]) for h, p in net.control.paths)
    assert ("pixelfed.example", "/users/nobody") not in asked, asked
    assert asked[("threads.example", "/.well-known/webfinger")] == 1, asked  # from the start
    assert again["ines_x"]["mastodon"]["acct"] == "ines@threads.example"
    # aiko's id is not sent to the server the forged page names, but her actor is asked.
    assert asked[("misskey.example", "/users/" + misskey_id("misskey.example", "aiko"))] == 1
    assert again["aiko_x"]["mastodon"]["acct"] == "aiko@misskey.example"


@pytest.mark.parametrize(
    ("host", "domain", "same"),
    [
        ("threads.example", "threads.example", True),
        ("www.threads.net", "threads.net", True),
        ("social.example.org", "example.org", True),
        ("example.org", "social.example.org", False),
        ("evil-threads.net", "threads.net", False),
        ("threads.net.evil.example", "threads.net", False),
        ("", "threads.net", False),
    ],
)
def test_same_site(host: str, domain: str, same: bool) -> None:
    assert same_site(host, domain) is same


def test_the_stand_in_names_misskey_actors_by_id() -> None:
    """Misskey writes its actors' URLs with the user id (`/users/9xyz…`), never the name."""
    net = Internet(copy.deepcopy(WORLD))
    try:
        s = requests.Session()
        s.trust_env = False
        s.proxies = {"https": net.env["HTTPS_PROXY"]}
        s.verify = net.env["REQUESTS_CA_BUNDLE"]
        jrd = s.get(
            "https://misskey.example/.well-known/webfinger",
            params={"resource": "acct:aiko@misskey.example"},
            timeout=30,
        ).json()
        self_link = next(x["href"] for x in jrd["links"] if x["rel"] == "self")
        assert self_link.endswith("/users/" + misskey_id("misskey.example", "aiko"))
        assert s.get("https://misskey.example/users/aiko", timeout=30).status_code == 404
    finally:
        net.stop()

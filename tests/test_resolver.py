"""The resolver's orchestration on small hand-made worlds: batching, sharing, order, proofs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.core.cache import NullCache
from server.core.config import load
from server.core.models import Account
from server.resolve.resolver import Resolver
from server.resolve.rounds import search_query
from tests.conftest import app_config
from tests.standins.internet import Internet

DID_A = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
DID_B = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"


def profile(did: str, handle: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "did": did,
        "handle": handle,
        "displayName": name,
        "description": "",
        "labels": [],
        "links": [],
        **extra,
    }


@pytest.fixture
def world_resolver(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[[dict[str, Any]], tuple[Resolver, Internet]]]:
    made: list[tuple[Resolver, Internet]] = []

    def make(world: dict[str, Any]) -> tuple[Resolver, Internet]:
        world.setdefault("accounts", [])
        world.setdefault("servers", {})
        net = Internet(world)
        for k, v in net.env.items():
            monkeypatch.setenv(k, v)
        settings = load(
            overrides={
                **app_config(tmp_path),
                "PASSERELLE_CACHE_URL": "none",
                "PASSERELLE_DNS_SERVERS": net.env["PASSERELLE_DNS_SERVERS"],
            }
        )
        r = Resolver(settings, NullCache())
        made.append((r, net))
        return r, net

    yield make
    for r, net in made:
        r.close()
        net.stop()


def test_domain_proof_must_agree_with_the_appview(world_resolver: Any) -> None:
    # alice.org's well-known names DID_A, but the AppView shows DID_A as another handle.
    world = {
        "bluesky": [profile(DID_A, "someone-else.bsky.social", "Alice Org", proof="well-known")]
    }
    r, net = world_resolver(world)
    net.world.well_known["alice.org"] = DID_A
    res = r.resolve([Account("alice", "Alice Org", url="https://alice.org/")])["results"][0]
    assert res["bluesky"] is None or res["bluesky"]["level"] == "possible"


def test_getprofiles_is_shared_by_the_whole_batch(world_resolver: Any) -> None:
    people = [profile(f"did:plc:{i:024d}", f"user{i}.bsky.social", f"User {i}") for i in range(60)]
    r, net = world_resolver({"bluesky": people})
    accounts = [Account(f"x{i}", f"User {i}", bio=f"🦋 user{i}.bsky.social") for i in range(60)]
    body = r.resolve(accounts, ("bluesky",))
    calls = [p for h, p in net.control.paths if p.endswith("getProfiles")]
    # 60 named handles + 60 same-handle guesses = 120 actors → 5 calls of 25
    assert len(calls) == 5
    assert all(res["bluesky"]["level"] == "confirmed" for res in body["results"])


def test_duplicate_handles_are_resolved_once(world_resolver: Any) -> None:
    r, net = world_resolver({"bluesky": [profile(DID_A, "alice.bsky.social", "Alice")]})
    one = r.resolve([Account("alice", "Alice")])["stats"]["upstream_requests"]
    net.control.clear()
    body = r.resolve([Account("alice", "Alice"), Account("ALICE", "Alice"), Account("bob", "Bob")])
    assert [x["handle"] for x in body["results"]] == ["alice", "ALICE", "bob"]
    assert body["results"][0]["bluesky"] == body["results"][1]["bluesky"]
    assert body["stats"]["upstream_requests"] <= one + 3


def test_name_search_only_for_the_unmatched(world_resolver: Any) -> None:
    world = {
        "bluesky": [
            profile(DID_A, "alice.bsky.social", "Alice Martin"),
            profile(DID_B, "am-photo.bsky.social", "Bob Durand", description="Ex-Twitter @bdurand"),
        ]
    }
    r, net = world_resolver(world)
    body = r.resolve(
        [
            Account("zz", "Alice Martin", bio="🦋 @alice.bsky.social"),
            Account("bdurand", "Bob Durand"),
        ],
        ("bluesky",),
    )
    searches = [p for _, p in net.control.paths if p.endswith("searchActors")]
    assert len(searches) == 1
    bob = body["results"][1]["bluesky"]
    assert bob["handle"] == "am-photo.bsky.social" and bob["level"] == "confirmed"
    assert "reverse-link" in bob["reasons"] and "name-search" in bob["reasons"]


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("Alice Martin 🦋", "alice martin"),
        ("🌻", None),
        ("A.", None),
        ("Jean-Luc (he/him)", "jean-luc he him"),
        ("L'Équipe", "l'équipe"),
        ("", None),
    ],
)
def test_search_query(name: str, query: str | None) -> None:
    assert search_query(name) == query


def test_bridge_opt_in_is_asked_in_batches(world_resolver: Any) -> None:
    """Who is bridged shows in one AppView call per 30 accounts (they follow ap.brid.gy); only
    those are asked of the bridge itself."""
    people = [
        profile(f"did:plc:{i:024d}", f"user{i}.bsky.social", f"User {i}", follows_bridge=i < 3)
        for i in range(40)
    ]
    people.append(profile("did:plc:" + "b" * 24, "ap.brid.gy", "Bridgy Fed"))
    bridged = {
        f"user{i}.bsky.social": {
            "username": f"user{i}.bsky.social",
            "display_name": f"User {i}",
            "note": "",
            "fields": [],
            "bot": False,
            "moved": None,
        }
        for i in range(3)
    }
    world = {
        "bluesky": people,
        "servers": {
            "bsky.brid.gy": {"software": "bridgy-fed", "version": "1", "accounts": bridged}
        },
    }
    r, net = world_resolver(world)
    accounts = [Account(f"x{i}", f"User {i}", bio=f"🦋 user{i}.bsky.social") for i in range(40)]
    body = r.resolve(accounts)
    paths = net.control.paths
    assert sum(1 for _, p in paths if p.endswith("getRelationships")) == 2
    assert sum(1 for h, _ in paths if h == "bsky.brid.gy") == 3
    mirrors = [res["mastodon"] for res in body["results"] if res["mastodon"]]
    assert [m["acct"] for m in mirrors] == [f"user{i}.bsky.social@bsky.brid.gy" for i in range(3)]
    assert all(m["bridged"] and m["level"] == "confirmed" for m in mirrors)

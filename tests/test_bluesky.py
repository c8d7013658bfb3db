"""Bluesky look-ups through the atproto SDK against the stand-in AppView, and domain handles."""

from __future__ import annotations

from typing import Any

import pytest

from server.core.cache import NullCache
from server.networks.bluesky import Bluesky
from server.networks.http import Politeness, Stats, current_stats, make_session
from tests.standins.internet import Internet

APPVIEW = "https://public.api.bsky.app"


@pytest.fixture
def bsky(clean_internet: Internet) -> Bluesky:
    return Bluesky(
        make_session(Politeness(rate=1000, retries=0)),
        APPVIEW,
        NullCache(),
        5,
        (clean_internet.env["PASSERELLE_DNS_SERVERS"],),
    )


def entries(world: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    return [p for p in world["bluesky"] if all(p.get(k) == v for k, v in match.items())]


def test_get_profiles_batches_and_maps_unknown_to_none(
    bsky: Bluesky, eval_world: dict[str, Any]
) -> None:
    known = [
        p for p in entries(eval_world) if p["handle"] != "handle.invalid" and p.get("indexed", True)
    ][:20]
    actors = [p["handle"] for p in known] + ["nobody-here.bsky.social", known[0]["did"]]
    stats = Stats()
    token = current_stats.set(stats)
    try:
        out = bsky.fetch_profiles(actors)
    finally:
        current_stats.reset(token)
    assert stats.upstream_requests == 1  # 22 actors, one call
    assert out["nobody-here.bsky.social"] is None
    for p in known:
        got = out[p["handle"]]
        assert got is not None and got.did == p["did"] and got.display_name == p["displayName"]
    assert out[known[0]["did"]] == out[known[0]["handle"]]


def test_labels_are_read(bsky: Bluesky, eval_world: dict[str, Any]) -> None:
    imp = next(p for p in eval_world["bluesky"] if "impersonation" in p["labels"])
    assert bsky.fetch_profiles([imp["did"]])[imp["did"]].labels == ("impersonation",)


def test_handle_invalid_is_returned_as_such(bsky: Bluesky, eval_world: dict[str, Any]) -> None:
    broken = entries(eval_world, handle="handle.invalid")[0]
    assert bsky.fetch_profiles([broken["did"]])[broken["did"]].handle == "handle.invalid"


def test_a_refused_actor_does_not_sink_the_batch(bsky: Bluesky, eval_world: dict[str, Any]) -> None:
    good = entries(eval_world)[0]
    out = bsky.fetch_profiles([good["handle"], "bad_actor!"])
    assert out[good["handle"]] is not None and out["bad_actor!"] is None


def test_search(bsky: Bluesky, eval_world: dict[str, Any]) -> None:
    target = entries(eval_world)[10]
    hits = bsky.search(target["displayName"])
    assert target["did"] in {h.did for h in hits}


@pytest.mark.parametrize("proof", ["well-known", "dns"])
def test_domain_handle_proof(bsky: Bluesky, eval_world: dict[str, Any], proof: str) -> None:
    p = entries(eval_world, proof=proof)[0]
    assert bsky.fetch_profiles([p["handle"]])[p["handle"]] is None  # the AppView lags behind
    assert bsky.resolve_domain(p["handle"]) == p["did"]
    assert bsky.fetch_profiles([p["did"]])[p["did"]].handle == p["handle"]


def test_domain_without_proof(bsky: Bluesky) -> None:
    assert bsky.resolve_domain("lemonde-not-on-bluesky.fr") is None

"""The same world some weeks later: people joined Bluesky and the fediverse, a few left.

A re-check (issue #21) is tested and measured on it: a world from `world.build_world` is
checked once; then `later()` makes some of those left unmatched arrive (a Bluesky account
whose bio names their X account back, some with their new fediverse address in it, which the
re-check finds through the cross-link) and some of those found leave (a Bluesky account deleted,
a fediverse account deleted, one moved to another server). The labels say what a re-check must
answer: `arrived` and `left` name the accounts, by network.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from tests.standins.world import _did

JOIN_SERVER = "piaille.fr"


def later(world: dict[str, Any], joins: int, leaves: int, seed: int = 11) -> dict[str, Any]:
    """A deep copy of `world` with `joins` arrivals and `leaves` departures (about a third of
    them on the fediverse), and labels: `arrived[handle] = {net: ident}`, `left[handle] =
    {net: ident}` (for a move, the new home in `moved[handle]`)."""
    w = copy.deepcopy(world)
    rng = random.Random(seed)
    accounts = w["accounts"]
    unmatched = [
        a
        for a in accounts
        if a["case"] == "neither" and not a["expect"]["bluesky"] and not a["expect"]["mastodon"]
    ]
    # Leavers among handles held once (a large generated world may give one handle twice).
    held: dict[str, int] = {}
    for p in w["bluesky"]:
        held[p["handle"]] = held.get(p["handle"], 0) + 1
    found_b = [
        a
        for a in accounts
        if a["findable"]["bluesky"]
        and a["case"] == "bsky-bio-handle"
        and held.get(a["expect"]["bluesky"]) == 1
    ]
    found_m = [a for a in accounts if a["findable"]["mastodon"] and a["case"] == "fedi-handle"]
    arrived: dict[str, dict[str, str]] = {}
    left: dict[str, dict[str, str]] = {}
    moved: dict[str, str] = {}
    taken = {p["handle"] for p in w["bluesky"]}
    for i, a in enumerate(rng.sample(unmatched, min(joins, len(unmatched)))):
        label = a["handle"].lower().replace("_", "-")[:14] + "-new"
        handle, n = f"{label}.bsky.social", 2
        while handle in taken:  # large worlds: two X handles alike in their first letters
            handle, n = f"{label}{n}.bsky.social", n + 1
        taken.add(handle)
        bio = f"Enfin ici. Anciennement x.com/{a['handle']}"
        got = {"bluesky": handle}
        if i % 3 == 0:  # also on the fediverse, said on the new Bluesky profile
            user, base, n = a["handle"].lower()[:20], a["handle"].lower()[:20], 2
            while user in w["servers"][JOIN_SERVER]["accounts"]:
                user, n = f"{base}{n}", n + 1
            w["servers"][JOIN_SERVER]["accounts"][user] = {
                "username": user,
                "display_name": a["name"],
                "note": "",
                "fields": [],
                "bot": False,
                "moved": None,
            }
            bio += f" · Mastodon : @{user}@{JOIN_SERVER}"
            got["mastodon"] = f"{user}@{JOIN_SERVER}"
        w["bluesky"].append(
            {
                "did": _did("arrival" + handle),
                "handle": handle,
                "displayName": a["name"],
                "description": bio,
                "labels": [],
                "links": [],
            }
        )
        arrived[a["handle"]] = got
        a["case"] = "arrived"
        a["expect"] = {"bluesky": handle, "mastodon": got.get("mastodon")}
        a["findable"] = {"bluesky": True, "mastodon": "mastodon" in got}
    n_fedi = max(1, leaves // 3)
    for a in rng.sample(found_b, min(leaves - n_fedi, len(found_b))):
        handle = a["expect"]["bluesky"]
        w["bluesky"] = [p for p in w["bluesky"] if p["handle"] != handle]
        left[a["handle"]] = {"bluesky": handle}
        a["case"] = "left"
        a["expect"] = {**a["expect"], "bluesky": None}
        a["findable"] = {**a["findable"], "bluesky": False}
    for j, a in enumerate(rng.sample(found_m, min(n_fedi, len(found_m)))):
        acct = a["expect"]["mastodon"]
        user, _, host = acct.partition("@")
        server = w["servers"][host]["accounts"]
        if j == 0:  # moved: the old account points to the new one
            new_user, n = user + "2", 3
            while new_user in w["servers"][JOIN_SERVER]["accounts"]:
                new_user, n = f"{user}{n}", n + 1
            w["servers"][JOIN_SERVER]["accounts"][new_user] = {**server[user], "username": new_user}
            server[user] = {**server[user], "moved": f"{new_user}@{JOIN_SERVER}"}
            moved[a["handle"]] = f"{new_user}@{JOIN_SERVER}"
            a["expect"] = {**a["expect"], "mastodon": f"{new_user}@{JOIN_SERVER}"}
        else:
            del server[user]
            a["expect"] = {**a["expect"], "mastodon": None}
            a["findable"] = {**a["findable"], "mastodon": False}
        left[a["handle"]] = {"mastodon": acct}
        a["case"] = "left"
    w["arrived"], w["left"], w["moved"] = arrived, left, moved
    return w

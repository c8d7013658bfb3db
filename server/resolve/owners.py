"""Pure: one destination, one owner, over a whole list.

An organisation's account can be claimed (or guessed) by several X accounts of one list: its own,
a member's, a volunteer's. Pre-selecting it on every row makes the user follow it "three times"
and, worse, hides that two of those rows are someone else's account. So, over the *whole* list
(the extension sends it in batches; it settles again on the results page, see
`extension/pages/owners.js`, which follows the same hand-written table,
`tests/tables/one_owner.md`), a destination is pre-selected for at most one X account: the
one with the strongest proof keeps it; the others drop to `possible` with the reason
`claimed-by-other` and `claimed_by` naming the X account that keeps it. When no one stands out,
every claimant drops (`claimed_by` then names another claimant).

Strength, strongest first: the destination names this X account back (`reverse-link`); the
same name; `confirmed` rather than `likely`; the same handle.
"""

from __future__ import annotations

import copy
from typing import Any

PRESELECTED = ("confirmed", "likely")
NETWORKS = ("bluesky", "mastodon")


def destination(network: str, match: dict[str, Any]) -> str:
    """The account's identity on its network: its DID, or its lowercase `user@host`."""
    if network == "bluesky":
        return str(match.get("did") or match.get("handle") or "").lower()
    return str(match.get("acct") or "").lower()


def strength(match: dict[str, Any]) -> tuple[int, int, int, int]:
    reasons = set(match.get("reasons") or ())
    return (
        int("reverse-link" in reasons),
        int("same-name" in reasons),
        int(match.get("level") == "confirmed"),
        int("same-handle" in reasons),
    )


def settle(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results with every destination pre-selected for one X account at most.

    Returns new result dicts where something changed; the input is left as it is. Positions of
    one X handle (a handle listed twice) are one claimant."""
    out = list(results)
    for net in NETWORKS:
        claims: dict[str, dict[str, list[int]]] = {}  # destination → X handle → positions
        for i, r in enumerate(results):
            match = r.get(net) if isinstance(r, dict) else None
            if not isinstance(match, dict) or match.get("level") not in PRESELECTED:
                continue
            key = destination(net, match)
            if key:
                x = str(r.get("handle") or "").lower()
                claims.setdefault(key, {}).setdefault(x, []).append(i)
        for by_handle in claims.values():
            if len(by_handle) < 2:
                continue
            ranked = sorted(
                by_handle.items(),
                key=lambda kv: strength(results[kv[1][0]][net]),
                reverse=True,
            )
            top = strength(results[ranked[0][1][0]][net])
            owner = ranked[0][0] if strength(results[ranked[1][1][0]][net]) < top else None
            for x, positions in ranked:
                if x == owner:
                    continue
                named = owner or next(h for h, _ in ranked if h != x)
                named_handle = results[by_handle[named][0]].get("handle")
                for i in positions:
                    out[i] = _dropped(out[i], net, named_handle)
    return out


def _dropped(result: dict[str, Any], net: str, owner: Any) -> dict[str, Any]:
    new = copy.copy(result)
    match = copy.deepcopy(result[net])
    match["level"] = "possible"
    reasons = list(match.get("reasons") or [])
    if "claimed-by-other" not in reasons:
        reasons.append("claimed-by-other")
    match["reasons"] = reasons
    match["claimed_by"] = owner
    new[net] = match
    return new

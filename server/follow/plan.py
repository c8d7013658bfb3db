"""Pure: which matches a run acts on, read from `passerelle resolve --format json` output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.models import LEVELS
from ..core.validate import InputError

PRESELECTED = ("confirmed", "likely")


@dataclass(frozen=True)
class Target:
    """One account to follow: its id on the network (DID, or acct), its handle, its X handle."""

    id: str
    handle: str
    x: str


def parse_levels(text: str) -> tuple[str, ...]:
    levels = tuple(x.strip() for x in text.split(",") if x.strip())
    bad = [x for x in levels if x not in LEVELS]
    if bad or not levels:
        raise InputError(
            f"--levels: unknown level {bad[0] if bad else text!r} (use confirmed, likely, possible)"
        )
    return levels


def targets(
    body: Any,
    network: str,
    levels: tuple[str, ...],
    include_bridged: bool = False,
    only_new: bool = False,
) -> list[Target]:
    """The selected matches on one network, each account once, in the results' order.

    Bridgy Fed mirrors of accounts on the other network only with `include_bridged` (for
    someone who does not follow people there: else every post would come twice). A match a
    re-check found gone is never followed; with `only_new`, only those a re-check marked new
    (`passerelle resolve --previous`)."""
    results = body.get("results") if isinstance(body, dict) else body
    if not isinstance(results, list):
        raise InputError(
            'expected the output of `passerelle resolve --format json` (a "results" list)'
        )
    out: list[Target] = []
    seen: set[str] = set()
    for i, r in enumerate(results):
        if not isinstance(r, dict) or not isinstance(r.get("handle"), str):
            raise InputError(f'results[{i}] is not a resolve result (no "handle")')
        match = r.get(network)
        if match is None:
            continue
        if not isinstance(match, dict) or match.get("level") not in LEVELS:
            raise InputError(f'results[{i}].{network} is not a match (no valid "level")')
        if match["level"] not in levels or (match.get("bridged") and not include_bridged):
            continue
        if match.get("gone") or (only_new and match.get("new") is not True):
            continue
        if network == "bluesky":
            ident, handle = match.get("did"), match.get("handle")
        else:
            ident = handle = match.get("acct")
        if not isinstance(ident, str) or not isinstance(handle, str) or not ident:
            raise InputError(
                f"results[{i}].{network} lacks its "
                f"{'did and handle' if network == 'bluesky' else 'acct'}"
            )
        if ident in seen:
            continue
        seen.add(ident)
        out.append(Target(ident, handle, r["handle"]))
    return out

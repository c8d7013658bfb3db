"""Pure: a re-check against an earlier answer: who is new since, who is gone.

People arrive on Bluesky and the fediverse over the months a migration takes; a list checked in
January is checked again in March. A re-check (`"recheck": true` with each account's
`"previous"` answer, or `passerelle resolve --previous OLD.json`) looks up afresh every account
the earlier answer left without a match (a cached "not found" is an answer about the past),
reuses what it found once checked to still exist, and marks the difference:
- a pre-selected match the earlier answer did not have carries `"new": true`;
- a match the earlier answer had that is gone since (deleted, deactivated, taken down, moved, or
  now saying it is not the person) carries `"gone": true`, is `possible`, never pre-selected.
This module reads earlier answers and marks; `resolver` does the look-ups.
"""

from __future__ import annotations

from typing import Any

from ..core.models import NETWORKS, Network

PRESELECTED = ("confirmed", "likely")


class PreviousError(ValueError):
    """An earlier answer that cannot be read (the message names where)."""


def ident(net: str, match: dict[str, Any] | None) -> str | None:
    """What makes two matches the same account: the DID on Bluesky, the address elsewhere."""
    if not match:
        return None
    keys = ("did", "handle") if net == "bluesky" else ("acct",)
    value = next((match[k] for k in keys if match.get(k)), None)
    return str(value).lower() if value else None


def held(match: dict[str, Any] | None) -> bool:
    """A match the earlier answer pre-selected, and not already gone then."""
    return bool(match) and match.get("level") in PRESELECTED and not match.get("gone")  # type: ignore[union-attr]


def parse_previous(value: Any, where: str) -> dict[Network, dict[str, Any]]:
    """One account's earlier answer (`{"bluesky": match|null, "mastodon": match|null}`, the
    shape `POST /api/resolve` answers), kept only where it names an account."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PreviousError(f"{where}: previous must be an object with bluesky and mastodon")
    out: dict[Network, dict[str, Any]] = {}
    for net in NETWORKS:
        match = value.get(net)
        if match is None:
            continue
        if not isinstance(match, dict) or not isinstance(match.get("level", ""), str):
            raise PreviousError(f"{where}: previous.{net} must be a match object or null")
        key = ("did", "handle") if net == "bluesky" else ("acct",)
        if any(k in match and not (isinstance(match[k], str) and match[k]) for k in key):
            raise PreviousError(
                f"{where}: previous.{net}.{' / '.join(key)} must be a non-empty string"
            )
        if not any(match.get(k) for k in key):
            raise PreviousError(
                f"{where}: previous.{net} must name the account ({' or '.join(key)})"
            )
        out[net] = match
    return out


def previous_answers(data: Any, name: str) -> dict[str, dict[Network, dict[str, Any]]]:
    """An earlier answer (`passerelle resolve --format json`, or its `results` list) by X
    handle (lowercase)."""
    results = data.get("results") if isinstance(data, dict) else data
    if not isinstance(results, list):
        raise PreviousError(f"{name}: not an answer of passerelle resolve (no results list)")
    out: dict[str, dict[Network, dict[str, Any]]] = {}
    for i, r in enumerate(results):
        if not isinstance(r, dict) or not isinstance(r.get("handle"), str):
            raise PreviousError(f"{name}: results[{i}] has no handle")
        out[r["handle"].lower()] = parse_previous(
            {n: r.get(n) for n in NETWORKS}, f"{name}: results[{i}]"
        )
    return out


def mark_new(
    results: list[dict[str, Any]], previous: dict[str, dict[Network, dict[str, Any]]]
) -> None:
    """`"new": true` on every pre-selected match the earlier answer did not hold (an account
    new to the list counts: its matches are new to the user too), and on no other."""
    for r in results:
        before = previous.get(str(r.get("handle", "")).lower(), {})
        for net in NETWORKS:
            match = r.get(net)
            if not isinstance(match, dict):
                continue
            old = before.get(net)
            if held(match) and not (held(old) and ident(net, old) == ident(net, match)):
                match["new"] = True
            else:
                match.pop("new", None)


def gone_match(net: Network, old: dict[str, Any], why: str) -> dict[str, Any]:
    """The earlier match, as an answer says it is gone: `possible`, never pre-selected."""
    reasons = [r for r in old.get("reasons") or [] if isinstance(r, str)]
    out = {k: v for k, v in old.items() if k not in ("new", "claimed_by")}
    out.update(level="possible", gone=True, gone_why=why, reasons=[*reasons, "gone"])
    return out


def counts(results: list[dict[str, Any]]) -> tuple[int, int]:
    """(new matches, gone matches) in an answer."""
    new = gone = 0
    for r in results:
        for net in NETWORKS:
            m = r.get(net)
            if isinstance(m, dict):
                new += bool(m.get("new"))
                gone += bool(m.get("gone"))
    return new, gone

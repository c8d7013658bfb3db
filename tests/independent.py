"""The second yardstick: real X accounts we did not write, labelled by hand.

`tests/data/eval_set.json` and `tests/standins/world.py` were written with the resolver's rules
in mind, and so score what the rules expect. This world is built the other way round:
- the X accounts are the 1,209 distinct people of the follow lists X served to vladkens/twscrape
  (`tests/data/x_recorded/`), read by the independent reader `tests/x_reference.py`, each as X
  last showed them: names, bios, links and websites written by those people;
- the expected answers come from `tests/tables/real_x.md`, written by hand by reading each
  profile; every account not in the table must get nothing pre-selected;
- the networks hold the accounts the table names (with the names it gives), and strangers made
  mechanically of *other* real people, far apart in the list: for person i, a Bluesky account
  with person i's name under person j's handle with person k's bio (a namesake of i and a
  squatter of j), and a Mastodon account on a large server with person m's handle and person i's
  name (a squatter of m, a namesake of i). A pair whose names share a word is skipped: that
  account would be no stranger to j. Nothing here is tuned to what the resolver does.
The Mastodon accounts are served in the shape of a real server's answers (the stand-in fills
them from Mastodon.py's recorded cassettes).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

from tests import mdtable, x_reference

NONE = "—"
STRANGERS_SERVER = "mastodon.social"  # where a stranger sharing a name or handle most likely is


def table_rows() -> list[dict[str, str]]:
    """The hand-written rows of `real_x.md`, cells stripped (`\\|` is a literal bar)."""
    keys = ("x", "bluesky", "mastodon", "name", "also", "why")
    return [dict(zip(keys, cells, strict=True)) for cells in mdtable.rows("real_x.md", 6)]


def real_people() -> list[dict[str, Any]]:
    """Every distinct person of the recordings, as the most recent recording shows them, in a
    stable order (by handle)."""
    latest: dict[str, dict[str, Any]] = {}
    # File names read `<kind>-<date>-<commit>.json.gz`: order by date, then name.
    for name in sorted(x_reference.recorded_files(), key=lambda f: (f.split("-", 1)[1], f)):
        for p in x_reference.people(x_reference.load(name)):
            latest[p["handle"].lower()] = p
    return [latest[k] for k in sorted(latest)]


def _did(seed: str) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    digest = hashlib.sha256(seed.encode()).digest()
    return "did:plc:" + "".join(alphabet[b % 32] for b in digest[:24])


def _label(handle: str) -> str:
    """An X handle as a Bluesky handle's first label, as people write it (`a_b` → `a-b`)."""
    label = handle.lower().replace("_", "-").strip("-")
    return label if re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", label) else ""


def _user(handle: str) -> str:
    return re.sub(r"[^a-z0-9_]", "", handle.lower())


def _plain(name: str) -> str:
    """A display name without decoration, as a stranger sharing it would likely write it."""
    kept = "".join(c for c in name if unicodedata.category(c)[0] in "LNZP" or c in "'-.")
    return " ".join(kept.split())


def _words(text: str) -> set[str]:
    """Words of three letters or more, folded to plain lower-case letters."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return {w for w in re.split(r"[^a-z0-9]+", plain) if len(w) >= 3}


def _strangers(name: str, other: dict[str, Any]) -> bool:
    """True when an account with `name` would be a stranger to `other` (no word in common with
    their name or handle)."""
    return not (_words(name) & (_words(other["name"]) | _words(other["handle"])))


def _bsky(handle: str, name: str, description: str = "") -> dict[str, Any]:
    entry: dict[str, Any] = {
        "did": _did(handle),
        "handle": handle,
        "displayName": name,
        "description": description,
        "labels": [],
        "links": [],
    }
    if not handle.endswith(".bsky.social"):
        entry["proof"] = "dns"  # a domain handle proves itself, most often by a DNS record
    return entry


def _fedi(user: str, name: str, note: str = "") -> dict[str, Any]:
    return {
        "username": user,
        "display_name": name,
        "note": f"<p>{note}</p>" if note else "",
        "fields": [],
        "bot": False,
        "moved": None,
    }


def later_rows() -> list[dict[str, str]]:
    """The hand-written rows of `real_x_later.md`."""
    keys = ("x", "network", "address", "name", "bio", "kind", "answer")
    return [dict(zip(keys, cells, strict=True)) for cells in mdtable.rows("real_x_later.md", 7)]


def apply_later(world: dict[str, Any]) -> dict[str, Any]:
    """The same world months later (`real_x_later.md`): addresses taken by others, profiles
    naming people back that are not them. Only the accounts the rows speak of are kept."""
    rows = later_rows()
    bluesky = {p["handle"]: p for p in world["bluesky"]}
    servers = world["servers"]
    accounts = {a["handle"].lower(): a for a in world["accounts"]}
    kept = []
    for row in rows:
        acc = accounts[row["x"].lower()]
        net, address = row["network"], row["address"]
        if net == "bluesky":
            entry = _bsky(address, row["name"], row["bio"])
            if row["kind"] == "automated":
                entry["labels"] = ["bot"]
            entry["did"] = bluesky[address]["did"] if address in bluesky else entry["did"]
            bluesky[address] = entry
        else:
            user, _, host = address.partition("@")
            servers.setdefault(host, {"software": "mastodon", "version": "4.3.2", "accounts": {}})
            servers[host]["accounts"][user.lower()] = _fedi(user, row["name"], row["bio"])
        answer = None if row["answer"] == NONE else row["answer"]
        acc = {**acc, "case": f"later-{row['kind']}"}
        acc["expect"] = {**acc["expect"], net: answer}
        acc["findable"] = {**acc["findable"], net: answer is not None}
        kept.append(acc)
    return {**world, "bluesky": list(bluesky.values()), "servers": servers, "accounts": kept}


def build() -> dict[str, Any]:
    """The world in the stand-ins' format (`tests/standins/internet.py`), with labels."""
    people = real_people()
    by_handle = {p["handle"].lower(): p for p in people}
    rows = {r["x"].lower(): r for r in table_rows()}
    missing = sorted(set(rows) - set(by_handle))
    assert not missing, f"real_x.md names accounts the recordings do not hold: {missing}"

    bluesky: dict[str, dict[str, Any]] = {}
    servers: dict[str, dict[str, Any]] = {
        "bsky.brid.gy": {"software": "bridgy-fed", "version": "0.1", "accounts": {}},
    }

    def server(host: str) -> dict[str, Any]:
        software = "threads" if host == "threads.net" else "mastodon"
        return servers.setdefault(host, {"software": software, "version": "4.3.2", "accounts": {}})

    # The accounts the table names: they exist, under the names it gives.
    for row in rows.values():
        name = row["name"]
        if row["bluesky"] != NONE:
            bluesky[row["bluesky"]] = _bsky(row["bluesky"], name)
        for acct in [row["mastodon"], *row["also"].split()]:
            if acct and acct != NONE:
                user, _, host = acct.partition("@")
                server(host)["accounts"][user.lower()] = _fedi(user, name)

    # Strangers, made of other real people (never of the person they could be taken for).
    n = len(people)
    server(STRANGERS_SERVER)
    for i, p in enumerate(people):
        name = _plain(p["name"])
        squatted = people[(i + n // 2) % n]
        label = _label(squatted["handle"])
        handle = f"{label}.bsky.social"
        if name and label and handle not in bluesky and _strangers(name, squatted):
            bio = people[(i + n // 3) % n]["description"].split("\n")[0][:200]
            bluesky[handle] = _bsky(handle, name, bio)
        fedi_squatted = people[(i + n // 4) % n]
        user = _user(fedi_squatted["handle"])
        accounts = servers[STRANGERS_SERVER]["accounts"]
        if name and user and user not in accounts and _strangers(name, fedi_squatted):
            accounts[user] = _fedi(user, name)

    accounts = []
    for p in people:
        row = rows.get(p["handle"].lower())
        expect = {
            net: (row[net] if row and row[net] != NONE else None) for net in ("bluesky", "mastodon")
        }
        accounts.append(
            {
                "handle": p["handle"],
                "name": p["name"],
                "bio": p["description"],
                "url": p["url"],
                "links": p["links"],
                "id": p["id"],
                "follows_you": False,
                "case": "table" if row else "real",
                "expect": expect,
                "findable": {net: expect[net] is not None for net in expect},
            }
        )
    # Every account in the table keeps its hand-written answer; a stranger never takes the
    # place of an expected account.
    for a in accounts:
        for net in ("bluesky", "mastodon"):
            target = a["expect"][net]
            if net == "bluesky" and target:
                assert bluesky[target]["displayName"] == rows[a["handle"].lower()]["name"]
    return {
        "appview_host": "public.api.bsky.app",
        "bluesky": list(bluesky.values()),
        "servers": servers,
        "unresolvable": [],
        "accounts": accounts,
    }

"""A faithful re-implementation of Sky Follower Bridge's matching, to measure against.

Per X account, up to three `app.bsky.actor.searchActors` calls (the X handle, a handle found
in the bio, the display name), 100 ms apart between accounts; the first hit wins when: the bio
handle is contained in the candidate's handle; or the candidate handle's first label equals the
X handle (or is Jaro-Winkler > 0.92 close to it); or the display names are equal. Every match is
followed (there are no levels), and it knows no fediverse.
"""

from __future__ import annotations

import re
import time
from typing import Any

import requests

BIO_HANDLE = re.compile(r"@?([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)", re.IGNORECASE)


def jaro_winkler(a: str, b: str) -> float:
    if a == b:
        return 1.0
    la, lb = len(a), len(b)
    if not la or not lb:
        return 0.0
    window = max(la, lb) // 2 - 1
    ma, mb = [False] * la, [False] * lb
    matches = 0
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(lb, i + window + 1)):
            if not mb[j] and b[j] == ch:
                ma[i] = mb[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    k = transpositions = 0
    for i in range(la):
        if ma[i]:
            while not mb[k]:
                k += 1
            if a[i] != b[k]:
                transpositions += 1
            k += 1
    m = matches
    jaro = (m / la + m / lb + (m - transpositions / 2) / m) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


def _matches(account: dict[str, Any], actor: dict[str, Any], bio_handle: str | None) -> bool:
    handle = actor["handle"].lower()
    x = account["handle"].lower()
    if bio_handle and bio_handle.lower() in handle:
        return True
    first = handle.split(".")[0]
    if first == x or jaro_winkler(first, x) > 0.92:
        return True
    name = (account.get("name") or "").strip()
    return bool(name) and name == (actor.get("displayName") or "").strip()


class Peer:
    def __init__(self, session: requests.Session, appview: str, pause: float = 0.1) -> None:
        self.session = session
        self.appview = appview.rstrip("/")
        self.pause = pause
        self.requests = 0

    def search(self, q: str) -> list[dict[str, Any]]:
        self.requests += 1
        for _ in range(5):
            r = self.session.get(
                f"{self.appview}/xrpc/app.bsky.actor.searchActors",
                params={"q": q, "limit": 10},
                timeout=10,
            )
            if r.status_code == 429:
                time.sleep(float(r.headers.get("Retry-After", "1")))
                self.requests += 1
                continue
            return r.json().get("actors", []) if r.status_code == 200 else []
        return []

    def resolve(self, account: dict[str, Any]) -> dict[str, Any] | None:
        bio = account.get("bio") or ""
        m = BIO_HANDLE.search(bio)
        bio_handle = m.group(1) if m and "." in m.group(1) else None
        queries = [account["handle"], bio_handle, account.get("name")]
        for q in [q for q in queries if q]:
            for actor in self.search(q):
                if _matches(account, actor, bio_handle):
                    return {"handle": actor["handle"], "level": "confirmed"}
        return None

    def run(self, accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for acc in accounts:
            out.append({"handle": acc["handle"], "bluesky": self.resolve(acc), "mastodon": None})
            time.sleep(self.pause)
        return out

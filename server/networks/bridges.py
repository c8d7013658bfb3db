"""Bridgy Fed: is someone's Bluesky account reachable from the fediverse, and the reverse?

Bridging is opt-in, so an address is offered only once the bridge itself answers for it:
- a Bluesky account bridged to the fediverse is `HANDLE@bsky.brid.gy` (asked by WebFinger);
- a fediverse account bridged to Bluesky is `USER.HOST.ap.brid.gy` (asked of the AppView by the
  resolver, batched with the other getProfiles look-ups; see `signals.bridged_handle_for_acct`).
"""

from __future__ import annotations

from ..cache import MISSING, Cache
from ..models import BskyProfile, FediAccount
from ..signals import BRIDGY_BSKY, bridged_acct_for_bsky
from .fediverse import Fediverse
from .http import count

TTL = 24 * 3600


class Bridges:
    def __init__(self, fediverse: Fediverse, cache: Cache) -> None:
        self.fediverse = fediverse
        self.cache = cache

    def fediverse_mirror_of(self, profile: BskyProfile) -> FediAccount | None:
        """The bridged fediverse account of a Bluesky profile, if the person opted in."""
        acct = bridged_acct_for_bsky(profile.handle)
        key = "bridge:bsky:" + acct
        hit = self.cache.get(key)
        if hit is not MISSING:
            count(hits=1)
            return FediAccount.from_json(hit) if hit else None
        jrd = self.fediverse.webfinger(acct)
        found = None
        if jrd is not None and str(jrd.get("subject", "")).lower() == f"acct:{acct}":
            page = next(
                (
                    str(ln.get("href"))
                    for ln in jrd.get("links") or []
                    if isinstance(ln, dict)
                    and ln.get("rel") == "http://webfinger.net/rel/profile-page"
                    and ln.get("href")
                ),
                f"https://{BRIDGY_BSKY}/r/https://bsky.app/profile/{profile.handle}",
            )
            found = FediAccount(
                acct=acct,
                url=page,
                display_name=profile.display_name,
                note=profile.description,
                avatar=profile.avatar,
                software="bridgy-fed",
            )
        self.cache.set(key, found.to_json() if found else None, TTL)
        return found

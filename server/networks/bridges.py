"""Bridgy Fed: is someone's Bluesky account reachable from the fediverse, and the reverse?

Bridging is opt-in, so an address is offered only once the bridge itself answers for it:
- a Bluesky account bridged to the fediverse is `HANDLE@bsky.brid.gy`: who opted in shows in
  one AppView call for 30 accounts (they follow `ap.brid.gy`), then the bridge's WebFinger
  confirms each one that did;
- a fediverse account bridged to Bluesky is `USER.HOST.ap.brid.gy` (asked of the AppView by the
  resolver, batched with the other getProfiles look-ups; see
  `core.addresses.bridged_handle_for_acct`).
"""

from __future__ import annotations

from ..core.addresses import BRIDGY_BSKY, bridged_acct_for_bsky
from ..core.cache import MISSING, Cache
from ..core.models import BskyProfile, FediAccount
from .bluesky import RELATIONSHIPS_BATCH, Bluesky
from .fediverse import Fediverse
from .http import count, flights, split_cached

TTL = 24 * 3600


BRIDGE_ACCOUNT = "ap.brid.gy"  # Bluesky people opt in to the bridge by following this account


class Bridges:
    def __init__(self, fediverse: Fediverse, bluesky: Bluesky, cache: Cache) -> None:
        self.fediverse = fediverse
        self.bluesky = bluesky
        self.cache = cache

    def bridge_did(self) -> str | None:
        """The DID of Bridgy Fed's Bluesky account, or None when the AppView does not know it."""
        known, todo = self.bluesky.cached_profiles([BRIDGE_ACCOUNT])
        if todo:
            known = self.bluesky.fetch_profiles(todo)
        profile = known.get(BRIDGE_ACCOUNT)
        return profile.did if profile else None

    def opted_in(self, dids: list[str]) -> set[str] | None:
        """Which of these Bluesky accounts follow the bridge (30 per call, cached), or None when
        that cannot be told (then each is asked of the bridge itself)."""
        bridge = self.bridge_did()
        if bridge is None:
            return None
        hits, todo = split_cached(self.cache, "bridge:follows:", dids)
        out = {did for did, follows in hits.items() if follows}
        for i in range(0, len(todo), RELATIONSHIPS_BATCH):
            chunk = todo[i : i + RELATIONSHIPS_BATCH]
            found = self.bluesky.followers_among(bridge, chunk)
            for did in chunk:
                self.cache.set("bridge:follows:" + did, did in found, TTL)
            out |= found
        return out

    def fediverse_mirror_of(self, profile: BskyProfile) -> FediAccount | None:
        """The bridged fediverse account of a Bluesky profile, if the person opted in."""
        acct = bridged_acct_for_bsky(profile.handle)
        key = "bridge:bsky:" + acct
        with flights.one(key):
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

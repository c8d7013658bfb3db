"""A re-check's first round: is what the earlier answer pre-selected still there?

Bluesky accounts by DID, fresh, 25 per getProfiles call; fediverse accounts many at a time by
id where their server can (Mastodon 4.3+, Misskey), else each with one request (its actor, or
its web page where the server reads only signed requests), else looked up from the start. What
still holds is kept (`State.kept`) and not looked up again; what is gone is said (`State.gone`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from ..core import addresses
from ..core.hosts import host_of
from ..core.models import BskyProfile, Candidate, FediAccount, Network
from ..networks.bluesky import BATCH
from ..networks.fediverse import ID_BATCH, LOOK_AGAIN, account_from_api, same_site
from . import contradiction, recheck
from . import decide as decide_mod
from .state import State

if TYPE_CHECKING:
    from .resolver import Resolver

_ACCOUNT_ID = re.compile(r"^[0-9a-z]{1,32}$")  # Mastodon's snowflakes, Misskey's aid/ulid/…


def round_still_there(r: Resolver, states: dict[str, State], nets: tuple[Network, ...]) -> None:
    """A re-check: what the earlier answer pre-selected is checked to still exist, and then
    reused instead of looked up again. Bluesky accounts by DID, fresh, 25 per getProfiles
    call (deleted, deactivated and taken-down accounts are not returned, or are marked);
    fediverse accounts on their own server, fresh: 40 at a time by id on Mastodon 4.3+,
    else one by one (a moved account answers with its new home). A profile that now says
    it is not the person counts as gone too."""
    bsky: dict[str, list[str]] = {}
    fedi: dict[str, list[str]] = {}
    for key, st in states.items():
        for net, old in st.previous.items():
            if net not in nets or not recheck.held(old):
                continue
            if net == "mastodon" and old.get("bridged"):
                continue  # a Bluesky account's fediverse mirror: found again with it
            if net == "bluesky":
                actor = addresses.valid_did(str(old.get("did") or "")) or (
                    addresses.valid_bsky_handle(str(old.get("handle") or ""))
                )
                if actor:
                    bsky.setdefault(actor, []).append(key)
            else:
                acct = str(old.get("acct") or "").lower()
                user, _, host = acct.partition("@")
                if addresses.valid_acct(user, host) == acct:
                    fedi.setdefault(acct, []).append(key)
    futures: list[tuple[Future[Any], list[str], Callable[[Any], None]]] = []
    failure: dict[int, Network] = {}
    actors = list(bsky)
    for i in range(0, len(actors), BATCH):
        chunk = actors[i : i + BATCH]

        def seen(found: dict[str, BskyProfile | None], chunk: list[str] = chunk) -> None:
            for actor in chunk:
                for key in bsky[actor]:
                    still_there(states[key], "bluesky", found.get(actor))

        fut = r.submit(r.bluesky.fetch_profiles, chunk)
        failure[id(fut)] = "bluesky"
        futures.append((fut, sorted({k for a in chunk for k in bsky[a]}), seen))
    # Fediverse: many of one server at once by id where the earlier answer kept it
    # (Mastodon 4.3+, Misskey), else each on its own server, fresh: its actor alone where
    # the earlier answer kept it (software with no batch), else looked up from the start.
    by_server: dict[str, list[tuple[str, str]]] = {}
    single: list[str] = []  # asked alone: the actor, where known
    late: list[str] = []  # looked up from the start: moved, renamed, or nothing kept
    for acct, keys in fedi.items():
        old = states[keys[0]].previous["mastodon"]
        host = host_of(str(old.get("url") or ""))
        account_id = old.get("id")
        if (
            isinstance(account_id, str)
            and _ACCOUNT_ID.match(account_id)
            and host
            and same_site(host, acct.partition("@")[2])
        ):
            by_server.setdefault(host, []).append((acct, account_id))
        else:
            single.append(acct)
    for host, items in by_server.items():
        for i in range(0, len(items), ID_BATCH):
            chunk = items[i : i + ID_BATCH]

            def batch(
                found: dict[str, Any] | None,
                chunk: list[tuple[str, str]] = chunk,
                host: str = host,
            ) -> None:
                if found is None:
                    single.extend(acct for acct, _ in chunk)  # this server cannot say
                    return
                software = r.fediverse.software(host) or ""
                for acct, account_id in chunk:
                    entity = found.get(account_id)
                    if entity is not None and _changed(entity, acct.partition("@")[0]):
                        late.append(acct)  # moved or renamed: ask its server
                        continue
                    profile = None
                    if entity is not None and not entity.get("suspended"):
                        profile = account_from_api(entity, acct, software)
                    for key in fedi[acct]:
                        still_there(states[key], "mastodon", profile)

            fut = r.submit(r.fediverse.accounts_by_id, host, [a for _, a in chunk])
            failure[id(fut)] = "mastodon"
            futures.append((fut, sorted({k for a, _ in chunk for k in fedi[a]}), batch))
    r.collect(states, futures, failure)
    futures, failure = [], {}
    for acct in single:
        old = states[fedi[acct][0]].previous["mastodon"]
        actor = old.get("actor")
        if not isinstance(actor, str) or not actor:
            late.append(acct)
            continue

        def alone(found: FediAccount | str | None, acct: str = acct) -> None:
            if found == LOOK_AGAIN:
                late.append(acct)
                return
            profile = found if isinstance(found, FediAccount) else None
            for key in fedi[acct]:
                still_there(states[key], "mastodon", profile)

        page = str(old.get("url") or "")
        fut = r.submit(r.fediverse.recheck_actor, acct, actor, page)
        failure[id(fut)] = "mastodon"
        futures.append((fut, fedi[acct], alone))
    r.collect(states, futures, failure)
    futures, failure = [], {}
    for acct in late:

        def there(found: FediAccount | None, keys: list[str] = fedi[acct]) -> None:
            for key in keys:
                still_there(states[key], "mastodon", found)

        fut = r.submit(r.fediverse.lookup, acct, False, True)
        failure[id(fut)] = "mastodon"
        futures.append((fut, fedi[acct], there))
    r.collect(states, futures, failure)


def still_there(st: State, net: Network, profile: BskyProfile | FediAccount | None) -> None:
    old = st.previous[net]
    if profile is None or not decide_mod.usable(profile):
        st.gone[net] = recheck.gone_match(net, old, "not-found")
        return
    why = contradiction.not_them(st.account, profile)
    if why is not None:
        st.gone[net] = recheck.gone_match(net, old, why)
        return
    ident = decide_mod.ident_of(profile)
    if recheck.ident(net, old) not in (ident.lower(), decide_mod.profile_handle(profile)):
        st.gone[net] = recheck.gone_match(net, old, "moved")  # the new home is kept
    reasons = {r for r in old.get("reasons") or [] if isinstance(r, str)} - {"gone"}
    st.kept[net] = Candidate(
        network=net,
        ident=ident,
        profile=profile,
        reasons=reasons,
        bridged=bool(old.get("bridged")),
        claimed=True,
        level=old["level"],
    )


def _changed(entity: Any, user: str) -> bool:
    """The account answered by id is no longer simply the one asked for: moved, or renamed."""
    return bool(entity.get("moved")) or str(entity.get("username") or "").lower() != user

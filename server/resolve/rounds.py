"""The rounds of one batch (their order is `Resolver.resolve`'s), each a function of the
resolver, which runs the look-ups, and of what the batch has learnt so far (`State`).

A round gathers what to ask across every account of the batch (so one request serves many),
hands it to the resolver's look-up machinery (`Resolver.run`, `submit`, `collect`), which
records each answer as `Found` on the accounts that asked; `decide_all` then judges each
account again. A new source of candidates is a new round here, called from `Resolver.resolve`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from ..core import addresses
from ..core.logsafe import describe
from ..core.models import BskyProfile, Candidate, Clue, FediAccount, Network
from ..core.text import normalize
from ..networks.http import UpstreamUnavailable
from . import decide as decide_mod
from . import recheck, signals
from .decide import Found
from .state import BskyAsk, State

if TYPE_CHECKING:
    from .resolver import Resolver

log = logging.getLogger(__name__)


# -- rounds --------------------------------------------------------------------------------
def named(r: Resolver, states: dict[str, State], nets: tuple[Network, ...]) -> None:
    bsky: dict[str, list[BskyAsk]] = {}
    fedi: dict[tuple[str, bool], list[tuple[str, Clue]]] = {}
    for key, st in states.items():
        for clue in st.clues:
            if clue.network in st.kept:
                continue  # a re-check: what the earlier answer held still exists
            if clue.network == "bluesky" and "bluesky" in nets:
                bsky.setdefault(clue.value, []).append(BskyAsk(key, "clue", clue))
            elif clue.network == "mastodon" and "mastodon" in nets:
                fedi.setdefault((clue.value, clue.bare), []).append((key, clue))
        if "bluesky" in nets and "bluesky" not in st.kept:
            for handle in signals.same_handle_candidates(st.account.handle):
                bsky.setdefault(handle, []).append(BskyAsk(key, "same-handle"))
    r.run(states, bsky, fedi, [])


def software(r: Resolver, states: dict[str, State], nets: tuple[Network, ...]) -> None:
    """Links shaped like another software's profile address (`pixelfed.social/alice`):
    learn each server's software once (NodeInfo, cached) and read the link as that
    software writes profiles; what it is not (a blog's `/about`) is dropped."""
    if "mastodon" not in nets:
        return
    wanted: dict[str, list[tuple[State, signals.PathProfile]]] = {}
    for st in states.values():
        for p in signals.path_profiles(st.account):
            wanted.setdefault(p.host, []).append((st, p))
    jobs = {host: r.submit(r.fediverse.software, host) for host in wanted}
    for host, fut in jobs.items():
        try:
            software = fut.result()
        except Exception as e:  # a server that cannot say is read as none
            log.info("software look-up failed: %s", describe(e))
            continue
        form = signals.PATH_FORMS.get(software or "")
        for st, p in wanted[host]:
            acct = addresses.valid_acct(p.user, host)
            if form is None or p.form != form or acct is None:
                continue
            clue = Clue("mastodon", acct, p.reason, claimed=p.claimed)
            if clue not in st.clues:
                st.clues.append(clue)


def domains(r: Resolver, states: dict[str, State], nets: tuple[Network, ...]) -> None:
    """Domain handles the AppView did not know: ask the domain (HTTPS, then DNS) for its
    DID, then the AppView for that DID; kept only if the AppView shows the same handle.

    A website's domain is asked of the domain itself here only when the profile speaks of
    Bluesky: the AppView already answered for every indexed handle in getProfiles, and
    most websites are no handle at all (see also `_round_search_domains`)."""
    if "bluesky" not in nets:
        return
    domains: dict[str, list[tuple[str, Clue]]] = {}
    for key, st in states.items():
        if "bluesky" in st.failed or "bluesky" in st.kept:
            continue
        seen = {decide_mod.handle_of(f.profile) for f in st.found if f.network == "bluesky"}
        bluesky_said = signals.mentions_bluesky(st.account)
        for clue in st.clues:
            if (
                clue.network == "bluesky"
                and not clue.value.startswith("did:")
                and not clue.value.endswith((".bsky.social", ".brid.gy"))
                and clue.value not in seen
                and (clue.reason != "website-domain-handle" or bluesky_said)
            ):
                domains.setdefault(clue.value, []).append((key, clue))
    if not domains:
        return
    jobs = {d: r.submit(r.bluesky.resolve_domain, d) for d in domains}
    asks: dict[str, list[BskyAsk]] = {}
    for domain, fut in jobs.items():
        try:
            did = fut.result()
        except Exception as e:  # resolve_domain answers None for what it cannot reach
            log.warning("domain look-up failed: %s", describe(e))
            did = None
        if did:
            for key, clue in domains[domain]:
                asks.setdefault(did, []).append(BskyAsk(key, "clue", clue, require_handle=domain))
    futures: list[tuple[Future[Any], list[str], Callable[[Any], None]]] = []
    r.submit_bsky(states, asks, futures)
    r.collect(states, futures, {id(f): "bluesky" for f, _, _ in futures})


def search_domains(r: Resolver, states: dict[str, State], nets: tuple[Network, ...]) -> None:
    """The name search found an account whose handle is the X website's domain: ask the
    domain itself (one request, DNS if HTTPS fails) whether it names that account's DID.
    If so the website is the proof (`website-domain-handle`)."""
    if "bluesky" not in nets:
        return
    wanted: dict[str, list[tuple[State, Clue, BskyProfile]]] = {}
    for st in states.values():
        found = [f for f in st.found if f.network == "bluesky"]
        by_clue = {decide_mod.handle_of(f.profile) for f in found if f.via == "clue"}
        searched = {
            f.profile.handle: f.profile
            for f in found
            if f.via == "name-search" and isinstance(f.profile, BskyProfile)
        }
        for clue in st.clues:
            if (
                clue.reason == "website-domain-handle"
                and clue.value in searched
                and clue.value not in by_clue
            ):
                wanted.setdefault(clue.value, []).append((st, clue, searched[clue.value]))
    jobs = {d: r.submit(r.bluesky.resolve_domain, d) for d in wanted}
    for domain, fut in jobs.items():
        try:
            did = fut.result()
        except Exception as e:  # resolve_domain answers None for what it cannot reach
            log.warning("domain look-up failed: %s", describe(e))
            continue
        for st, clue, profile in wanted[domain]:
            if did and did == profile.did:
                st.found.append(Found("bluesky", profile, "clue", clue))


def cross_asks(
    key: str,
    st: State,
    nets: tuple[Network, ...],
    bsky: dict[str, list[BskyAsk]],
    fedi: dict[tuple[str, bool], list[tuple[str, Clue]]],
) -> None:
    """Addresses on the other network that the person's confirmed profile names (each
    asked once per batch: `st.crossed` remembers them)."""
    known = {(f.network, decide_mod.handle_of(f.profile)) for f in st.found}
    known |= {(c.network, c.value) for c in st.clues} | st.crossed
    b, m = st.best.get("bluesky"), st.best.get("mastodon")
    if (
        b is not None
        and b.level == "confirmed"
        and "mastodon" in nets
        and not b.bridged
        and "mastodon" not in st.kept
    ):
        assert isinstance(b.profile, BskyProfile)
        text = " \n ".join((b.profile.description, *b.profile.links))
        for clue in signals.clues_from_text(text, "bio"):
            if clue.network == "mastodon" and ("mastodon", clue.value) not in known:
                fedi.setdefault((clue.value, clue.bare), []).append((key, clue))
                st.crossed.add(("mastodon", clue.value))
    if (
        m is not None
        and m.level == "confirmed"
        and "bluesky" in nets
        and not m.bridged
        and "bluesky" not in st.kept
    ):
        assert isinstance(m.profile, FediAccount)
        text = " \n ".join([m.profile.note] + [v for _, v in m.profile.fields])
        for clue in signals.clues_from_text(text, "bio"):
            if clue.network == "bluesky" and ("bluesky", clue.value) not in known:
                bsky.setdefault(clue.value, []).append(BskyAsk(key, "cross-link", clue))
                st.crossed.add(("bluesky", clue.value))


def late_cross_links(r: Resolver, states: dict[str, State], nets: tuple[Network, ...]) -> None:
    """Profiles confirmed only by the name search (a link back on a profile found by its
    name) may name the person's account on the other network: asked now."""
    bsky: dict[str, list[BskyAsk]] = {}
    fedi: dict[tuple[str, bool], list[tuple[str, Clue]]] = {}
    for key, st in states.items():
        cross_asks(key, st, nets, bsky, fedi)
    if bsky or fedi:
        r.run(states, bsky, fedi, [])
        decide_all(states, nets)


def linked(
    r: Resolver,
    states: dict[str, State],
    nets: tuple[Network, ...],
    search_as: tuple[str, str] | None = None,
) -> None:
    servers: list[tuple[str, str | None]] = [(s, None) for s in r.settings.fedi_search]
    if search_as is not None:
        servers = [x for x in servers if x[0] != search_as[0]] + [search_as]
    bsky: dict[str, list[BskyAsk]] = {}
    fedi: dict[tuple[str, bool], list[tuple[str, Clue]]] = {}
    searches: list[tuple[str, str]] = []
    link_searches: list[tuple[str, str, str | None]] = []
    for key, st in states.items():
        cross_asks(key, st, nets, bsky, fedi)
        b, m = st.best.get("bluesky"), st.best.get("mastodon")
        if (
            "bluesky" in nets
            and r.settings.name_search
            and "bluesky" not in st.failed
            and (b is None or b.level == "possible")
        ):
            query = search_query(st.account.name)
            if query:
                searches.append((key, query))
        if (
            "mastodon" in nets
            and "mastodon" not in st.failed
            and (m is None or m.level == "possible")
            and len(st.account.handle) >= 3  # a shorter query finds only exact addresses
        ):
            link_searches += [(key, server, token) for server, token in servers]
    r.run(states, bsky, fedi, searches, link_searches)


def bridges(r: Resolver, states: dict[str, State], nets: tuple[Network, ...]) -> None:
    if not r.settings.bridges or len(nets) < 2:
        return
    bsky: dict[str, list[BskyAsk]] = {}
    mirrors: list[tuple[str, BskyProfile, str]] = []
    for key, st in states.items():
        b, m = st.best.get("bluesky"), st.best.get("mastodon")
        weak_b = b is None or b.level == "possible"
        weak_m = m is None or m.level == "possible"
        if (
            weak_b
            and m is not None
            and not weak_m
            and not m.bridged
            and ("bluesky" not in st.failed)
        ):
            handle = addresses.bridged_handle_for_acct(m.ident)
            if handle:
                bsky.setdefault(handle, []).append(BskyAsk(key, "bridge", None, m.ident))
        if (
            weak_m
            and b is not None
            and not weak_b
            and not b.bridged
            and ("mastodon" not in st.failed)
        ):
            assert isinstance(b.profile, BskyProfile)
            mirrors.append((key, b.profile, b.ident))
    if mirrors:
        try:
            opted = r.bridges.opted_in([ident for _, _, ident in mirrors])
        except UpstreamUnavailable:
            opted = None
        if opted is not None:
            mirrors = [m for m in mirrors if m[2] in opted]
    futures: list[tuple[Future[Any], list[str], Callable[[Any], None]]] = []
    r.submit_bsky(states, bsky, futures)
    for key, profile, ident in mirrors:

        def done(acct: FediAccount | None, key: str = key, ident: str = ident) -> None:
            if acct is not None:
                states[key].found.append(Found("mastodon", acct, "bridge", source_ident=ident))

        futures.append((r.submit(r.bridges.fediverse_mirror_of, profile), [key], done))
    r.collect(states, futures, network_of_failure={})


# -- deciding ------------------------------------------------------------------------------
def decide_all(states: dict[str, State], nets: tuple[Network, ...]) -> None:
    for st in states.values():
        best: dict[Network, Candidate | None] = {}
        others: dict[Network, list[Candidate]] = {}
        for net in nets:
            # Judged again only when a round found something new for this account: the
            # verdict depends on the account and what was found alone, and found only grows.
            seen, verdict = st.decided.get(net, (-1, (None, [])))
            if seen != len(st.found):
                verdict = decide_mod.decide_network(st.account, net, st.found)
                st.decided[net] = (len(st.found), verdict)
            best[net], others[net] = verdict[0], list(verdict[1])
        for net, gone in st.gone.items():
            # A cached copy of an account found gone today is no evidence of it.
            dead = {recheck.ident(net, gone), str(gone.get("handle") or "").lower()}
            b = best.get(net)
            if b is not None and {b.ident.lower(), decide_mod.profile_handle(b.profile)} & dead:
                best[net] = None
            others[net] = [
                c
                for c in others.get(net, [])
                if not {c.ident.lower(), decide_mod.profile_handle(c.profile)} & dead
            ]
        for net, kept in st.kept.items():
            if net in nets:  # a re-check: the earlier match, still there
                best[net] = kept
                others[net] = [c for c in others.get(net, []) if c.ident != kept.ident]
        st.best, st.others = decide_mod.add_bridges(best, others, st.found)


def search_query(name: str) -> str | None:
    """The display name as a search query: letters, digits and simple punctuation only,
    lowercase (search is case-insensitive on the AppView, and some index handles only)."""
    text = normalize(name).lower()
    kept = "".join(ch if (ch.isalnum() or ch in " -'.") else " " for ch in text)
    query = " ".join(kept.split())
    return query if len(query.replace(" ", "")) >= 3 else None

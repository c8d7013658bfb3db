"""Orchestrates one batch: from X accounts to answers, in input order, one error per account.

The batch moves in rounds, each one a set of concurrent look-ups (bounded per host by the HTTP
layer), so that requests are shared across all accounts of the batch:
1. the candidates every X profile names, and the same-handle guesses: Bluesky actors batched 25
   per getProfiles call, fediverse accounts each on its own server;
2. links found on the accounts just confirmed (a Bluesky bio naming a Mastodon account and the
   reverse), the name search for accounts still unmatched on Bluesky, and, where the operator
   names large servers (`PASSERELLE_FEDI_SEARCH`), their account search for profiles naming the
   X account of those still unmatched on the fediverse;
3. Bridgy Fed mirrors for people found on one network only.
A re-check first asks whether what the earlier answer held is still there (`still_there`).
`signals` reads the profiles and `decide` judges the evidence; `state` is what a batch learns
of each account; this module only moves data.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..core import addresses
from ..core.cache import RECHECK, Cache, Rechecking
from ..core.config import Settings
from ..core.logsafe import describe
from ..core.models import Account, BskyProfile, Candidate, Clue, FediAccount, Network
from ..core.text import normalize
from ..networks.bluesky import BATCH, Bluesky
from ..networks.bridges import Bridges
from ..networks.fediverse import Fediverse
from ..networks.http import Stats, UpstreamUnavailable, current_stats, session_for
from . import decide as decide_mod
from . import owners, recheck, signals, still_there
from .decide import Found
from .state import BskyAsk, State

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class Resolver:
    """Long-lived: owns the HTTP session, the network clients and the worker threads."""

    def __init__(self, settings: Settings, cache: Cache) -> None:
        self.settings = settings
        self.cache = cache = Rechecking(cache)
        self.session = session_for(settings)
        self.bluesky = Bluesky(
            self.session, settings.bsky_appview, cache, settings.timeout, settings.dns_servers
        )
        self.fediverse = Fediverse(self.session, cache, settings.timeout)
        self.bridges = Bridges(self.fediverse, self.bluesky, cache)
        self.pool = ThreadPoolExecutor(
            max_workers=settings.lookups, thread_name_prefix="passerelle-lookup"
        )

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.session.close()

    # -- the public entry ----------------------------------------------------------------------
    def resolve(
        self,
        accounts: list[Account],
        networks: Iterable[Network] = ("bluesky", "mastodon"),
        host_budget: int | None = None,
        hosts_used: list[int] | None = None,
        search_as: tuple[str, str] | None = None,
        recheck_: bool = False,
        previous: dict[str, dict[Network, dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        """The API response for a list of accounts (see API.md, `POST /api/resolve`).

        `host_budget`: at most that many distinct servers named by outside text are contacted;
        accounts that needed more are answered with an error (ask again: a smaller request, or
        later). `hosts_used` receives how many were contacted. `search_as` is the user's own
        Mastodon server and token: its search is asked too, for those still unmatched on the
        fediverse (link-back search). `recheck_`: a cached "not found" is asked afresh;
        `previous` (by account key: each network's earlier match) marks what is new and what is
        gone, and what it held is reused once checked to still exist (see `recheck`)."""
        nets: tuple[Network, ...] = tuple(n for n in ("bluesky", "mastodon") if n in set(networks))
        stats = Stats(host_budget=host_budget)
        token = current_stats.set(stats)
        fresh = RECHECK.set(recheck_ or previous is not None)
        started = time.monotonic()
        try:
            states: dict[str, State] = {}
            for acc in accounts:
                if acc.key not in states:
                    states[acc.key] = State(acc, signals.extract(acc))
                    states[acc.key].previous = (previous or {}).get(acc.key, {})
            still_there.round_still_there(self, states, nets)
            self._round_software(states, nets)
            self._round_named(states, nets)
            self._round_domains(states, nets)
            self._decide_all(states, nets)
            self._round_linked(states, nets, search_as)
            self._round_search_domains(states, nets)
            self._decide_all(states, nets)
            self._round_late_cross_links(states, nets)
            self._round_bridges(states, nets)
            self._decide_all(states, nets)
        finally:
            RECHECK.reset(fresh)
            current_stats.reset(token)
            if hosts_used is not None:
                hosts_used.append(len(stats.hosts))
        # One destination, one owner within the batch; callers that see a whole list in
        # several batches settle it again over the whole list (the CLI, the results page).
        results = owners.settle([self._answer(states[acc.key], acc, nets) for acc in accounts])
        if previous is not None:
            recheck.mark_new(results, previous)
        return {
            "results": results,
            "stats": {
                "accounts": len(accounts),
                "upstream_requests": stats.upstream_requests,
                "cache_hits": stats.cache_hits,
                "seconds": round(time.monotonic() - started, 3),
            },
        }

    # -- rounds --------------------------------------------------------------------------------
    def _round_named(self, states: dict[str, State], nets: tuple[Network, ...]) -> None:
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
        self._run(states, bsky, fedi, [])

    def _round_software(self, states: dict[str, State], nets: tuple[Network, ...]) -> None:
        """Links shaped like another software's profile address (`pixelfed.social/alice`):
        learn each server's software once (NodeInfo, cached) and read the link as that
        software writes profiles; what it is not (a blog's `/about`) is dropped."""
        if "mastodon" not in nets:
            return
        wanted: dict[str, list[tuple[State, signals.PathProfile]]] = {}
        for st in states.values():
            for p in signals.path_profiles(st.account):
                wanted.setdefault(p.host, []).append((st, p))
        jobs = {host: self._submit(self.fediverse.software, host) for host in wanted}
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

    def _round_domains(self, states: dict[str, State], nets: tuple[Network, ...]) -> None:
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
        jobs = {d: self._submit(self.bluesky.resolve_domain, d) for d in domains}
        asks: dict[str, list[BskyAsk]] = {}
        for domain, fut in jobs.items():
            try:
                did = fut.result()
            except Exception as e:  # resolve_domain answers None for what it cannot reach
                log.warning("domain look-up failed: %s", describe(e))
                did = None
            if did:
                for key, clue in domains[domain]:
                    asks.setdefault(did, []).append(
                        BskyAsk(key, "clue", clue, require_handle=domain)
                    )
        futures: list[tuple[Future[Any], list[str], Callable[[Any], None]]] = []
        self._submit_bsky(states, asks, futures)
        self._collect(states, futures, {id(f): "bluesky" for f, _, _ in futures})

    def _round_search_domains(self, states: dict[str, State], nets: tuple[Network, ...]) -> None:
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
        jobs = {d: self._submit(self.bluesky.resolve_domain, d) for d in wanted}
        for domain, fut in jobs.items():
            try:
                did = fut.result()
            except Exception as e:  # resolve_domain answers None for what it cannot reach
                log.warning("domain look-up failed: %s", describe(e))
                continue
            for st, clue, profile in wanted[domain]:
                if did and did == profile.did:
                    st.found.append(Found("bluesky", profile, "clue", clue))

    @staticmethod
    def _cross_asks(
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

    def _round_late_cross_links(self, states: dict[str, State], nets: tuple[Network, ...]) -> None:
        """Profiles confirmed only by the name search (a link back on a profile found by its
        name) may name the person's account on the other network: asked now."""
        bsky: dict[str, list[BskyAsk]] = {}
        fedi: dict[tuple[str, bool], list[tuple[str, Clue]]] = {}
        for key, st in states.items():
            self._cross_asks(key, st, nets, bsky, fedi)
        if bsky or fedi:
            self._run(states, bsky, fedi, [])
            self._decide_all(states, nets)

    def _round_linked(
        self,
        states: dict[str, State],
        nets: tuple[Network, ...],
        search_as: tuple[str, str] | None = None,
    ) -> None:
        servers: list[tuple[str, str | None]] = [(s, None) for s in self.settings.fedi_search]
        if search_as is not None:
            servers = [x for x in servers if x[0] != search_as[0]] + [search_as]
        bsky: dict[str, list[BskyAsk]] = {}
        fedi: dict[tuple[str, bool], list[tuple[str, Clue]]] = {}
        searches: list[tuple[str, str]] = []
        link_searches: list[tuple[str, str, str | None]] = []
        for key, st in states.items():
            self._cross_asks(key, st, nets, bsky, fedi)
            b, m = st.best.get("bluesky"), st.best.get("mastodon")
            if (
                "bluesky" in nets
                and self.settings.name_search
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
        self._run(states, bsky, fedi, searches, link_searches)

    def _round_bridges(self, states: dict[str, State], nets: tuple[Network, ...]) -> None:
        if not self.settings.bridges or len(nets) < 2:
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
                opted = self.bridges.opted_in([ident for _, _, ident in mirrors])
            except UpstreamUnavailable:
                opted = None
            if opted is not None:
                mirrors = [m for m in mirrors if m[2] in opted]
        futures: list[tuple[Future[Any], list[str], Callable[[Any], None]]] = []
        self._submit_bsky(states, bsky, futures)
        for key, profile, ident in mirrors:

            def done(acct: FediAccount | None, key: str = key, ident: str = ident) -> None:
                if acct is not None:
                    states[key].found.append(Found("mastodon", acct, "bridge", source_ident=ident))

            futures.append((self._submit(self.bridges.fediverse_mirror_of, profile), [key], done))
        self._collect(states, futures, network_of_failure={})

    # -- running look-ups ----------------------------------------------------------------------
    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        ctx = contextvars.copy_context()
        return self.pool.submit(ctx.run, fn, *args)

    def _submit_bsky(
        self,
        states: dict[str, State],
        asks: dict[str, list[BskyAsk]],
        futures: list[tuple[Future[Any], list[str], Callable[[Any], None]]],
    ) -> None:
        if not asks:
            return

        def record(results: dict[str, BskyProfile | None]) -> None:
            for actor, profile in results.items():
                if profile is None:
                    continue
                for ask in asks.get(actor, []):
                    if ask.require_handle and profile.handle != ask.require_handle:
                        continue
                    states[ask.key].found.append(
                        Found("bluesky", profile, ask.via, ask.clue, ask.source_ident)
                    )

        known, todo = self.bluesky.cached_profiles(asks)
        record(known)
        for i in range(0, len(todo), BATCH):
            chunk = todo[i : i + BATCH]
            keys = sorted({a.key for actor in chunk for a in asks[actor]})
            futures.append((self._submit(self.bluesky.fetch_profiles, chunk), keys, record))

    def _run(
        self,
        states: dict[str, State],
        bsky: dict[str, list[BskyAsk]],
        fedi: dict[tuple[str, bool], list[tuple[str, Clue]]],
        searches: list[tuple[str, str]],
        link_searches: Sequence[tuple[str, str, str | None]] = (),
    ) -> None:
        futures: list[tuple[Future[Any], list[str], Callable[[Any], None]]] = []
        failure_net: dict[int, Network] = {}
        self._submit_bsky(states, bsky, futures)
        for f, _, _ in futures:
            failure_net[id(f)] = "bluesky"
        for (acct, bare), askers in fedi.items():

            def done(found: FediAccount | None, askers: list[tuple[str, Clue]] = askers) -> None:
                if found is None:
                    return
                for key, clue in askers:
                    via = (
                        "cross-link"
                        if clue.reason == "bio-handle" and _is_cross(states[key], clue)
                        else "clue"
                    )
                    states[key].found.append(Found("mastodon", found, via, clue))

            fut = self._submit(self.fediverse.lookup, acct, bare)
            failure_net[id(fut)] = "mastodon"
            futures.append((fut, [k for k, _ in askers], done))
        for key, query in searches:

            def got(profiles: list[BskyProfile], key: str = key) -> None:
                for p in profiles:
                    states[key].found.append(Found("bluesky", p, "name-search"))

            fut = self._submit(self.bluesky.search, query)
            failure_net[id(fut)] = "bluesky"
            futures.append((fut, [key], got))
        for key, server, token in link_searches:

            def linked(accounts: list[FediAccount], key: str = key) -> None:
                for a in accounts:
                    states[key].found.append(Found("mastodon", a, "link-search"))

            fut = self._submit(self._link_search, server, states[key].account.handle, token)
            failure_net[id(fut)] = "mastodon"
            futures.append((fut, [key], linked))
        self._collect(states, futures, failure_net)

    def _link_search(
        self, server: str, x_handle: str, token: str | None = None
    ) -> list[FediAccount]:
        """Profiles on the fediverse that name this X account, found through a large server's
        search and then checked on their own server: only what still names the X account there
        counts (a search hit without that proof is a stranger who shares a word)."""
        out = []
        for hit in self.fediverse.search_accounts(server, x_handle, token):
            if not decide_mod.reverse_link(hit, x_handle):
                continue
            own = self.fediverse.lookup(hit.acct)
            if own is not None and decide_mod.reverse_link(own, x_handle):
                out.append(own)
        return out

    def _collect(
        self,
        states: dict[str, State],
        futures: list[tuple[Future[Any], list[str], Callable[[Any], None]]],
        network_of_failure: dict[int, Network],
    ) -> None:
        for fut, keys, on_result in futures:
            try:
                result = fut.result()
            except UpstreamUnavailable as e:
                log.info("upstream unavailable: %s", type(e.__cause__ or e).__name__)
                result = _FAILED
            except Exception as e:  # a server answering nonsense must not fail the batch
                log.warning("look-up failed: %s", describe(e))
                result = _FAILED
            if result is _FAILED:
                net = network_of_failure.get(id(fut))
                for key in keys:
                    states[key].failed.add(net or "bridge")
                continue
            on_result(result)

    # -- deciding ------------------------------------------------------------------------------
    @staticmethod
    def _decide_all(states: dict[str, State], nets: tuple[Network, ...]) -> None:
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

    @staticmethod
    def _answer(st: State, acc: Account, nets: tuple[Network, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {"handle": acc.handle}
        for net in ("bluesky", "mastodon"):
            best = st.best.get(net) if net in nets else None  # type: ignore[call-overload]
            out[net] = best.to_json() if best is not None else None
        out["candidates"] = {
            net: [c.to_json() for c in st.others.get(net, [])] if net in nets else []  # type: ignore[call-overload]
            for net in ("bluesky", "mastodon")
        }
        for net, gone in st.gone.items():
            # Said so: the match itself when nothing else is pre-selected, else a candidate.
            shown = out.get(net)
            if shown is None or shown["level"] not in recheck.PRESELECTED:
                if shown is not None:
                    out["candidates"][net].insert(0, shown)
                out[net] = gone
            else:
                out["candidates"][net].insert(0, gone)
        failed = sorted(n for n in st.failed if n in nets or n == "bridge")
        out["error"] = (
            {
                "code": "upstream-unavailable",
                "message": "could not check " + " and ".join(failed) + "; retry this account later",
            }
            if failed
            else None
        )
        return out


_FAILED = object()


def _is_cross(st: State, clue: Clue) -> bool:
    """A clue that came from the other network's profile, not from the X profile."""
    return clue not in st.clues


def search_query(name: str) -> str | None:
    """The display name as a search query: letters, digits and simple punctuation only,
    lowercase (search is case-insensitive on the AppView, and some index handles only)."""
    text = normalize(name).lower()
    kept = "".join(ch if (ch.isalnum() or ch in " -'.") else " " for ch in text)
    query = " ".join(kept.split())
    return query if len(query.replace(" ", "")) >= 3 else None

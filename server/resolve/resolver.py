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
Each round is a function in `rounds`; this module holds their order and the look-up machinery
they share (a thread pool, `run`/`submit`/`collect`, answers recorded on each account's
`State`). `signals` reads the profiles and `decide` judges the evidence.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..core.cache import RECHECK, Cache, Rechecking
from ..core.config import Settings
from ..core.logsafe import describe
from ..core.models import Account, BskyProfile, Clue, FediAccount, Network
from ..networks.bluesky import BATCH, Bluesky
from ..networks.bridges import Bridges
from ..networks.fediverse import Fediverse
from ..networks.http import Stats, UpstreamUnavailable, current_stats, session_for
from . import decide as decide_mod
from . import owners, recheck, rounds, signals, still_there
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
            rounds.software(self, states, nets)
            rounds.named(self, states, nets)
            rounds.domains(self, states, nets)
            rounds.decide_all(states, nets)
            rounds.linked(self, states, nets, search_as)
            rounds.search_domains(self, states, nets)
            rounds.decide_all(states, nets)
            rounds.late_cross_links(self, states, nets)
            rounds.bridges(self, states, nets)
            rounds.decide_all(states, nets)
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

    # -- running look-ups ----------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        ctx = contextvars.copy_context()
        return self.pool.submit(ctx.run, fn, *args)

    def submit_bsky(
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
            futures.append((self.submit(self.bluesky.fetch_profiles, chunk), keys, record))

    def run(
        self,
        states: dict[str, State],
        bsky: dict[str, list[BskyAsk]],
        fedi: dict[tuple[str, bool], list[tuple[str, Clue]]],
        searches: list[tuple[str, str]],
        link_searches: Sequence[tuple[str, str, str | None]] = (),
    ) -> None:
        futures: list[tuple[Future[Any], list[str], Callable[[Any], None]]] = []
        failure_net: dict[int, Network] = {}
        self.submit_bsky(states, bsky, futures)
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

            fut = self.submit(self.fediverse.lookup, acct, bare)
            failure_net[id(fut)] = "mastodon"
            futures.append((fut, [k for k, _ in askers], done))
        for key, query in searches:

            def got(profiles: list[BskyProfile], key: str = key) -> None:
                for p in profiles:
                    states[key].found.append(Found("bluesky", p, "name-search"))

            fut = self.submit(self.bluesky.search, query)
            failure_net[id(fut)] = "bluesky"
            futures.append((fut, [key], got))
        for key, server, token in link_searches:

            def linked(accounts: list[FediAccount], key: str = key) -> None:
                for a in accounts:
                    states[key].found.append(Found("mastodon", a, "link-search"))

            fut = self.submit(self._link_search, server, states[key].account.handle, token)
            failure_net[id(fut)] = "mastodon"
            futures.append((fut, [key], linked))
        self.collect(states, futures, failure_net)

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

    def collect(
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

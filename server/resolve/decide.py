"""Pure: from verified evidence to one match per network, its level and every reason for it.

The rules, in order of strength (MATCHING.md):
- `confirmed`: proof. The destination profile names this X account (`reverse-link`), or the X
  profile names the destination as the person's own: in the display name, the website, a sole
  profile link, after a label such as 🦋 or "Mastodon:", or a mention whose name or handle is the
  person's (so "journalist at @lemonde.fr" does not make Le Monde the journalist's account).
- `likely`: strong circumstantial evidence: the same handle and the same name.
- `possible`: anything weaker (a name-search hit, the same handle alone, an unclaimed mention),
  and an address the X profile ties to another party ("Bénévole chez @asso…", an organisation's
  account on a person's profile): `other-party`.
Two accounts tied at the top of one network are ambiguous: both fall to `possible`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core import addresses
from ..core.models import LEVELS, Account, BskyProfile, Candidate, Clue, FediAccount, Level, Network
from . import contradiction, signals
from .similarity import CLOSE, SAME, affinity, looks_like_org, name_similarity, same_handle

PROFILE_CLUE_REASONS = frozenset({"name-handle", "bio-handle", "bio-url", "website"})
MAX_CANDIDATES = 5


@dataclass(frozen=True)
class Found:
    """One verified profile and how it was reached.

    `via` is `clue` (named by the X profile; `clue` set), `same-handle` (a guessed handle),
    `name-search`, `cross-link` (named by the person's confirmed profile on the other network;
    `clue` set, `claimed` from that profile's wording), or `bridge` (the Bridgy Fed mirror of
    `source_ident` on the other network).
    """

    network: Network
    profile: BskyProfile | FediAccount
    via: str
    clue: Clue | None = None
    source_ident: str | None = None


def _own(profile: FediAccount) -> bool:
    """Read from the account's own server (its id there, or its actor), not a copy."""
    return bool(profile.id or profile.actor)


def ident_of(profile: BskyProfile | FediAccount) -> str:
    return profile.did if isinstance(profile, BskyProfile) else profile.acct


def handle_of(profile: BskyProfile | FediAccount) -> str:
    return profile.handle if isinstance(profile, BskyProfile) else profile.acct


def profile_handle(profile: BskyProfile | FediAccount) -> str:
    """The handle (or address) as compared across answers: lowercase."""
    return handle_of(profile).lower()


def usable(profile: BskyProfile | FediAccount) -> bool:
    """Profiles that are never a match: broken handles, impersonators, X mirrors."""
    if isinstance(profile, BskyProfile):
        if profile.handle == "handle.invalid" or not profile.handle:
            return False
        return not any(lb in ("impersonation", "!takedown", "!hide") for lb in profile.labels)
    return not addresses.is_x_mirror(profile.acct)


def is_bridged(profile: BskyProfile | FediAccount) -> bool:
    if isinstance(profile, BskyProfile):
        return profile.handle.endswith((addresses.BRIDGY_AP_SUFFIX, addresses.BRIDGY_WEB_SUFFIX))
    return profile.acct.endswith("@" + addresses.BRIDGY_BSKY)


def reverse_link(profile: BskyProfile | FediAccount, x_handle: str) -> bool:
    """The destination names the X account back: proof that it is the same person."""
    if isinstance(profile, BskyProfile):
        return signals.names_x_handle(profile.description, x_handle) or any(
            signals.names_x_handle(link, x_handle) for link in profile.links
        )
    if signals.names_x_handle(profile.note, x_handle):
        return True
    return any(signals.field_names_x_handle(n, v, x_handle) for n, v in profile.fields)


def other_party(x_name: str, dest_name: str, aff: float) -> bool:
    """One side is an organisation, the other a person, and their names are not alike."""
    if not x_name or not dest_name or aff >= SAME:
        return False
    return looks_like_org(x_name) != looks_like_org(dest_name)


def _level(c: Candidate, aff: float, clue_claimed: bool, has_clue: bool) -> Level:
    if "reverse-link" in c.reasons:
        return "confirmed"
    if has_clue:
        # A mention is the person's own when the profile says so or the names agree; a name
        # that is merely close ("Linh Laurent" for "Linh Lambert") is a colleague as often as not.
        if clue_claimed or aff >= SAME:
            return "confirmed"
        return "possible"
    if "same-handle" in c.reasons and "same-name" in c.reasons:
        return "likely"
    return "possible"


def _doubt(account: Account, c: Candidate, has_clue: bool, found: list[Found]) -> None:
    """A claim from one side counts only if the other side does not contradict it
    (`contradiction`): a profile that says it is not the person, or is automated, is never
    pre-selected; an address named on X that today shows someone else is at most `possible`.
    Judged only for what would be pre-selected, from what the look-ups already fetched."""
    why = contradiction.not_them(account, c.profile)
    if why is not None:
        c.level = "possible"
        c.reasons.add(why)
        return
    if not has_clue or c.level != "confirmed":
        return
    named = {f.clue.value for f in found if f.via == "clue" and f.clue is not None}
    if contradiction.unlike(
        account,
        c.profile,
        linked_back="reverse-link" in c.reasons,
        cross_linked="cross-link" in c.reasons,
        other_addresses=named - {c.ident, handle_of(c.profile)},
    ):
        c.level = "possible"
        c.reasons.add("nothing-in-common")


def _rank(c: Candidate) -> tuple[int, int, float, int]:
    return (
        -LEVELS.index(c.level),
        int("reverse-link" in c.reasons),
        c.score,
        len(c.reasons),
    )


def decide_network(
    account: Account, network: Network, found: list[Found]
) -> tuple[Candidate | None, list[Candidate]]:
    """The best candidate on one network (or None) and the other plausible ones, best first."""
    by_ident: dict[str, list[Found]] = {}
    for f in found:
        if f.network == network and f.via != "bridge" and usable(f.profile):
            by_ident.setdefault(ident_of(f.profile), []).append(f)
    cands: list[Candidate] = []
    for ident, items in by_ident.items():
        # The account as its own server describes it (with the id or actor a re-check asks by)
        # rather than a search's copy of it from another server.
        profile = next(
            (f.profile for f in items if isinstance(f.profile, FediAccount) and _own(f.profile)),
            items[0].profile,
        )
        c = Candidate(network=network, ident=ident, profile=profile)
        has_clue = False
        claimed = False
        related_only = True  # every clue to it names it as someone else's
        for f in items:
            if f.via in ("clue", "cross-link") and f.clue is not None:
                c.reasons.add(f.clue.reason if f.via == "clue" else "cross-link")
                has_clue = True
                claimed = claimed or f.clue.claimed
                related_only = related_only and f.clue.related
            elif f.via == "name-search":
                c.reasons.add("name-search")
            elif f.via == "link-search":
                c.reasons.add("link-search")
        dest_handle = handle_of(profile)
        if same_handle(account.handle, dest_handle):
            c.reasons.add("same-handle")
        if name_similarity(account.name, profile.display_name) >= SAME:
            c.reasons.add("same-name")
        if reverse_link(profile, account.handle):
            c.reasons.add("reverse-link")
        if is_bridged(profile):
            c.bridged = True
            c.reasons.add("bridged")
        aff = affinity(account.handle, account.name, dest_handle, profile.display_name)
        c.claimed = claimed
        c.level = _level(c, aff, claimed, has_clue)
        c.score = aff
        if (
            has_clue
            and "reverse-link" not in c.reasons
            and (related_only or other_party(account.name, profile.display_name, aff))
        ):
            # "Bénévole chez @asso…", or a person's profile naming an organisation's account:
            # someone else's account, shown for review only.
            c.level = "possible"
            c.reasons.add("other-party")
        if c.level != "possible":
            _doubt(account, c, has_clue, found)
        cands.append(c)
    cands.sort(key=_rank, reverse=True)
    _break_ties(cands, account)
    if not cands:
        return None, []
    others = cands[1 : 1 + MAX_CANDIDATES]
    for c in others:
        c.level = "possible"  # only the match is pre-selected; the rest are for review
    return cands[0], others


def on_threads(c: Candidate) -> bool:
    """A Threads account seen from the fediverse (`@user@threads.net`)."""
    return c.network == "mastodon" and c.ident.lower().endswith(addresses.THREADS_SUFFIXES)


def _named_by_x(c: Candidate) -> bool:
    """Named as the person's own by the X profile itself (not only found or linked back)."""
    return bool(c.reasons & PROFILE_CLUE_REASONS) and "other-party" not in c.reasons


def _bucket(aff: float) -> int:
    """Affinity in coarse steps: string ratios below `CLOSE` are noise, not a preference."""
    return 2 if aff >= SAME else 1 if aff >= CLOSE else 0


def _break_ties(cands: list[Candidate], account: Account) -> None:
    """Two different accounts both pre-selectable and not clearly apart: trust neither."""
    if len(cands) < 2:
        return
    top, second = cands[0], cands[1]
    if top.level == "possible" or second.level != top.level:
        return
    if "reverse-link" in top.reasons and "reverse-link" not in second.reasons:
        return
    if _bucket(top.score) > _bucket(second.score):
        return
    if top.claimed and not second.claimed and top.level == "confirmed":
        return
    if top.level == "confirmed" and _named_by_x(top) and _named_by_x(second):
        # "🦋 perso : a.bsky.social · pro : b.bsky.social": the X profile names both as the
        # person's own (and neither shows someone else): both are theirs; the first named
        # stays the match (read again here: ties are rare), the other is a candidate.
        named = [c for c in cands if c.level == "confirmed" and _named_by_x(c)]
        where = {(c.network, c.value): i for i, c in enumerate(signals.extract(account))}

        def position(c: Candidate) -> int:
            keys = {(c.network, c.ident.lower()), (c.network, handle_of(c.profile).lower())}
            return min((where[k] for k in keys if k in where), default=len(where))

        first = min(named, key=position)
        for c in cands:
            if c is not first:
                c.level = "possible"
        cands.sort(key=_rank, reverse=True)
        return
    tied = top.level
    native = [c for c in cands if c.level == tied and not on_threads(c)]
    if len(native) == 1 and all(c.level != tied or c is native[0] or on_threads(c) for c in cands):
        # "I mostly hang out on mastodon.social/@me, but sometimes threads.net/@me": the Threads
        # account mirrors an Instagram one; the fediverse account of their own is their match.
        for c in cands:
            if c is not native[0] and c.level == tied:
                c.level = "possible"
        cands.sort(key=_rank, reverse=True)
        return
    for c in cands:
        if c.level == tied:
            c.level = "possible"
    cands.sort(key=_rank, reverse=True)


def add_bridges(
    best: dict[Network, Candidate | None],
    others: dict[Network, list[Candidate]],
    found: list[Found],
) -> tuple[dict[Network, Candidate | None], dict[Network, list[Candidate]]]:
    """Offer the Bridgy Fed mirror of the person's account on the other network.

    The mirror is the same person as the matched account, so it takes that account's level and
    reasons, plus `bridged`. A native account the person has (pre-selectable) stays their match
    on that network and the mirror is listed among the candidates: following both would bring
    every post twice. A native account that is only `possible` (maybe a stranger) gives way to
    the mirror and stays among the candidates. Whether a mirror is *followed* by default is the
    caller's choice: the extension ticks it only for a user who says they use that network
    alone.
    """
    out = dict(best)
    cands = {net: list(others.get(net, [])) for net in best}
    for f in found:
        if f.via != "bridge" or not usable(f.profile) or f.network not in out:
            continue
        other: Network = "mastodon" if f.network == "bluesky" else "bluesky"
        source = out.get(other)
        if source is None or source.ident != f.source_ident or source.bridged:
            continue
        mirror = Candidate(
            network=f.network,
            ident=ident_of(f.profile),
            profile=f.profile,
            reasons=set(source.reasons) | {"bridged"},
            bridged=True,
            claimed=source.claimed,
            level=source.level,
            score=source.score,
        )
        current = out.get(f.network)
        if current is not None and current.ident == mirror.ident:
            if current.level == "possible":  # found weakly (a name search): now proven
                mirror.reasons |= current.reasons
                out[f.network] = mirror
            continue
        if current is not None and current.level != "possible":
            mirror.level = "possible"  # the native account is their match here
            cands[f.network] = [mirror, *cands[f.network]][:MAX_CANDIDATES]
            continue
        if current is not None:
            cands[f.network] = [current, *cands[f.network]][:MAX_CANDIDATES]
        out[f.network] = mirror
    return out, cands


def decide(
    account: Account, found: list[Found], networks: tuple[Network, ...]
) -> tuple[dict[Network, Candidate | None], dict[Network, list[Candidate]]]:
    """Best match and other candidates for every requested network."""
    best: dict[Network, Candidate | None] = {}
    others: dict[Network, list[Candidate]] = {}
    for net in networks:
        best[net], others[net] = decide_network(account, net, found)
    return add_bridges(best, others, found)

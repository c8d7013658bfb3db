"""Pure: read an X profile and list the destination accounts it names, with where each was found.

No I/O here (see ARCHITECTURE.md): this is where precision is won, so every rule is a small
function tested by tables in `tests/test_signals.py`. Pitfalls handled (MATCHING.md): e-mail
addresses, links cut with "…", Unicode look-alikes, IDN hosts, underscores, X mirrors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from ..core.addresses import DID as _DID
from ..core.addresses import (
    MAIL_HOSTS,
    NOT_FEDIVERSE,
    X_MIRRORS,
    ascii_host,
    bsky_handle_behind_bridge,
    valid_acct,
    valid_bsky_handle,
    valid_did,
    valid_username,
)
from ..core.addresses import USER as _USER
from ..core.hosts import split_url
from ..core.models import Account, Clue
from ..core.text import normalize

# ---------------------------------------------------------------------------------------------
# Building blocks. Every quantifier is bounded so no input backtracks catastrophically.
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_HOST = rf"(?:{_LABEL}\.){{1,8}}(?:[^\W\d_]{{2,63}}|xn--[a-z0-9-]{{1,59}})"
_TRUNC = r"(?:\.\.\.|…)"  # X cuts long links with an ellipsis; NFKC makes it three dots


# A fediverse profile URL: host/@user (optionally @user@otherhost), host/users/user, or
# Mastodon's web app host/web/@user; a final slash is the same page (host/@user/123 is a post).
_FEDI_URL = re.compile(
    rf"(?<![\w.@/-])(?:https?://)?(?P<host>{_HOST})"
    rf"/(?:web/)?(?:@(?P<user>{_USER})(?:@(?P<remote>{_HOST}))?|users/(?P<user2>{_USER}))"
    rf"/?(?P<trunc>{_TRUNC})?(?![\w@/-])",
    re.IGNORECASE,
)
_BSKY_URL = re.compile(
    rf"(?<![\w.@/-])(?:https?://)?(?:www\.)?(?:bsky\.app|staging\.bsky\.app)/profile/"
    rf"(?P<actor>{_DID}|{_HOST})/?(?P<trunc>{_TRUNC})?(?![\w/-]|\.\w)",
    re.IGNORECASE,
)
# "Bluesky/alice.bsky.social", "Mastodon/@alice@piaille.fr": a label and a slash, read as a
# label and a space (one character for one: positions stay).
_LABEL_SLASH = re.compile(
    r"(?<![\w./])(bluesky|bsky|mastodon|masto|fediverse|fédiverse|fédivers|fedi)/(?=[@\w])",
    re.IGNORECASE,
)
_FEDI_HANDLE = re.compile(
    rf"(?<![\w.@/+-])(?P<at>@)?(?P<user>{_USER})@(?P<host>{_HOST})(?P<trunc>{_TRUNC})?(?![\w@-]|\.\w)",
    re.IGNORECASE,
)
_BSKY_MENTION = re.compile(
    rf"(?<![\w.@/-])@(?P<handle>{_HOST})(?P<trunc>{_TRUNC})?(?![\w@/-]|\.\w)",
    re.IGNORECASE,
)
_BSKY_SOCIAL = re.compile(
    r"(?<![\w.@/-])(?P<handle>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.bsky\.social)"
    rf"(?P<trunc>{_TRUNC})?(?![\w@/-]|\.\w)",
    re.IGNORECASE,
)
# "🦋 alice.fr", "Bluesky: alice.fr": a bare domain handle needs a Bluesky label before it.
_BSKY_LABELLED = re.compile(
    rf"(?:🦋|\bbluesky\b|\bbsky\b)[\s:\-–—=>→]{{0,4}}(?P<handle>{_HOST})(?P<trunc>{_TRUNC})?(?![\w@/-]|\.\w)",
    re.IGNORECASE,
)
_DID_ANYWHERE = re.compile(rf"(?<![\w:])(?P<did>{_DID})(?![\w])", re.IGNORECASE)

# Words or symbols that present an account as the person's own ("me on Bluesky", "🦋 …").
_CLAIM = re.compile(
    r"🦋|🐘|📷|📸|\b(?:bluesky|bsky|mastodon|masto|pixelfed|fediverse|fédiverse|fédivers|fedivers|fedi|also|aussi|moved|migrated|"
    r"désormais|desormais|retrouvez[- ]moi|find me|follow me|suivez[- ]moi|me suivre|"
    r"elsewhere|ailleurs|perso|personal|backup|new account|nouveau compte|mon compte|my account|"
    r"pro|boulot|taf|work)\b",
    re.IGNORECASE,
)
_CLAIM_WINDOW = 30
_ADDRESS_LIKE = re.compile(r"\S{0,300}[.@/]\S{0,300}")

# Words that tie the address after them to *another* party: the person works there, belongs to
# it, founded it, supports it. Read at the end of the clause before the address, once the
# labels in between are set aside ("Co-fondatrice de 🦋 asso.org"). Hand-written table of
# phrasings and expected levels: tests/tables/whose_account.md.
_AFFILIATION = (
    r"membre|member|bénévole|benevole|volunteer|présidente?|president|"
    r"co-?fondat(?:eur|rice)|fondat(?:eur|rice)|co-?founder|founder|"
    r"administrat(?:eur|rice)|admin"
)
_RELATION_END = re.compile(
    r"(?:^|[^\w'’])(?:de|d['’]|du|des|chez|pour|avec|à|au|aux|at|for|with|of|"
    r"soutenez|soutenir|rejoignez|rejoins|rejoindre|adhérez|join|support|"
    rf"{_AFFILIATION})\s*$",
    re.IGNORECASE,
)
# An affiliation anywhere in the clause: "Présidente de l'asso @velo…".
_AFFILIATION_IN_CLAUSE = re.compile(
    rf"(?<![\w-])(?:ex-?)?(?:{_AFFILIATION})(?![\w-])", re.IGNORECASE
)
# …unless the clause says it is the person themselves: "find me at", "moi aussi sur".
_SELF_AT_END = re.compile(
    r"\b(?:me|moi|myself|also|aussi|i'?m|je suis)\s+(?:at|à|on|sur|chez|with|avec)\s*$",
    re.IGNORECASE,
)
# What may stand between such a word and the address without undoing it: labels and signs.
_LABELS_AT_END = re.compile(
    r"(?:[\s:\-–—=>→«»\"'“”(]|🦋|🐘|@|\b(?:bluesky|bsky|mastodon|masto|fediverse|fédiverse|"
    r"sur|on)\b)*$",
    re.IGNORECASE,
)
# Where a clause ends: what comes before belongs to another sentence.
_CLAUSE_BREAK = re.compile(r"[\n|•·;,.!?]\s|[\n|•·;]")
_RELATION_WINDOW = 60

# Labels of a `user@domain` that is no fediverse account, read just before it: e-mail, Nostr
# (NIP-05) and Lightning addresses share the form ("Nostr: me@example.com", "⚡: me@wallet.com").
_OTHER_ADDRESS_LABEL = re.compile(
    r"(?:\b(?:nostr|nip-?05|lightning|ln|lnurl|e-?mail|mail|courriel|contact|booking|"
    r"business|inquiries|enquiries|paypal)\b|⚡|📧|✉|📩|📨|📬|💌)\W{0,4}$",
    re.IGNORECASE,
)


def same_handle_candidates(x_handle: str) -> list[str]:
    """Bluesky handles that would be "the same handle" as the X one.

    X allows `_`, Bluesky does not: `alice_m` may be `alice-m` or `alicem`. bsky.social names
    are 3 to 18 characters.
    """
    h = normalize(x_handle).lower().lstrip("@")
    variants = [h] if "_" not in h else [h.replace("_", "-").strip("-"), h.replace("_", "")]
    out = []
    for v in variants:
        if 3 <= len(v) <= 18 and "--" not in v:
            handle = valid_bsky_handle(f"{v}.bsky.social")
            if handle and handle not in out:
                out.append(handle)
    return out


# ---------------------------------------------------------------------------------------------
# Extraction.
# A label in brackets just after the address: "@a (perso) et @b (boulot)".
_CLAIM_AFTER = re.compile(
    r"\s{0,2}[(\[]\s{0,2}(?:perso|personnel|personal|pro|professionnel|boulot|travail|taf|work|"
    r"main|principal|alt|backup|officiel|official|moi|me)\s{0,2}[)\]]",
    re.IGNORECASE,
)


def _claimed_near(text: str, start: int, end: int) -> bool:
    window = text[max(0, start - _CLAIM_WINDOW) : start]
    # Other handles and URLs in the window ("@bob.bsky.social, @alice…") are not labels.
    window = _ADDRESS_LIKE.sub(" ", window)
    return (
        bool(_CLAIM.search(window))
        or bool(_CLAIM_AFTER.match(text, end))
        or _alone_on_its_line(text, start, end)
    )


# What parts a bio the way lines do: "he/him | … | dm for private | alice.bsky.social".
_SEGMENT_BREAK = re.compile(r"\n|\s[|•·]\s")


def _alone_on_its_line(text: str, start: int, end: int) -> bool:
    """An address on a line of its own, or alone between the bars or bullets that part a bio
    (labels aside), is how people give their own."""
    breaks = [(m.start(), m.end()) for m in _SEGMENT_BREAK.finditer(text)]
    line_start = max((e for s, e in breaks if e <= start), default=0)
    line_end = min((s for s, e in breaks if s >= end), default=len(text))
    if line_start == 0 and line_end == len(text):
        return False  # a one-part bio is not a part of its own
    rest = text[line_start:start] + " " + text[end:line_end]
    return not _LABELS_AT_END.sub("", rest.strip()).strip(" .,;!")


def related_before(text: str, start: int) -> bool:
    """True when the clause before `start` ties what follows to another party ("membre de",
    "at", "soutenez"…), once labels such as 🦋 or "Mastodon :" are set aside.

    The clause starts after the last break or the last other address: in "Ex-membre de
    @parti.fr — 🦋 alice.fr" the relation belongs to the party, not to alice.fr."""
    window = text[max(0, start - _RELATION_WINDOW) : start]
    cut = 0
    for m in _CLAUSE_BREAK.finditer(window):
        cut = m.end()
    for m in _ADDRESS_LIKE.finditer(window):
        cut = max(cut, m.end())
    clause = _LABELS_AT_END.sub("", window[cut:])
    if _SELF_AT_END.search(clause):
        return False
    return bool(_RELATION_END.search(clause) or _AFFILIATION_IN_CLAUSE.search(clause))


def _bsky_actor(raw: str) -> str | None:
    if raw.lower().startswith("did:"):
        return valid_did(raw)
    return valid_bsky_handle(raw)


def clues_from_text(text: str, where: str) -> list[Clue]:
    """Every handle or profile URL in one piece of text.

    `where` is `name` or `bio`: a clue in the display name is always the person's own; one in
    the bio is theirs when a label or verb says so (see `_CLAIM`).
    """
    text = normalize(text)
    if not text:
        return []
    text = _LABEL_SLASH.sub(r"\1 ", text)
    clues: list[Clue] = []
    taken: list[tuple[int, int]] = []
    handle_reason = "name-handle" if where == "name" else "bio-handle"
    url_reason = "name-handle" if where == "name" else "bio-url"

    def free(m: re.Match[str]) -> bool:
        s, e = m.span()
        return all(e <= a or s >= b for a, b in taken)

    def claim(m: re.Match[str]) -> bool:
        return where == "name" or _claimed_near(text, m.start(), m.end())

    def related(m: re.Match[str]) -> bool:
        return where != "name" and related_before(text, m.start())

    for m in _BSKY_URL.finditer(text):
        taken.append(m.span())
        if m["trunc"]:
            continue
        actor = _bsky_actor(m["actor"])
        if actor:
            clues += _tied([Clue("bluesky", actor, url_reason, claimed=True)], related(m))
    for m in _FEDI_URL.finditer(text):
        if not free(m):
            continue
        taken.append(m.span())
        if m["trunc"]:
            continue
        user = m["user"] or m["user2"]
        host = m["remote"] or m["host"]
        if m["host"].lower().endswith("bsky.app"):
            continue
        acct = valid_acct(user, host)
        if acct:
            clues += _tied(_fedi_clues(acct, url_reason, claimed=True), related(m))
    for m in _FEDI_HANDLE.finditer(text):
        if not free(m):
            continue
        taken.append(m.span())
        if m["trunc"]:
            continue
        acct = valid_acct(m["user"], m["host"])
        if not acct:
            continue
        bare = not m["at"]
        if bare and (
            acct.partition("@")[2] in MAIL_HOSTS or _OTHER_ADDRESS_LABEL.search(text[: m.start()])
        ):
            continue
        found = _fedi_clues(acct, handle_reason, claimed=claim(m), bare=bare)
        clues += _tied(found, related(m))
    for pattern in (_BSKY_MENTION, _BSKY_SOCIAL, _BSKY_LABELLED):
        for m in pattern.finditer(text):
            if not free(m):
                continue
            taken.append(m.span())
            if m["trunc"]:
                continue
            handle = valid_bsky_handle(m["handle"])
            if handle:
                claimed = claim(m) or pattern is _BSKY_LABELLED
                clues += _tied(_bsky_clues(handle, handle_reason, claimed=claimed), related(m))
    for m in _DID_ANYWHERE.finditer(text):
        if not free(m):
            continue
        did = valid_did(m["did"])
        if did:
            clues += _tied([Clue("bluesky", did, handle_reason, claimed=claim(m))], related(m))
    return clues


def _tied(clues: list[Clue], related: bool) -> list[Clue]:
    """Clues of an address the text ties to another party: not claimed, whatever the label."""
    if not related:
        return clues
    return [
        Clue(c.network, c.value, c.reason, claimed=False, bare=c.bare, related=True) for c in clues
    ]


def _bsky_clues(handle: str, reason: str, claimed: bool) -> list[Clue]:
    """A Bluesky handle (a `…ap.brid.gy` one is marked bridged later, by `decide`)."""
    return [Clue("bluesky", handle, reason, claimed=claimed)]


def _fedi_clues(acct: str, reason: str, claimed: bool, bare: bool = False) -> list[Clue]:
    """A fediverse acct; one on bsky.brid.gy also names the Bluesky account behind the bridge."""
    clues = [Clue("mastodon", acct, reason, claimed=claimed, bare=bare)]
    behind = bsky_handle_behind_bridge(acct)
    if behind:
        clues.append(Clue("bluesky", behind, reason, claimed=claimed))
    return clues


def clues_from_url(url: str, reason: str) -> list[Clue]:
    """A full URL (the website or an expanded bio link): a profile URL, or nothing."""
    url = normalize(url).strip()
    if not url:
        return []
    parts = split_url(url)
    host = ascii_host(parts.hostname or "") if parts else None
    if parts is None or host is None:
        return []
    path = unquote(parts.path or "")
    handle = valid_bsky_handle(host) if host.endswith(".bsky.social") else None
    if handle and path in ("", "/"):
        # "https://alice.bsky.social": a Bluesky handle written as a web address.
        return [Clue("bluesky", handle, reason, claimed=True, bare=False)]
    rebuilt = f"https://{host}{path}"
    found = [c for c in clues_from_text(rebuilt, "bio") if c.reason in ("bio-url", "bio-handle")]
    return [Clue(c.network, c.value, reason, claimed=True, bare=False) for c in found]


def website_domain(url: str | None) -> str | None:
    """The website's domain, which may be a Bluesky handle: `https://alice.fr/` and
    `http://www.alice.fr/blog` may both be handle `alice.fr` (a page of a site is still the
    site's). Never itself proof: `decide` wants the names to agree."""
    if not url:
        return None
    url = normalize(url).strip()
    parts = split_url(url)
    if parts is None:
        return None
    host = ascii_host(parts.hostname or "")
    if host is None:
        return None
    if host.startswith("www."):
        host = host[4:]
    handle = valid_bsky_handle(host)
    if handle is None or handle in NOT_FEDIVERSE or handle.endswith(".bsky.social"):
        return None
    return handle


# ---------------------------------------------------------------------------------------------
# Addresses whose shape depends on the server's software: Pixelfed writes a profile as
# `host/user` (granary's `Pixelfed.user_url`), Lemmy and Mbin as `host/u/user`, Friendica as
# `host/profile/user`. Such a link is read only once the server's software is known (NodeInfo,
# asked once per server and cached), and asked only where something says it may be a fediverse
# server: a host named after the software, or a profile speaking of the fediverse.
PATH_FORMS = {"pixelfed": "", "lemmy": "u/", "mbin": "u/", "friendica": "profile/"}
_PATH_URL = re.compile(
    rf"(?<![\w.@/-])(?:https?://)?(?P<host>{_HOST})/(?P<form>u/|profile/)?(?P<user>{_USER})/?"
    rf"(?P<trunc>{_TRUNC})?(?![\w@/.-])",
    re.IGNORECASE,
)
_SOFTWARE_HOST = re.compile(r"pixelfed|pixey|pxlmo|lemmy|friendica|mbin|kbin", re.IGNORECASE)
_FEDI_WORDS = re.compile(
    r"🐘|\b(?:pixelfed|fediverse|fédiverse|fédivers|fedi|mastodon|lemmy|friendica)\b", re.IGNORECASE
)
# Where `host/name` is never a fediverse profile (besides NOT_FEDIVERSE).
_PATH_SITES = frozenset(
    {
        "patreon.com",
        "ko-fi.com",
        "paypal.me",
        "buymeacoffee.com",
        "gofundme.com",
        "t.me",
        "wa.me",
        "discord.gg",
        "spotify.com",
        "open.spotify.com",
        "flickr.com",
        "tumblr.com",
    }
)


@dataclass(frozen=True)
class PathProfile:
    """`host/user` (or `host/u/user`…) that is a profile if `host` runs software writing its
    profile addresses that way; `form` is the path before the user ("", "u/", "profile/")."""

    host: str
    user: str
    form: str
    reason: str
    claimed: bool


def path_profiles(account: Account) -> list[PathProfile]:
    """Links of the X profile shaped like a profile address of some fediverse software, worth
    learning the server's software for (see `PATH_FORMS`)."""
    spoken = bool(_FEDI_WORDS.search(normalize(account.name) + " " + normalize(account.bio)))
    out: list[PathProfile] = []
    sources = [(account.bio, "bio-url", False)]
    if account.url:
        sources.append((account.url, "website", True))
    sources += [(link, "bio-url", True) for link in account.links]
    for text, reason, whole in sources:
        text = normalize(text)
        for m in _PATH_URL.finditer(text):
            if m["trunc"]:
                continue
            host = ascii_host(m["host"])
            user = m["user"].lower()
            if host is None or host in NOT_FEDIVERSE or host in _PATH_SITES or host in X_MIRRORS:
                continue
            if host.endswith(("bsky.app", "bsky.social")) or not valid_username(user):
                continue
            if not (spoken or _SOFTWARE_HOST.search(host)):
                continue
            claimed = whole or _claimed_near(text, m.start(), m.end())
            out.append(PathProfile(host, user, (m["form"] or "").lower(), reason, claimed))
    return out


_BLUESKY_WORD = re.compile(r"🦋|\bbluesky\b|\bbsky\b", re.IGNORECASE)


def mentions_bluesky(account: Account) -> bool:
    """The profile speaks of Bluesky (🦋, "Bluesky", "bsky") in its name or bio."""
    return bool(_BLUESKY_WORD.search(normalize(account.name) + " " + normalize(account.bio)))


def extract(account: Account) -> list[Clue]:
    """All clues of one X account, strongest source first, without duplicates.

    A value found in several places keeps each reason (several clues) so `decide` can list
    every supporting signal.
    """
    return list(_extract(account))


@lru_cache(maxsize=8192)
def _extract(account: Account) -> tuple[Clue, ...]:
    """`extract`, remembered per process: the same people are in many lists (a hosted
    instance's members follow the same accounts) and a warm batch spent a quarter of its CPU
    reading the same bios again. Accounts and clues are immutable; each caller gets its list."""
    clues: list[Clue] = []
    clues += clues_from_text(account.name, "name")
    clues += clues_from_text(account.bio, "bio")
    if account.url:
        clues += clues_from_url(account.url, "website")
        domain = website_domain(account.url)
        if domain:
            clues.append(Clue("bluesky", domain, "website-domain-handle", claimed=False))
    link_clues: list[Clue] = []
    for link in account.links:
        link_clues += clues_from_url(link, "bio-url")
    # One profile link on a network is the person's own; several may name other people.
    for net in ("bluesky", "mastodon"):
        on_net = [c for c in link_clues if c.network == net]
        distinct = {c.value for c in on_net}
        for c in on_net:
            clues.append(Clue(c.network, c.value, c.reason, claimed=len(distinct) == 1))
    return tuple(_bounded(_dedupe(clues)))


# A bio names a handful of accounts; one naming hundreds of servers would make a single request
# knock on hundreds of hosts. The person's own accounts (claimed) are kept first.
MAX_DESTINATIONS = 10


def _bounded(clues: list[Clue]) -> list[Clue]:
    kept: set[tuple[str, str]] = set()
    for c in sorted(clues, key=lambda c: not c.claimed):  # stable: text order within each
        if len(kept) >= MAX_DESTINATIONS:
            break
        kept.add((c.network, c.value))
    return [c for c in clues if (c.network, c.value) in kept]


def _dedupe(clues: Iterable[Clue]) -> list[Clue]:
    seen: dict[tuple[str, str, str], Clue] = {}
    for c in clues:
        key = (c.network, c.value, c.reason)
        old = seen.get(key)
        if old is None:
            seen[key] = c
        else:
            seen[key] = Clue(
                c.network,
                c.value,
                c.reason,
                claimed=old.claimed or c.claimed,
                bare=old.bare and c.bare,
                related=old.related and c.related,
            )
    return list(seen.values())


# ---------------------------------------------------------------------------------------------
# The link back: does a destination profile name this X account?
_X_URL = re.compile(
    r"(?:^|[^\w.])(?:(?:www\.|mobile\.)?(?:twitter|x)\.com)/(?:#!/)?@?(?P<h>[a-z0-9_]{1,15})(?![\w])",
    re.IGNORECASE,
)
_X_MENTION = re.compile(r"(?<![\w@.])@(?P<h>[a-z0-9_]{1,15})(?![\w@]|\.\w)", re.IGNORECASE)
_X_CONTEXT = re.compile(r"🐦|\btwitter\b|\bx\b|\bbirdsite\b|\btwitt?os?\b|\btweet", re.IGNORECASE)
_X_FIELD_NAME = re.compile(
    r"^\W*(?:twitter|x|🐦|birdsite|ex-?twitter|x\.com|twitter\.com)\W*$", re.IGNORECASE
)
_CONTEXT_WINDOW = 25


def names_x_handle(text: str, x_handle: str) -> bool:
    """True when the text points at this X handle: a twitter.com / x.com link, or an @mention
    of it with "Twitter"/"X"/🐦 nearby ("ex-Twitter @alice_m", "X: @alice_m")."""
    text = normalize(text)
    target = x_handle.lower().lstrip("@")
    if not text or not target:
        return False
    for m in _X_URL.finditer(text):
        if m["h"].lower() == target:
            return True
    for m in _X_MENTION.finditer(text):
        if m["h"].lower() != target:
            continue
        window = text[max(0, m.start() - _CONTEXT_WINDOW) : m.end() + _CONTEXT_WINDOW]
        if _X_CONTEXT.search(window.replace(m.group(0), " ")):
            return True
    return False


def field_names_x_handle(name: str, value: str, x_handle: str) -> bool:
    """A profile field "Twitter" = "@alice_m" (or a link) names the X account."""
    if names_x_handle(value, x_handle):
        return True
    if not _X_FIELD_NAME.match(normalize(name)):
        return False
    v = normalize(value).strip().lstrip("@").lower()
    return v == x_handle.lower()

"""Pure: does the other side contradict a claim? (MATCHING.md, "Claims and time")

A migration runs over months, and every signal is a claim made on one side only:
- an address named on X may be years old: a `*.bsky.social` handle is freed when its owner
  takes another one and anyone may take it; the profile it leads to today may be a stranger's;
- a profile that names the X account back may be *about* the person without being theirs: a
  parody, a fan page, an unofficial archive, an automated mirror of their posts.
So a claim counts only when the profile it leads to does not contradict it. This module says
when it does, from what the look-ups already fetched (no request of its own):
- `unlike`: the profile an X-named address leads to shows a name that shares nothing with the
  person's, and nothing else ties it to them (link back, shared website, the same handle as
  on X, a cross-link from their other profile, their name in its bio);
- `disclaims`: the profile says it is not the person (parody, fan, unofficial, not affiliated,
  archive, mirror, automated), in English, French, German, Spanish or Italian;
- `automated`: the network marks it automated (Mastodon's `bot`, an ActivityPub `Service` or
  `Application` actor, Bluesky's `bot` self-label).
An X account that itself says it is a parody, a fan page or a bot is answered in kind: then
the same words on the other side are no contradiction. Table of cases, written by hand:
`tests/tables/claims_in_time.md`.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from urllib.parse import urlsplit

from anyascii import anyascii

from ..core.models import Account, BskyProfile, FediAccount
from ..core.text import fold, normalize
from .similarity import _NOISE

# ---------------------------------------------------------------------------------------------
# Names across scripts: "Алиса Мартин" on one side, "Alisa Martin" on the other.


def latin_words(text: str | None) -> list[str]:
    """The words of a name, accents, scripts and emoji folded away (`Ελένη` → `eleni`)."""
    folded = fold(text)  # letters and digits only: emoji and symbols are gone before anyascii
    if not folded:
        return []
    plain = anyascii(folded).lower() if not folded.isascii() else folded
    return [w for w in re.split(r"[^a-z0-9]+", plain) if w and w not in _NOISE]


def _handle_words(handle: str) -> list[str]:
    """`alice_martin` → alice, martin; `jdupont75` → jdupont."""
    return [w for w in re.split(r"[^a-z]+", handle.lower()) if w]


def _alike(a: str, b: str) -> bool:
    """Two words of a name are the same word, transliterations and one typo aside."""
    if a == b:
        return True
    if min(len(a), len(b)) < 5:
        return False
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.8


def _shares_a_word(xs: list[str], ys: list[str]) -> bool:
    return any(_alike(x, y) for x in xs if len(x) >= 3 for y in ys if len(y) >= 3)


def _contains(a: str, b: str, least: int = 4) -> bool:
    """One compact form holds the other (`alicem` in `alicemartin`), long enough to mean it."""
    short, long = sorted((a, b), key=len)
    return len(short) >= least and short in long


# Words a display name carries beside the name: pronouns.
_PRONOUNS = frozenset(
    [
        "she",
        "her",
        "hers",
        "he",
        "him",
        "his",
        "they",
        "them",
        "theirs",
        "elle",
        "il",
        "iel",
        "lui",
        "ela",
        "ele",
        "sie",
        "ihr",
    ]
)


def _name_words(text: str | None) -> list[str]:
    return [w for w in latin_words(text) if w not in _PRONOUNS]


def _other_person(dest: list[str], x_name: list[str]) -> bool:
    """One word in common and another name on each side: "Priya Sharma" for "Priya G. Henry",
    "Alice Dupont" for "Alice Martin". A freed handle is often taken by a namesake of its
    first owner's first name: the first name alone ties nothing then. An initial is no other
    name ("Alice M." for "Alice Martin")."""

    def unmatched(words: list[str], others: list[str]) -> list[str]:
        return [
            w
            for w in words
            if len(w) >= 3
            and not any(_alike(w, o) or (len(o) <= 2 and w.startswith(o)) for o in others)
        ]

    shared = [d for d in dest if len(d) >= 3 and any(_alike(d, w) for w in x_name)]
    return len(shared) == 1 and bool(unmatched(dest, x_name)) and bool(unmatched(x_name, dest))


def name_ties(account: Account, display_name: str) -> bool:
    """The destination's display name shares something with the X name or the X handle (and
    is not plainly someone else's name sharing one word with it)."""
    dest = _name_words(display_name)
    if not dest:
        return False
    x_name = _name_words(account.name)
    x_handle = _handle_words(account.handle)
    if _shares_a_word(dest, x_name + x_handle):
        return not _other_person(dest, x_name)
    compact_dest = "".join(dest)
    for x in ("".join(x_name), "".join(x_handle)):
        if _contains(compact_dest, x, least=5 if x != "".join(x_name) else 4):
            return True
        # "purpl655sly" and "purpleously": one pseudonym, spelt two ways.
        if min(len(x), len(compact_dest)) >= 6 and (
            SequenceMatcher(None, x, compact_dest, autojunk=False).ratio() >= 0.7
        ):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# What the destination profile says.


def profile_text(profile: BskyProfile | FediAccount) -> str:
    if isinstance(profile, BskyProfile):
        return " \n ".join((profile.description, *profile.links))
    return " \n ".join([profile.note, *(f"{n} {v}" for n, v in profile.fields)])


def _site(url: str | None) -> str | None:
    """A website's host without `www.`, or None."""
    if not url:
        return None
    url = normalize(url).strip()
    try:
        host = urlsplit(url if "//" in url else "https://" + url).hostname or ""
    except ValueError:
        return None
    host = host.lower().removeprefix("www.")
    return host if "." in host else None


_HOSTS = re.compile(r"(?:https?://)?(?:www\.)?((?:[a-z0-9-]+\.)+[a-z]{2,})", re.IGNORECASE)
# Websites that everyone links and that say nothing about who owns a profile.
_COMMON_SITES = frozenset(
    {
        "x.com",
        "twitter.com",
        "bsky.app",
        "bsky.social",
        "linktr.ee",
        "instagram.com",
        "youtube.com",
        "github.com",
        "linkedin.com",
        "facebook.com",
        "tiktok.com",
        "medium.com",
        "substack.com",
        "patreon.com",
        "ko-fi.com",
        "threads.net",
    }
)


def shares_website(account: Account, profile: BskyProfile | FediAccount) -> bool:
    """The X website (or a link of the X profile) is named by the destination profile too, or
    is the destination's own domain handle."""
    sites = {
        s
        for s in (_site(u) for u in (account.url, *account.links))
        if s and s not in _COMMON_SITES and not s.endswith(".bsky.social")
    }
    # A `*.bsky.social` address written as a link is the claim itself, not a website: its
    # handle may have changed hands with it. A domain handle is held by the domain's owner.
    if not sites:
        return False
    if isinstance(profile, BskyProfile) and profile.handle.lower() in sites:
        return True
    named = {m.group(1).lower() for m in _HOSTS.finditer(normalize(profile_text(profile)))}
    return bool(sites & named)


def names_in_bio(account: Account, profile: BskyProfile | FediAccount) -> bool:
    """The destination's bio spells the person's full name ("Alice Martin's account")."""
    words = latin_words(account.name)
    if len(words) < 2:
        return False
    bio = " ".join(latin_words(profile_text(profile)))
    return f" {' '.join(words)} " in f" {bio} "


def names_one_of(profile: BskyProfile | FediAccount, addresses: set[str]) -> bool:
    """The destination names another address that the X profile names too ("also
    @alice@piaille.fr", both on X and on this profile): the two sides agree."""
    if not addresses:
        return False
    text = normalize(profile_text(profile)).lower()
    return any(a in text for a in addresses if len(a) >= 6)


def unlike(
    account: Account,
    profile: BskyProfile | FediAccount,
    *,
    linked_back: bool,
    cross_linked: bool,
    other_addresses: set[str] = frozenset(),  # type: ignore[assignment]
) -> bool:
    """True when the profile an X-named address leads to today shows someone else: a display
    name sharing nothing with the person's name or X handle, and nothing else tying it to them.
    A profile with no display name shows no one, so it contradicts nothing. The address's
    handle is no tie: the X profile named it, so its likeness to the X handle is the claim
    itself, and a freed handle keeps that likeness under its new owner."""
    if linked_back or cross_linked:
        return False
    if not _name_words(profile.display_name):
        return False
    if name_ties(account, profile.display_name):
        return False
    return not (
        shares_website(account, profile)
        or names_in_bio(account, profile)
        or names_one_of(profile, other_addresses)
    )


# ---------------------------------------------------------------------------------------------
# Profiles that say they are not the person. Read on folded text (lower case, no accents, words
# separated by single spaces), so one pattern covers "Non-officiel", "non officiel", "NON OFFICIEL".
#
# Words an account says of itself, whoever it is about: never the person.
_SELF = (
    # English
    r"parody|parody account|fan account|fanaccount|fan page|fanpage|fan club|fanclub|fan site|"
    r"fansite|fan run|fan made|run by (?:a )?fans?|tribute account|not the real|"
    r"mirror account|archive account|automated account|automated posts|automated mirror|"
    r"automated feed|auto posted|autoposted|bot account|i am a bot|i m a bot|this is a bot|"
    r"this account is a bot|repost bot|news bot|this is an archive|"
    # French
    r"parodie|parodique|compte parodique|compte fan|page fan|page de fans|club de fans|"
    r"pas (?:le|la) vrai(?:e)?|compte miroir|compte archive|compte automatique|compte automatise|"
    r"publication automatique|publie automatiquement|compte bot|je suis un bot|un bot qui|"
    # German
    r"parodieaccount|fanseite|fan seite|automatisierter account|automatisches konto|"
    r"automatische beitrage|ich bin ein bot|"
    # Spanish
    r"parodia|cuenta parodia|cuenta de parodia|cuenta fan|cuenta espejo|cuenta automatica|"
    r"cuenta automatizada|soy un bot|"
    # Italian
    r"account parodia|account fan|pagina fan|account specchio|account automatico|"
    r"account automatizzato|sono un bot"
)
# "Unofficial": said of an account, a page, an archive ("unofficial historian" is a person).
_UNOFFICIAL = (
    r"unofficial|not official|not an official|non officiel(?:le)?|pas officiel(?:le)?|"
    r"inoffiziell(?:e|er|es)?|nicht offiziell|no oficial|non ufficiale"
)
_ACCOUNT_WORDS = frozenset(
    [
        "account",
        "accounts",
        "page",
        "feed",
        "fan",
        "fans",
        "archive",
        "mirror",
        "bot",
        "compte",
        "page",
        "fil",
        "miroir",
        "seite",
        "konto",
        "archiv",
        "spiegel",
        "cuenta",
        "pagina",
        "archivo",
        "espejo",
        "profilo",
        "archivio",
        "specchio",
        "profile",
        "profil",
    ]
)
# "Not affiliated", "archive of", "mirror of": say so only of the person they name
# ("not affiliated with my employer" is said by people too).
_ABOUT = (
    r"not affiliated|unaffiliated|no affiliation|not associated|not connected|"
    r"non affilie(?:e)?|sans lien avec|aucun lien avec|nicht verbunden|keine verbindung|"
    r"no afiliad[oa]|sin afiliacion|non affiliat[oa]|nessun legame|"
    r"archive of|archive de|archives de|archive des|archives des|archiv von|archiv der|archiv des|"
    r"archivo de|archivio di|archivio del|mirror of|mirrors|mirroring|mirrored from|"
    r"copy of|miroir de|miroir des|copie de|espejo de|specchio di|spiegel von"
)
_SELF_RE = re.compile(rf"(?:^| )(?:{_SELF})(?= |$)")
_UNOFFICIAL_RE = re.compile(rf"(?:^| )(?:{_UNOFFICIAL})(?= |$)")
_ABOUT_RE = re.compile(rf"(?:^| )(?:{_ABOUT})(?= |$)")
# What an archive or a mirror is made of: posts, not a person.
_POSTS = frozenset(
    [
        "tweets",
        "tweet",
        "posts",
        "post",
        "twitter",
        "publications",
        "beitrage",
        "beitraege",
        "publicaciones",
        "pubblicazioni",
        "messages",
    ]
)
# A display name that ends in "bot" or "(parody)" speaks for the account.
_NAME_ENDS = re.compile(
    r"(?:^| )(?:bot|parody|parodie|parodia|fan|fans|archive|archived|archiv|mirror)$"
)
_REACH = 6  # words after "not affiliated with" in which the person must be named
# Where a clause ends: "Archiviste aux Archives de Poitiers. x.com/alice" speaks of two things.
_CLAUSE = re.compile(r"[.!?;:]\s|[\n|•·]|\s[-–—]\s")
_LINK_NOISE = frozenset(
    {"x", "com", "twitter", "www", "https", "http", "on", "sur", "auf", "en", "su"}
)


def _followed_by(text: str, pattern: re.Pattern[str], wanted: frozenset[str] | set[str]) -> bool:
    """In one clause, `pattern` followed by one of `wanted` (link words set aside)."""
    for clause in _CLAUSE.split(normalize(text)):
        folded = fold(clause)
        for m in pattern.finditer(folded):
            after = [w for w in folded[m.end() :].split() if w not in _LINK_NOISE][:_REACH]
            if any(w in wanted for w in after):
                return True
    return False


def disclaims(account: Account, profile_name: str, text: str) -> bool:
    """The profile says it is not the person: a parody, a fan page, an unofficial account, an
    archive or a mirror of their posts, automated; in its name, its bio or its fields."""
    name, bio = fold(profile_name), fold(text)
    if _SELF_RE.search(name) or _SELF_RE.search(bio) or _NAME_ENDS.search(name):
        return True
    person = {w for w in latin_words(account.name) if len(w) >= 3}
    person |= {w for w in _handle_words(account.handle) if len(w) >= 3}
    person.add(re.sub(r"[^a-z0-9]", "", account.handle.lower()))
    for text_ in (profile_name, text):
        if _followed_by(text_, _UNOFFICIAL_RE, _ACCOUNT_WORDS | person):
            return True
        if _followed_by(text_, _ABOUT_RE, person | _POSTS):
            return True
    return False


def automated(profile: BskyProfile | FediAccount) -> bool:
    """The network marks the account automated: Mastodon's `bot` (also set from an ActivityPub
    `Service`/`Application` actor), Bluesky's `bot` self-label (social-app #10008)."""
    if isinstance(profile, BskyProfile):
        return "bot" in profile.labels
    return profile.bot


_SENTENCE = re.compile(r"[.!?;]\s|[\n|•·]")
_ADDRESS = re.compile(r"@\S|\S\.bsky\.|/@|://|\bbsky\.app/")


def x_side_disclaims(account: Account) -> bool:
    """The X account itself is a parody, a fan page, an archive or a bot: then its
    counterpart saying the same is no contradiction. A clause of the bio that gives an address
    speaks of that address ("Mon fan-club : 🦋 …"), not of the X account: set aside."""
    own = [c for c in _SENTENCE.split(normalize(account.bio)) if not _ADDRESS.search(c)]
    return disclaims(account, account.name, " \n ".join(own))


def not_them(account: Account, profile: BskyProfile | FediAccount) -> str | None:
    """`disclaims` or `automated` when the profile is not the person, else None."""
    if x_side_disclaims(account):
        return None
    if disclaims(account, profile.display_name, profile_text(profile)):
        return "disclaims"
    if automated(profile):
        return "automated"
    return None

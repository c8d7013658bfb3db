"""Pure: how alike two names or handles are, on a 0 to 1 scale.

Deliberately strict: a near miss ("Alicia" for "Alice") scores below the `SAME` threshold, because
the cost of a false match (following a stranger) is higher than a missed one.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from ..core.text import fold, normalize

SAME = 0.8  # at or above: the same name ("same-name"), or enough affinity to trust a mention
CLOSE = 0.5

_NON_ALNUM = re.compile(r"[^0-9a-z\u00c0-\uffff]+")
# Words that say nothing about who someone is.
_NOISE = frozenset(
    {
        "official",
        "officiel",
        "officielle",
        "le",
        "la",
        "les",
        "the",
        "de",
        "du",
        "des",
        "dr",
        "pr",
        "prof",
        "mr",
        "mme",
        "mrs",
        "ms",
        "m",
        "bsky",
        "bluesky",
        "mastodon",
        "social",
        "fr",
        "com",
        "org",
        "net",
        "eu",
        "io",
        "page",
    }
)


def _tokens(text: str) -> list[str]:
    return [t for t in fold(text).split() if t not in _NOISE]


def compact(text: str) -> str:
    """`Alice Martin 🦋` → `alicemartin`; `alice_m` → `alicem`."""
    return "".join(_tokens(text))


def name_similarity(a: str | None, b: str | None) -> float:
    """1.0 for the same name however written; 0.95 for the same words in another order or
    spacing; 0.8 when every word of a two-word-or-longer name is in the other; else a string
    ratio scaled under the threshold, so spelling variants never count as the same name."""
    ta, tb = _tokens(a or ""), _tokens(b or "")
    if not ta or not tb:
        return 0.0
    if ta == tb:
        return 1.0
    ca, cb = "".join(ta), "".join(tb)
    if sorted(ta) == sorted(tb):
        return 0.95
    # "AliceMartin" is "Alice Martin"; but "Julie N. Simon" is not "Julien Simon": the same
    # letters count only when one side is written as a single word.
    if ca == cb and min(len(ta), len(tb)) == 1:
        return 0.95
    sa, sb = set(ta), set(tb)
    if (len(ta) >= 2 and sa <= sb) or (len(tb) >= 2 and sb <= sa):
        return 0.8
    first, second = sorted((ca, cb))  # SequenceMatcher is not symmetric; a name pair is
    return SequenceMatcher(None, first, second, autojunk=False).ratio() * 0.75


def handle_label(handle: str) -> str:
    """The part of a destination handle a person chose: `alice` in `alice.bsky.social`,
    `alicemartin` in `alicemartin.fr`, `alice` in `alice@piaille.fr`."""
    handle = handle.lower()
    if "@" in handle:
        return handle.split("@", 1)[0]
    if handle.endswith(".bsky.social"):
        return handle[: -len(".bsky.social")]
    labels = handle.split(".")
    if labels[0] in ("www", "bsky", "at") and len(labels) > 2:
        labels = labels[1:]
    return ".".join(labels[:-1]) if len(labels) > 1 else labels[0]


def same_handle(x_handle: str, dest_handle: str) -> bool:
    """The destination handle is the X handle (ignoring case, `_`, `-` and `.`)."""
    x = _NON_ALNUM.sub("", x_handle.lower())
    d = _NON_ALNUM.sub("", handle_label(dest_handle))
    return bool(x) and x == d


def affinity(x_handle: str, x_name: str, dest_handle: str, dest_name: str) -> float:
    """How much the destination looks like this X person, from names and handles only."""
    label = handle_label(dest_handle)
    scores = [name_similarity(x_name, dest_name)]
    if same_handle(x_handle, dest_handle):
        scores.append(1.0)
    cx_name, c_label = compact(x_name), _NON_ALNUM.sub("", label)
    if len(cx_name) >= 4 and cx_name == c_label:
        scores.append(0.9)
    cd_name = compact(dest_name)
    if len(cd_name) >= 4 and cd_name == _NON_ALNUM.sub("", x_handle.lower()):
        scores.append(0.9)
    return max(scores)


# Words by which an organisation names itself. An account named so, against a person's name on
# the other side, is another party ("Alice Martin" giving "🦋 asso-velo.org", which calls itself
# "Association Vélo Poitiers"), unless the two names are alike anyway.
_ORG_WORDS = frozenset(
    {
        "association",
        "asso",
        "collectif",
        "collective",
        "syndicat",
        "union",
        "federation",
        "confederation",
        "universite",
        "university",
        "ecole",
        "school",
        "college",
        "institut",
        "institute",
        "laboratoire",
        "lab",
        "fondation",
        "foundation",
        "journal",
        "magazine",
        "radio",
        "tv",
        "media",
        "medias",
        "news",
        "editions",
        "club",
        "festival",
        "parti",
        "party",
        "mairie",
        "ville",
        "musee",
        "museum",
        "theatre",
        "bibliotheque",
        "library",
        "cooperative",
        "scop",
        "ong",
        "ngo",
        "inc",
        "ltd",
        "sarl",
        "sas",
        "gmbh",
        "team",
        "equipe",
        "reseau",
        "network",
        "conseil",
        "council",
        "ministere",
        "ministry",
        "agence",
        "agency",
        "observatoire",
        "comite",
        "committee",
    }
)
# A person's name may carry their organisation aside: "Alice (asso Vélo)", "Alice | CGT".
_ASIDE = re.compile(r"\(.*?\)|\[.*?\]|\s[|·•—–-]\s.*$|,.*$")


def looks_like_org(name: str | None) -> bool:
    """True when a display name reads as an organisation's ("Association Vélo Poitiers",
    "Collectif Nous Toutes"), not a person's, once asides are set apart."""
    if not name:
        return False
    main = fold(_ASIDE.sub(" ", normalize(name).casefold()))
    return bool(set(main.split()) & _ORG_WORDS)

"""Text normalisation shared by the pure matching modules.

Profiles are written by people: full-width `＠`, mathematical bold letters, zero-width joiners,
accents and emoji. Everything is compared after the same folding, defined once here.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

# Invisible characters that split a handle without showing: they are removed, never matched.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e"),
    None,
)


# Both are pure and asked again and again of the same text: a batch decides three times, each
# candidate's bio and name against the person's, and the rules of contradiction fold each clause.
# Remembered per process (bounded): most of a warm batch's CPU went to folding the same strings.
_MEMO = 1 << 16  # texts; the published benchmarks ran with this (docs/benchmarks.md)


@lru_cache(maxsize=_MEMO)
def normalize(text: str | None) -> str:
    """NFKC (so `＠` is `@` and `𝐚𝐥𝐢𝐜𝐞` is `alice`, and `…` becomes `...`) minus invisibles."""
    if not text:
        return ""
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


@lru_cache(maxsize=_MEMO)
def fold(text: str | None) -> str:
    """Case-, accent- and symbol-insensitive form for comparing names: letters, digits, spaces."""
    text = normalize(text).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    kept = []
    for ch in decomposed:
        cat = unicodedata.category(ch)
        if cat.startswith("M"):
            continue  # combining accents
        if cat.startswith(("L", "N")):
            kept.append(ch)
        else:
            kept.append(" ")
    return " ".join("".join(kept).split())


_TAG = re.compile(r"<[^<>]{0,2000}>")
_BREAK = re.compile(r"<\s*(?:br|/p|/li)\s*/?\s*>", re.IGNORECASE)


def html_to_text(markup: str | None) -> str:
    """Mastodon notes and fields are HTML: keep the visible text, lines where breaks were."""
    if not markup:
        return ""
    text = _BREAK.sub("\n", markup)
    text = _TAG.sub("", text)
    return html.unescape(text).strip()

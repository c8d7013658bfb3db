"""A fediverse profile read from its public web page, for servers that refuse unsigned API and
ActivityPub reads. Pure: parses HTML, no I/O.

GoToSocial answers 401 to `/api/v1/accounts/lookup` and to the actor unless the request is
signed (so do Mastodon servers in authorized-fetch / limited-federation mode), yet serves
WebFinger and a public HTML profile. That page says who the person is in its Open Graph tags
(GoToSocial, internal/web/opengraph.go: `og:title` "Name (@user@domain)", `og:description` the
bio as plain text, cut at 300 characters, or "This GoToSocial user hasn't written a bio yet!")
and, on GoToSocial, the profile fields as `<dt>`/`<dd>` pairs (web/template/profile_fields.tmpl);
links marked `rel="me"` name the person's other addresses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

NO_BIO = ("This GoToSocial user hasn't written a bio yet!",)
_TITLE_ACCT = re.compile(r"\s*\(@[^()\s]+@[^()\s]+\)\s*$")


@dataclass
class ProfilePage:
    display_name: str = ""
    note: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    me_links: list[str] = field(default_factory=list)
    avatar: str | None = None


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.fields: list[tuple[str, str]] = []
        self.me: list[str] = []
        self._in: str | None = None  # "dt" or "dd" being read
        self._text: list[str] = []
        self._hrefs: list[str] = []
        self._name = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            key = (a.get("property") or a.get("name") or "").lower()
            if key.startswith("og:") and key not in self.meta:
                self.meta[key] = a.get("content", "")
        elif tag in ("a", "link"):
            rels = a.get("rel", "").lower().split()
            href = a.get("href", "")
            if "me" in rels and href.startswith(("https://", "http://")):
                self.me.append(href)
            if tag == "a" and self._in == "dd" and href.startswith(("https://", "http://")):
                self._hrefs.append(href)
        elif tag in ("dt", "dd"):
            self._in, self._text, self._hrefs = tag, [], []

    def handle_endtag(self, tag: str) -> None:
        if tag == "dt" and self._in == "dt":
            self._name = " ".join("".join(self._text).split())
            self._in = None
        elif tag == "dd" and self._in == "dd":
            text = " ".join("".join(self._text).split())
            extra = [h for h in self._hrefs if h not in text]
            self.fields.append((self._name, " ".join([text, *extra]).strip()))
            self._in, self._name = None, ""

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text.append(data)


def read_profile_page(html: str) -> ProfilePage:
    reader = _Reader()
    try:
        reader.feed(html)
        reader.close()
    except (AssertionError, ValueError):  # a page too broken to read further: keep what was read
        pass
    title = reader.meta.get("og:title", "")
    note = " ".join(reader.meta.get("og:description", "").split())
    return ProfilePage(
        display_name=_TITLE_ACCT.sub("", title).strip() if _TITLE_ACCT.search(title) else "",
        note="" if note in NO_BIO else note,
        fields=reader.fields[:32],
        me_links=list(dict.fromkeys(reader.me))[:32],
        avatar=reader.meta.get("og:image") or None,
    )

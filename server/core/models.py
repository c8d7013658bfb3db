"""The nouns every module shares: an X account, a clue found in it, a verified profile, a match.

Plain dataclasses, no behaviour beyond conversion: the matching rules live in `signals.py`
and `decide.py`, the network code under `networks/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Network = Literal["bluesky", "mastodon"]
Level = Literal["confirmed", "likely", "possible"]
LEVELS: tuple[Level, ...] = ("confirmed", "likely", "possible")
NETWORKS: tuple[Network, ...] = ("bluesky", "mastodon")


@dataclass(frozen=True)
class Account:
    """One X account as the extension (or a JSON file) describes it."""

    handle: str
    name: str = ""
    bio: str = ""
    url: str | None = None
    links: tuple[str, ...] = ()
    id: str | None = None
    follows_you: bool | None = None

    @property
    def key(self) -> str:
        """X handles are case-insensitive: one key per person."""
        return self.handle.lower()


@dataclass(frozen=True)
class Clue:
    """A destination identifier read from the X profile, and where it was read.

    `network` says where the identifier lives; `value` is normalised (a lowercase handle,
    a DID, or `user@host` for the fediverse). `reason` is the API slug for where it was found
    (`bio-handle`, `bio-url`, `name-handle`, `website`, `website-domain-handle`).
    `claimed` is True when the text presents it as the person's own account (a 🦋 or
    "Mastodon:" label, the display name, the website) rather than a mention of someone else.
    `bare` marks a fediverse `user@host` with no leading `@`, which may be an e-mail address.
    `related` marks an address the text ties to *another* party ("Bénévole chez @asso…",
    "Co-fondatrice de 🦋 asso.org", "Volunteer at …"): someone else's account, whatever label
    stands beside it.
    """

    network: Network
    value: str
    reason: str
    claimed: bool = False
    bare: bool = False
    related: bool = False


@dataclass(frozen=True)
class BskyProfile:
    """A Bluesky profile as the AppView returned it (only the fields matching needs)."""

    did: str
    handle: str
    display_name: str = ""
    description: str = ""
    avatar: str | None = None
    labels: tuple[str, ...] = ()
    links: tuple[str, ...] = ()  # the profile's website and links (2026 lexicon)

    def to_json(self) -> dict[str, Any]:
        return {
            "did": self.did,
            "handle": self.handle,
            "display_name": self.display_name,
            "description": self.description,
            "avatar": self.avatar,
            "labels": list(self.labels),
            "links": list(self.links),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BskyProfile:
        return cls(
            did=data["did"],
            handle=data["handle"],
            display_name=data.get("display_name") or "",
            description=data.get("description") or "",
            avatar=data.get("avatar"),
            labels=tuple(data.get("labels") or ()),
            links=tuple(data.get("links") or ()),
        )


@dataclass(frozen=True)
class FediAccount:
    """A fediverse account verified on its own server.

    `acct` is canonical `user@domain` (the WebFinger subject's domain, not necessarily the
    host the X profile named). `fields` are the profile's (name, value) pairs as plain text.
    """

    acct: str
    url: str
    display_name: str = ""
    note: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    avatar: str | None = None
    software: str = ""
    bot: bool = False
    id: str = ""  # the account's id on its own server (Mastodon, Misskey), for batched re-checks
    actor: str = ""  # its ActivityPub actor's URL, when read from it: a re-check asks it alone

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "actor": self.actor,
            "acct": self.acct,
            "url": self.url,
            "display_name": self.display_name,
            "note": self.note,
            "fields": [list(f) for f in self.fields],
            "avatar": self.avatar,
            "software": self.software,
            "bot": self.bot,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FediAccount:
        return cls(
            acct=data["acct"],
            url=data["url"],
            display_name=data.get("display_name") or "",
            note=data.get("note") or "",
            fields=tuple((str(a), str(b)) for a, b in data.get("fields") or ()),
            avatar=data.get("avatar"),
            software=data.get("software") or "",
            bot=bool(data.get("bot")),
            id=str(data.get("id") or ""),
            actor=str(data.get("actor") or ""),
        )


@dataclass
class Candidate:
    """A verified destination account with every reason that supports it."""

    network: Network
    ident: str  # Bluesky DID or fediverse acct: what makes two candidates the same account
    profile: BskyProfile | FediAccount
    reasons: set[str] = field(default_factory=set)
    bridged: bool = False
    claimed: bool = False  # named as the person's own by the X profile
    level: Level = "possible"
    score: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The API shape of one match (see API.md)."""
        reasons = sorted(self.reasons, key=_reason_order)
        if isinstance(self.profile, BskyProfile):
            p = self.profile
            return {
                "handle": p.handle,
                "did": p.did,
                "url": f"https://bsky.app/profile/{p.handle}",
                "display_name": p.display_name,
                "avatar": p.avatar,
                "level": self.level,
                "reasons": reasons,
                "bridged": self.bridged,
            }
        f = self.profile
        out = {
            "acct": f.acct,
            "url": f.url,
            "display_name": f.display_name,
            "avatar": f.avatar,
            "level": self.level,
            "reasons": reasons,
            "bridged": self.bridged,
        }
        if f.id:
            out["id"] = f.id  # on its own server: a re-check asks for many at once by id
        if f.actor:
            out["actor"] = f.actor  # software with no such batch: a re-check asks the actor
        return out


REASON_ORDER = (
    "reverse-link",
    "name-handle",
    "bio-handle",
    "bio-url",
    "website",
    "website-domain-handle",
    "cross-link",
    "same-handle",
    "same-name",
    "name-search",
    "link-search",
    "bridged",
    "nothing-in-common",
    "disclaims",
    "automated",
    "gone",
)


def _reason_order(reason: str) -> int:
    return REASON_ORDER.index(reason) if reason in REASON_ORDER else len(REASON_ORDER)

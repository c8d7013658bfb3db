"""Pure: the syntax of the networks' addresses, and the hosts that are none.

A host name (IDNA, public), a Bluesky handle, a DID, a fediverse `user@domain`, and the
Bridgy Fed bridge's forms between the two networks; the hosts whose `user@host` or `/@user`
is never a fediverse account (mail providers, X mirrors, other sites). Shared by the stages
that read X profiles (`resolve`) and that ask the networks (`networks`): nothing reaches a
network without passing here.
"""

from __future__ import annotations

import re

import idna

from .hosts import why_not_public

USER = r"[a-z0-9_](?:[a-z0-9_.-]{0,62}[a-z0-9_])?"
DID = r"did:(?:plc:[a-z2-7]{24}|web:[a-z0-9.-]{1,253})"
_ASCII_HOST = re.compile(
    r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)
_BSKY_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

# Threads accounts that federate are `@user@threads.net` (the web moved to threads.com in 2025).
THREADS_SUFFIXES = ("@threads.net", "@threads.com")
# Its web addresses, whose `/@user` pages are `user@threads.net` on the fediverse.
THREADS_WEB = {h: "threads.net" for h in ("www.threads.net", "threads.com", "www.threads.com")}

# Hosts whose /@user pages are not fediverse accounts.
NOT_FEDIVERSE = frozenset(
    {
        "medium.com",
        "youtube.com",
        "m.youtube.com",
        "www.youtube.com",
        "tiktok.com",
        "www.tiktok.com",
        "vm.tiktok.com",
        "substack.com",
        "pinterest.com",
        "www.pinterest.com",
        "twitch.tv",
        "linktr.ee",
        "instagram.com",
        "www.instagram.com",
        "x.com",
        "twitter.com",
        "bsky.app",
        "facebook.com",
        "www.facebook.com",
        "linkedin.com",
        "www.linkedin.com",
        "github.com",
        "behance.net",
        "dribbble.com",
        "soundcloud.com",
        "vimeo.com",
        "dailymotion.com",
        "www.dailymotion.com",
        "reddit.com",
        "t.co",
        "bit.ly",
    }
)
# Mirrors of X accounts on the fediverse: the X account itself, never the person's new home.
X_MIRRORS = frozenset(
    {
        "bird.makeup",
        "birdsite.link",
        "birdsite.monster",
        "twitter.activitypub.actor",
        "mastodon.bird.makeup",
        "nitter.social",
    }
)
# Mail providers: `user@gmail.com` is an address, not an account; skipped before any request.
MAIL_HOSTS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.fr",
        "hotmail.com",
        "hotmail.fr",
        "outlook.com",
        "outlook.fr",
        "live.com",
        "live.fr",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "sfr.fr",
        "laposte.net",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "gmx.com",
        "gmx.fr",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "yandex.ru",
        "yandex.com",
        "zoho.com",
        "tutanota.com",
        "tuta.io",
        "bbox.fr",
        "neuf.fr",
        "club-internet.fr",
        "numericable.fr",
        "aliceadsl.fr",
        "hey.com",
        "fastmail.com",
        "posteo.de",
        "posteo.net",
        "riseup.net",
        "skynet.be",
        "bluewin.ch",
        "videotron.ca",
        "sympatico.ca",
        "btinternet.com",
        "libero.it",
        "qq.com",
        "163.com",
    }
)
BRIDGY_BSKY = "bsky.brid.gy"  # a Bluesky account bridged to the fediverse lives here
BRIDGY_AP_SUFFIX = ".ap.brid.gy"  # a fediverse account bridged to Bluesky ends so
BRIDGY_WEB_SUFFIX = ".web.brid.gy"


# ---------------------------------------------------------------------------------------------
# Validation and canonical forms.
def ascii_host(host: str) -> str | None:
    """Lowercase IDNA (punycode) form of a host, or None when it is not a valid host name."""
    host = host.strip().rstrip(".").lower()
    if not host:
        return None
    try:
        encoded = host if host.isascii() else idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    if not _ASCII_HOST.match(encoded) or why_not_public(encoded):
        return None  # local-only names (x.internal, printer.local) are never asked
    return encoded


def valid_bsky_handle(handle: str) -> str | None:
    """The lowercase handle if it satisfies the atproto handle syntax, else None.

    One malformed actor makes a whole getProfiles batch fail, so nothing reaches the network
    without passing here.
    """
    host = ascii_host(handle)
    if host is None or len(host) > 253:
        return None
    labels = host.split(".")
    if len(labels) < 2 or not all(_BSKY_LABEL.match(lb) for lb in labels):
        return None
    if labels[-1][0].isdigit():
        return None
    if host.endswith((".invalid", ".local", ".localhost", ".arpa", ".internal", ".onion")):
        return None
    return host


def valid_did(did: str) -> str | None:
    did = did.strip()
    m = re.fullmatch(DID, did, re.IGNORECASE)
    if not m:
        return None
    return did.lower() if did.lower().startswith("did:plc:") else did


def valid_acct(user: str, host: str) -> str | None:
    """Canonical `user@host` for a fediverse account, or None (bad syntax, mirror, mail host)."""
    user = user.strip().lstrip("@").lower()
    h = ascii_host(host)
    if not user or h is None or not re.fullmatch(USER, user):
        return None
    if h in X_MIRRORS or any(h.endswith("." + m) for m in X_MIRRORS):
        return None
    if h in NOT_FEDIVERSE:
        return None
    h = THREADS_WEB.get(h, h)
    return f"{user}@{h}"


def valid_username(user: str) -> bool:
    """A fediverse username as Mastodon's (and most servers') rules allow it: letters, digits,
    `_`, inner `.` and `-` (`-2+3` is none, whatever a server answers)."""
    return bool(user) and re.fullmatch(USER, user.lower()) is not None


def is_x_mirror(acct: str) -> bool:
    host = acct.rpartition("@")[2].lower()
    return host in X_MIRRORS or any(host.endswith("." + m) for m in X_MIRRORS)


def bridged_acct_for_bsky(handle: str) -> str:
    """The Bridgy Fed fediverse address of a Bluesky account."""
    return f"{handle.lower()}@{BRIDGY_BSKY}"


def bridged_handle_for_acct(acct: str) -> str | None:
    """The Bridgy Fed Bluesky handle of a fediverse account (`_` and `~` become `-`)."""
    user, _, host = acct.partition("@")
    label = re.sub(r"[_~.]", "-", user).strip("-")
    handle = f"{label}.{host}{BRIDGY_AP_SUFFIX}"
    return valid_bsky_handle(handle)


def bsky_handle_behind_bridge(acct: str) -> str | None:
    """`alice.bsky.social@bsky.brid.gy` names the Bluesky account `alice.bsky.social`."""
    user, _, host = acct.partition("@")
    if host == BRIDGY_BSKY:
        return valid_bsky_handle(user)
    return None

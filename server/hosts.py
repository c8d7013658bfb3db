"""Pure: which host names the service may contact on a user's word.

The service fetches hosts named by outside text (a bio's `@user@host`, a website, the Mastodon
server a user types). On a hosted instance that would let anyone make the service knock on its
own private network (cloud metadata at 169.254.169.254, an admin port on localhost, a
neighbour at 10.0.0.5). So a host named by outside text must look like a public internet name:
no IP literal outside the global ranges, no single-label or local-only names. The operator's
own settings (the AppView, the PDS) are trusted as they are, so a local network can be used on
purpose.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LOCAL_SUFFIXES = (
    ".localhost",
    ".local",
    ".internal",
    ".lan",
    ".home.arpa",
    ".localdomain",
    ".intranet",
    ".corp",
)


def why_not_public(host: str) -> str | None:
    """None when `host` may be contacted, else a short reason for an error message."""
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        ip = None
    if ip is not None:
        return None if ip.is_global else "a private or reserved address"
    if name == "localhost" or name.endswith(_LOCAL_SUFFIXES):
        return "a local name"
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return "not a valid host name"
    labels = ascii_name.split(".")
    if len(labels) < 2 or len(ascii_name) > 253:
        return "not a full internet name"
    if not all(_LABEL.match(label) for label in labels):
        return "not a valid host name"
    if labels[-1].isdigit():
        return "not a valid host name"  # 1.2.3 or 0x7f.1: numeric forms some resolvers accept
    return None


def split_url(url: str) -> SplitResult | None:
    """`urlsplit` with a scheme assumed, or None for text it cannot split (`http://[x`)."""
    try:
        return urlsplit(url if "://" in url else "https://" + url)
    except ValueError:
        return None


def host_of(url: str) -> str:
    """The lowercase host of a URL from outside (a server's answer, a bio), "" when none."""
    parts = split_url(url)
    return (parts.hostname or "").lower() if parts else ""

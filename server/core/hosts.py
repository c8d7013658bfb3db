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


# IPv6 forms that carry an IPv4 address, which Python's `is_global` judges by the IPv6 range
# alone (NAT64's 64:ff9b::/96 counts as global): 64:ff9b::a9fe:a9fe is 169.254.169.254.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: the IPv4 may sit anywhere


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: mapped (::ffff:a.b.c.d), IPv4-compatible
    (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:AABB:CCDD::) and Teredo's two."""
    out: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped:
        out.append(ip.ipv4_mapped)
    if ip.sixtofour:
        out.append(ip.sixtofour)
    if ip.teredo:
        out += list(ip.teredo)
    value = int(ip)
    if ip in _NAT64 or (value >> 32 == 0 and value > 1):
        out.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return out


def _address_verdict(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if not ip.is_global:
        return "a private or reserved address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return "a private or reserved address"
        if any(not v4.is_global for v4 in embedded_ipv4(ip)):
            return "a private or reserved address (inside an IPv6 one)"
    return None


def is_ip_literal(host: str) -> bool:
    """An IP address written as such (`10.0.0.5`, `[::1]`), not a name."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


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
        return _address_verdict(ip)
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

"""Which address the service answers to, and where it sends people back.

Two holes a request's `Host` header opened (a security review, issue #13):
- The Mastodon sign-in built its callback from the request's Host: a forged Host sent the user's
  code elsewhere, and behind a TLS proxy the callback was `http://`. The callback is now built
  from `PASSERELLE_PUBLIC_URL`, or the address `passerelle serve` listens on.
- A web page can rebind a DNS name of its own to 127.0.0.1 and then talk to the service on the
  user's machine as if it were its own origin. Under `passerelle serve`, a request whose Host is
  neither the public address nor the listen address is refused (421 `misdirected`).

The app built without `listen` (tests, `flask run`, or `passerelle serve` bound to every
interface) checks no Host unless PASSERELLE_PUBLIC_URL is set, and without it sends people back
to the request's own address, as before.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, request

from ..core.errors import ApiError

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _host_port(url: str) -> set[str]:
    """The Host values that name `url`'s address (with and without a default port)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    names = {host}
    if host in LOOPBACK:
        names = set(LOOPBACK) - {"::1"}  # the same machine, however it is spelled
    out = {f"{n}:{port}" for n in names}
    if port == (443 if parts.scheme == "https" else 80):
        out |= names
    return out


def allowed_hosts(public_url: str, listen: str | None) -> frozenset[str] | None:
    """The Host values answered; None: any (an app built without `listen`, or `passerelle
    serve` bound to every interface with no public address set)."""
    if listen is None and not public_url:
        return None
    allowed: set[str] = set()
    if listen is not None:
        allowed |= _host_port(listen)
    if public_url:
        allowed |= _host_port(public_url)
    return frozenset(allowed)


def base_url() -> str:
    """Where people reach the service: the public address, else the listen address."""
    return current_app.extensions["passerelle.base_url"] or request.host_url.rstrip("/")


def init_app(app: Flask, public_url: str, listen: str | None) -> None:
    allowed = allowed_hosts(public_url, listen)
    app.extensions["passerelle.base_url"] = (public_url or listen or "").rstrip("/")

    if allowed is None:
        return

    @app.before_request
    def _check_host() -> None:
        if request.host.lower() not in allowed:
            raise ApiError(
                421,
                "misdirected",
                "this service does not answer to that address; set PASSERELLE_PUBLIC_URL to "
                "the address people reach it at",
            )

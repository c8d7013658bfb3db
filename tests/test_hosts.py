"""Hosts named by outside text must be public internet names (no knocking on private networks)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from server.core.hosts import host_of, split_url, why_not_public
from server.core.models import Account
from server.core.validate import InputError
from server.follow.mastodon import home_server
from server.networks.http import Politeness, make_session
from server.resolve.signals import extract
from tests.standins.internet import Internet


@pytest.mark.parametrize(
    ("host", "public"),
    [
        ("piaille.fr", True),
        ("mastodon.social", True),
        ("xn--caf-dma.fr", True),
        ("café.fr", True),
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.0.0.5", False),
        ("169.254.169.254", False),
        ("192.168.1.1", False),
        ("[::1]", False),
        ("::ffff:127.0.0.1", False),
        # IPv6 forms that carry a private IPv4 address (Python calls some of them global).
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("[64:ff9b::7f00:1]", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8: public
        ("64:ff9b:1::a00:5", False),  # local-use NAT64 (RFC 8215)
        ("::a9fe:a9fe", False),  # IPv4-compatible 169.254.169.254
        ("::10.0.0.5", False),
        ("2002:a9fe:a9fe::1", False),  # 6to4 of 169.254.169.254
        ("2002:c0a8:0101::1", False),  # 6to4 of 192.168.1.1
        ("2002:0808:0808::1", True),  # 6to4 of 8.8.8.8
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo: client 192.0.2.45
        ("2606:4700:4700::1111", True),
        ("fd00::1", False),
        ("localhost", False),
        ("printer.local", False),
        ("db.internal", False),
        ("router.home.arpa", False),
        ("api.localhost", False),
        ("intranet", False),
        ("127.1", False),
        ("0x7f.1", False),
        ("a..b", False),
        ("-bad.example", False),
        ("under_score.example", False),
        ("", False),
    ],
)
def test_public_names(host: str, public: bool) -> None:
    assert (why_not_public(host) is None) is public


def test_urls_that_cannot_be_split() -> None:
    assert split_url("http://[abc") is None
    assert host_of("http://[abc") == ""
    assert host_of("https://Piaille.FR/@alice") == "piaille.fr"


@pytest.mark.parametrize(
    ("typed", "server"),
    [
        ("piaille.fr", "https://piaille.fr"),
        ("https://Piaille.fr/", "https://piaille.fr"),
        ("  mastodon.social\n", "https://mastodon.social"),
        ("https://masto.example:8443", "https://masto.example:8443"),
    ],
)
def test_home_server_from_what_people_type(typed: str, server: str) -> None:
    assert home_server(typed) == server


@pytest.mark.parametrize(
    "typed",
    [
        "http://piaille.fr",  # the token would travel in clear
        "ftp://x.example",
        "https://127.0.0.1",
        "https://8.8.8.8",
        "https://localhost:3000",
        "https://mastodon.internal",
        "https://user:pw@piaille.fr",
        "https://piaille.fr/@alice",
        "https://piaille.fr/?x=1",
        "https://piaille.fr:99999",
        "https://[::1",
        "piaille",
        "",
    ],
)
def test_home_server_refuses(typed: str) -> None:
    with pytest.raises(InputError):
        home_server(typed)


def test_private_hosts_in_a_bio_are_never_asked() -> None:
    account = Account(
        handle="alice",
        bio="@alice@10.0.0.5 @alice@printer.local @bob@db.internal https://192.168.1.1/@alice",
        url="https://localhost/@alice",
        links=("https://169.254.169.254/@alice",),
    )
    assert extract(account) == []


def test_the_session_refuses_private_hosts_but_trusts_the_configured_ones() -> None:
    session = make_session(Politeness(timeout=1, retries=0, trusted=frozenset({"localhost"})))
    for url in ("http://127.0.0.1:9/", "https://169.254.169.254/latest", "https://db.internal/"):
        with pytest.raises(requests.ConnectionError, match="not contacting"):
            session.get(url)
    # The operator's own AppView or PDS on localhost is contacted (nothing listens on port 9).
    with pytest.raises(requests.ConnectionError) as e:
        session.get("http://localhost:9/")
    assert "not contacting" not in str(e.value)


def test_authorize_refuses_a_private_server(make_app: Any) -> None:
    client = make_app().test_client()
    r = client.post("/api/mastodon/authorize", json={"server": "https://169.254.169.254"})
    assert r.status_code == 422
    assert "private" in r.get_json()["error"]["message"]


def test_a_public_name_pointing_inside_is_refused_without_a_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS can point a public-looking name at a private address: when we connect ourselves,
    the addresses are checked too (through a proxy, the proxy resolves and decides)."""
    import socket

    real = socket.getaddrinfo

    def fake(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "inside.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", 0))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(k, raising=False)
    session = make_session(Politeness(timeout=1, retries=0))
    with pytest.raises(requests.ConnectionError, match="points to a private address"):
        session.get("https://inside.example/.well-known/nodeinfo")
    proxied = make_session(Politeness(timeout=1, retries=0))
    with pytest.raises(requests.ConnectionError) as e:  # the (absent) proxy is asked instead
        proxied.get(
            "https://inside.example/.well-known/nodeinfo",
            proxies={"https": "http://127.0.0.1:9"},
        )
    assert "private" not in str(e.value)


@pytest.mark.parametrize(
    "target",
    [
        "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 of the cloud metadata address
        "http://[::ffff:127.0.0.1]:8080/",
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://127.0.0.1:9/",
    ],
)
def test_a_redirect_to_a_private_address_is_not_followed(
    clean_internet: Internet, target: str
) -> None:
    """A fediverse server named in a bio answers its WebFinger with a redirect inside: every
    hop is checked, IPv6 forms carrying a private IPv4 address included."""
    host = "piaille.fr"
    assert host in clean_internet.world.data["servers"]
    clean_internet.control.add_fault(
        host, "redirect", path="/.well-known/webfinger", location=target
    )
    session = make_session(Politeness(timeout=2, retries=0))
    with pytest.raises(requests.ConnectionError, match="not contacting"):
        session.get(f"https://{host}/.well-known/webfinger?resource=acct:alice@{host}")
    asked = [h for h, path in clean_internet.control.paths]
    assert asked == [host]  # the server was asked; the place it pointed to, never


def test_the_connection_goes_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: a name answers a public address when it is checked, then a private one
    when the connection resolves it again. The connection must go to the address checked.
    (Nothing is contacted: the socket's opening is recorded and refused.)"""
    import socket

    import urllib3.util.connection as u3

    answers = iter(["8.8.8.8"] + ["127.0.0.1"] * 10)

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), 0))]
        raise socket.gaierror("no such name here")

    opened: list[tuple[str, int]] = []

    def record(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        opened.append(address)
        raise ConnectionRefusedError("recorded, not opened")

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(u3, "create_connection", record)
    for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(k, raising=False)
    session = make_session(Politeness(timeout=1, retries=1))
    with pytest.raises(requests.ConnectionError):
        session.get("https://rebind.example/.well-known/nodeinfo")
    assert opened and set(opened) == {("8.8.8.8", 443)}  # the checked address, every attempt


def test_a_name_the_check_cannot_resolve_is_not_contacted(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    import urllib3.util.connection as u3

    def failing(host: str, *args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror("SERVFAIL")

    opened: list[Any] = []
    monkeypatch.setattr(socket, "getaddrinfo", failing)
    monkeypatch.setattr(u3, "create_connection", lambda *a, **k: opened.append(a))
    for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(k, raising=False)
    session = make_session(Politeness(timeout=1, retries=0))
    with pytest.raises(requests.ConnectionError, match="does not resolve"):
        session.get("https://flaky-dns.example/")
    assert opened == []

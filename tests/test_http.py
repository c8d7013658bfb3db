"""The one HTTP layer: rate-limit headers, proxy and trust variables, bounded answers."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC
from email.utils import formatdate

import pytest
import requests

from server.networks.http import Politeness, make_session, reset_delay
from tests.envvars import patched
from tests.standins.internet import Internet

NOW = 1_800_000_000.0


def _resp(**headers: str) -> requests.Response:
    r = requests.Response()
    r.status_code = 429
    r.headers.update(headers)
    return r


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"ratelimit-reset": str(int(NOW + 12))}, 12.0),
        ({"ratelimit-reset": "5"}, 5.0),
        ({"X-RateLimit-Reset": "2027-01-15T08:00:10.000Z"}, None),
        ({}, None),
        ({"Retry-After": "soon"}, None),
    ],
)
def test_reset_delay(headers: dict[str, str], expected: float | None) -> None:
    got = reset_delay(_resp(**headers), now=NOW)
    if expected is None and "X-RateLimit-Reset" in headers:
        assert got is not None and got > 0
    elif expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1)


def test_mastodon_reset_is_iso8601() -> None:
    from datetime import datetime

    at = datetime.fromtimestamp(NOW + 42, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert reset_delay(_resp(**{"X-RateLimit-Reset": at}), now=NOW) == pytest.approx(42, abs=0.01)


@pytest.fixture
def bare_env(internet: Internet) -> Iterator[dict[str, str]]:
    """The environment without the proxy and CA variables; restored afterwards."""
    keys = [*internet.env, "SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE"]
    with patched(unset=keys):
        yield dict(internet.env)


URL = "https://piaille.fr/.well-known/nodeinfo"


def test_proxy_and_ca_from_environment(bare_env: dict[str, str]) -> None:
    session = make_session(Politeness(retries=0, timeout=3))
    with pytest.raises(requests.RequestException):
        session.get(URL)  # no proxy: the stand-in is unreachable (no network here)
    os.environ.update(bare_env)
    assert session.get(URL).status_code == 200


def test_ssl_cert_file_is_honoured(bare_env: dict[str, str]) -> None:
    os.environ["HTTPS_PROXY"] = bare_env["HTTPS_PROXY"]
    session = make_session(Politeness(retries=0, timeout=3))
    with pytest.raises(requests.exceptions.SSLError):
        session.get(URL)  # proxy but no trust in the local CA
    os.environ["SSL_CERT_FILE"] = bare_env["REQUESTS_CA_BUNDLE"]
    assert make_session(Politeness(retries=0, timeout=3)).get(URL).status_code == 200


def test_no_proxy_bypasses_the_proxy(clean_internet: Internet) -> None:
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "piaille.fr"
    try:
        with pytest.raises(requests.RequestException):
            make_session(Politeness(retries=0, timeout=2)).get(URL)
    finally:
        os.environ["NO_PROXY"] = os.environ["no_proxy"] = clean_internet.env["NO_PROXY"]


def test_slow_drip_is_cut_at_a_total_deadline(clean_internet: Internet) -> None:
    clean_internet.control.add_fault("piaille.fr", "drip", seconds=20)
    start = time.monotonic()
    with pytest.raises(requests.Timeout):
        make_session(Politeness(retries=0, timeout=0.5)).get(URL)
    assert time.monotonic() - start < 10


def test_429_pauses_the_host_then_succeeds(clean_internet: Internet) -> None:
    clean_internet.control.add_fault("piaille.fr", "ratelimit", seconds=1, remaining=1)
    r = make_session(Politeness(retries=1, timeout=3)).get(URL)
    assert r.status_code == 200
    assert clean_internet.control.hits["piaille.fr"] == 2


def test_long_429_is_returned_not_waited(clean_internet: Internet) -> None:
    clean_internet.control.add_fault("piaille.fr", "ratelimit", seconds=600)
    r = make_session(Politeness(retries=1, timeout=3, max_wait=5)).get(URL)
    assert r.status_code == 429


def test_a_host_that_cannot_be_reached_is_asked_once(clean_internet: Internet) -> None:
    """#23: a name that does not resolve (behind a proxy: its 502 on CONNECT) was asked three
    times (two retries); asking again at once cannot mend it. A 5xx answer is still retried."""
    from server.networks.http import Stats, current_stats

    clean_internet.world.unresolvable.add("gone-forever.fr")
    stats = Stats()
    token = current_stats.set(stats)
    try:
        with pytest.raises(requests.ConnectionError):
            make_session(Politeness(retries=2, timeout=3, backoff=0.01)).get(
                "https://gone-forever.fr/.well-known/atproto-did"
            )
        assert stats.upstream_requests == 1
        clean_internet.control.add_fault("piaille.fr", "status", status=503)
        r = make_session(Politeness(retries=2, timeout=3, backoff=0.01)).get(URL)
        assert r.status_code == 503 and clean_internet.control.hits["piaille.fr"] == 3
    finally:
        current_stats.reset(token)
        clean_internet.world.unresolvable.discard("gone-forever.fr")

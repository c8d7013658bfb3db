"""What a hosted instance puts in front of the API: the token, the per-client rate limit, CORS."""

from __future__ import annotations

from typing import Any

import pytest

from server.core.config import ConfigError, load
from server.core.extension_id import CHROME_ORIGIN
from tests.conftest import steady_window

TOKEN = "s3cret-token-for-tests-0123456789"
EXTENSION = CHROME_ORIGIN


def test_without_a_token_setting_the_api_is_open(make_app: Any) -> None:
    client = make_app().test_client()
    r = client.post("/api/resolve", json={"accounts": []})
    assert r.status_code == 200


def test_a_token_is_required_when_set(make_app: Any) -> None:
    client = make_app(PASSERELLE_API_TOKEN=TOKEN).test_client()
    assert client.get("/api/health").status_code == 200  # the options page's first check
    assert client.get("/api/openapi.json").status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = client.post("/api/resolve", json={"accounts": []}, headers=headers)
        assert r.status_code == 401
        assert r.get_json()["error"]["code"] == "unauthorized"
        assert r.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/api/jobs/0123456789abcdef").status_code == 401
    ok = client.post(
        "/api/resolve", json={"accounts": []}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert ok.status_code == 200
    # The Mastodon server sends the browser back without our header: that page stays reachable
    # (and answers on its own terms: no such sign-in).
    assert client.get("/api/mastodon/callback?state=x&code=y").status_code == 401
    assert "unauthorized" not in client.get("/api/mastodon/callback?state=x&code=y").text


def test_a_preflight_needs_no_token(make_app: Any) -> None:
    client = make_app(PASSERELLE_API_TOKEN=TOKEN).test_client()
    r = client.options(
        "/api/resolve",
        headers={
            "Origin": EXTENSION,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == EXTENSION
    assert "authorization" in r.headers["Access-Control-Allow-Headers"].lower()


@pytest.mark.parametrize("bad", ["short", "has space in the token value", "é" * 20])
def test_a_weak_or_odd_token_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="PASSERELLE_API_TOKEN"):
        load(env={"PASSERELLE_API_TOKEN": bad})


def test_the_token_is_not_shown_with_the_settings() -> None:
    assert TOKEN not in repr(load(env={"PASSERELLE_API_TOKEN": TOKEN}))


def test_cors_admits_the_extension_and_configured_origins_only(make_app: Any) -> None:
    client = make_app(PASSERELLE_ALLOWED_ORIGINS="https://asso.example").test_client()
    for origin, allowed in [
        (EXTENSION, True),
        ("moz-extension://0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", True),
        ("https://asso.example", True),
        ("https://evil.example", False),
        ("https://x.com", False),
        ("null", False),
    ]:
        r = client.get("/api/health", headers={"Origin": origin})
        assert (r.headers.get("Access-Control-Allow-Origin") == origin) is allowed, origin


def test_rate_limit_per_client_with_retry_after(make_app: Any) -> None:
    steady_window(5)
    client = make_app(PASSERELLE_RATE_LIMIT="5").test_client()
    here = {"REMOTE_ADDR": "192.0.2.10"}
    for _ in range(5):
        assert client.get("/api/openapi.json", environ_base=here).status_code == 200
    r = client.get("/api/openapi.json", environ_base=here)
    assert r.status_code == 429
    assert r.get_json()["error"]["code"] == "rate-limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # Another client is not held back by the first.
    other = {"REMOTE_ADDR": "192.0.2.11"}
    assert client.get("/api/openapi.json", environ_base=other).status_code == 200


def test_a_big_resolve_weighs_one_unit_per_hundred_accounts(make_app: Any) -> None:
    steady_window(5)
    client = make_app(PASSERELLE_RATE_LIMIT="5", PASSERELLE_NAME_SEARCH="off").test_client()
    accounts = [{"handle": f"nobody_{i}"} for i in range(300)]  # 3 units
    here = {"REMOTE_ADDR": "192.0.2.20"}
    assert (
        client.post("/api/resolve", json={"accounts": accounts}, environ_base=here).status_code
        == 200
    )
    assert client.get("/api/openapi.json", environ_base=here).status_code == 200  # 4
    assert client.get("/api/openapi.json", environ_base=here).status_code == 200  # 5
    assert client.get("/api/openapi.json", environ_base=here).status_code == 429


def test_forwarded_for_counts_only_behind_trusted_proxies(make_app: Any) -> None:
    steady_window(5)

    def hammer(client: Any) -> list[int]:
        return [
            client.get(
                "/api/openapi.json",
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
                environ_base={"REMOTE_ADDR": "10.0.0.1"},
            ).status_code
            for i in range(4)
        ]

    # Not trusted: a client cannot escape the limit by making up addresses.
    assert hammer(make_app(PASSERELLE_RATE_LIMIT="2").test_client()) == [200, 200, 429, 429]
    trusted = make_app(PASSERELLE_RATE_LIMIT="2", PASSERELLE_TRUSTED_PROXIES="1").test_client()
    assert hammer(trusted) == [200, 200, 200, 200]


def test_the_health_check_is_never_counted(make_app: Any) -> None:
    """Monitors and the extension poll it; a poll that timed out on a busy machine is still
    answered, so counting it made the limit depend on the machine's speed."""
    steady_window(5)
    client = make_app(PASSERELLE_RATE_LIMIT="2").test_client()
    here = {"REMOTE_ADDR": "192.0.2.30"}
    assert all(client.get("/api/health", environ_base=here).status_code == 200 for _ in range(20))
    spent = [client.get("/api/openapi.json", environ_base=here).status_code for _ in range(3)]
    assert spent == [200, 200, 429]
    assert client.get("/api/health", environ_base=here).status_code == 200


def test_rate_limit_zero_turns_it_off(make_app: Any) -> None:
    client = make_app(PASSERELLE_RATE_LIMIT="0").test_client()
    assert all(client.get("/api/health").status_code == 200 for _ in range(50))


def test_every_guarded_operation_of_the_description_asks_for_the_token(make_app: Any) -> None:
    """Driven by the published description, so a new endpoint cannot be left open by mistake:
    every operation not marked open answers 401 without the token, whatever its input."""
    client = make_app(PASSERELLE_API_TOKEN=TOKEN).test_client()
    document = client.get("/api/openapi.json").get_json()
    assert document["security"] == [{"token": []}]
    checked = 0
    for path, item in document["paths"].items():
        for method, op in item.items():
            url = path.replace("{job_id}", "0123456789abcdef")
            r = client.open(url, method=method.upper(), json={} if method == "post" else None)
            if op.get("security") == []:
                assert r.status_code != 401, (method, path)
            else:
                assert r.status_code == 401, (method, path)
                checked += 1
    assert checked >= 7


# -- distinct servers: one request (or one client) must not make the service a scanner ----------
def _scattered(n: int, start: int = 0) -> list[dict[str, Any]]:
    """`n` accounts, each naming an address on a server of its own."""
    return [
        {"handle": f"scatter{i}", "name": f"Scatter {i}", "bio": f"Moi : @u{i}@srv{i}.example"}
        for i in range(start, start + n)
    ]


def _servers_asked(net: Any) -> set[str]:
    return {h for h, _ in net.control.paths if h.startswith("srv")}


def test_one_request_contacts_a_bounded_number_of_servers(
    make_app: Any, clean_internet: Any
) -> None:
    """Before: 1,000 accounts naming 1,000 servers made the service contact all of them."""
    client = make_app(PASSERELLE_MAX_HOSTS=10, PASSERELLE_HOSTS_PER_HOUR=0).test_client()
    r = client.post("/api/resolve", json={"accounts": _scattered(30), "networks": ["mastodon"]})
    assert r.status_code == 200
    asked = _servers_asked(clean_internet)
    assert 0 < len(asked) <= 10, asked
    results = r.get_json()["results"]
    unchecked = [x["handle"] for x in results if x["error"]]
    # Nothing is lost: the accounts beyond the bound say so, and asking again answers them.
    assert len(unchecked) >= 20
    again = [a for a in _scattered(30) if a["handle"] in unchecked][:10]
    r = client.post("/api/resolve", json={"accounts": again, "networks": ["mastodon"]})
    assert not [x for x in r.get_json()["results"] if x["error"]]


def test_one_client_contacts_a_bounded_number_of_servers_an_hour(
    make_app: Any, clean_internet: Any
) -> None:
    client = make_app(PASSERELLE_MAX_HOSTS=0, PASSERELLE_HOSTS_PER_HOUR=12).test_client()
    r = client.post("/api/resolve", json={"accounts": _scattered(8), "networks": ["mastodon"]})
    assert r.status_code == 200 and not [x for x in r.get_json()["results"] if x["error"]]
    r = client.post("/api/resolve", json={"accounts": _scattered(8, 8), "networks": ["mastodon"]})
    assert r.status_code == 200  # four servers were left this hour: four asked, four later
    assert len(_servers_asked(clean_internet)) == 12
    r = client.post("/api/resolve", json={"accounts": _scattered(2, 16), "networks": ["mastodon"]})
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate-limited"
    assert 0 < int(r.headers["Retry-After"]) <= 3600
    assert len(_servers_asked(clean_internet)) == 12
    # Another address has its own hour.
    r = client.post(
        "/api/resolve",
        json={"accounts": _scattered(2, 16), "networks": ["mastodon"]},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert r.status_code == 200

"""The HTTP API's contract (API.md §2): shapes, order, limits and every documented error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from server import __version__
from server.core.extension_id import CHROME_ORIGIN

ALICE = {"handle": "alice_m", "name": "Alice", "bio": "🦋 @alice.bsky.social"}


def error_of(response: Any) -> dict[str, Any]:
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    return body["error"]


def test_health(make_app: Any) -> None:
    r = make_app().test_client().get("/api/health")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "version": __version__}


def test_resolve_answers_in_input_order_with_duplicates(make_app: Any) -> None:
    accounts = [{"handle": "zz_nobody_1"}, ALICE, {"handle": "ZZ_NOBODY_1"}, {"handle": "zz2"}]
    r = make_app().test_client().post("/api/resolve", json={"accounts": accounts})
    assert r.status_code == 200
    body = r.get_json()
    assert [x["handle"] for x in body["results"]] == [
        "zz_nobody_1",
        "alice_m",
        "ZZ_NOBODY_1",
        "zz2",
    ]
    assert body["results"][0]["bluesky"] == body["results"][2]["bluesky"]
    assert set(body["stats"]) == {"accounts", "upstream_requests", "cache_hits", "seconds"}
    assert body["stats"]["accounts"] == 4
    for res in body["results"]:
        assert set(res) == {"handle", "bluesky", "mastodon", "candidates", "error"}
        assert set(res["candidates"]) == {"bluesky", "mastodon"}


def test_resolve_accepts_empty_list_and_unknown_fields(make_app: Any) -> None:
    c = make_app().test_client()
    r = c.post("/api/resolve", json={"accounts": [], "extra": 1})
    assert r.status_code == 200 and r.get_json()["results"] == []
    r = c.post(
        "/api/resolve",
        json={"accounts": [{"handle": "@zz", "color": "red", "url": None, "links": None, "id": 5}]},
    )
    assert r.status_code == 200
    assert r.get_json()["results"][0]["handle"] == "zz"


@pytest.mark.parametrize(
    ("body", "status", "code", "needle"),
    [
        (b"{not json", 400, "malformed", "JSON"),
        (b"", 400, "malformed", "JSON"),
        (b"\xff\xfe", 400, "malformed", "UTF-8"),
        (b"[" * 100000 + b"]" * 100000, 400, "malformed", "JSON"),
        (b'"hello"', 422, "invalid-field", "accounts"),
        (b"{}", 422, "invalid-field", "accounts is required"),
        (b'{"accounts": {}}', 422, "invalid-field", "accounts must be a list"),
        (b'{"accounts": [1]}', 422, "invalid-field", "accounts[0]"),
        (b'{"accounts": [{}]}', 422, "invalid-field", "accounts[0].handle"),
        (b'{"accounts": [{"handle": 5}]}', 422, "invalid-field", "accounts[0].handle"),
        (b'{"accounts": [{"handle": "a b"}]}', 422, "invalid-field", "accounts[0].handle"),
        (b'{"accounts": [{"handle": ""}]}', 422, "invalid-field", "accounts[0].handle"),
        (b'{"accounts": [{"handle": "a", "bio": 3}]}', 422, "invalid-field", "accounts[0].bio"),
        (b'{"accounts": [{"handle": "a", "links": "x"}]}', 422, "invalid-field", "links"),
        (b'{"accounts": [{"handle": "a", "links": [1]}]}', 422, "invalid-field", "links[0]"),
        (
            b'{"accounts": [{"handle": "a", "follows_you": "yes"}]}',
            422,
            "invalid-field",
            "follows_you",
        ),
        (b'{"accounts": [{"handle": "a", "id": [1]}]}', 422, "invalid-field", "id"),
        (b'{"accounts": [], "networks": ["twitter"]}', 422, "invalid-field", "networks[0]"),
        (b'{"accounts": [], "networks": []}', 422, "invalid-field", "networks"),
        (b'{"accounts": [], "networks": "bluesky"}', 422, "invalid-field", "networks"),
    ],
)
def test_bad_bodies(make_app: Any, body: bytes, status: int, code: str, needle: str) -> None:
    r = make_app().test_client().post("/api/resolve", data=body, content_type="application/json")
    assert r.status_code == status
    err = error_of(r)
    assert err["code"] == code
    assert needle in err["message"]


def test_not_json_content_type(make_app: Any) -> None:
    r = (
        make_app()
        .test_client()
        .post("/api/resolve", data="accounts=1", content_type="application/x-www-form-urlencoded")
    )
    assert r.status_code == 415
    assert error_of(r)["code"] == "unsupported-media-type"


def test_too_many_accounts(make_app: Any) -> None:
    accounts = [{"handle": f"u{i}"} for i in range(1001)]
    r = make_app().test_client().post("/api/resolve", json={"accounts": accounts})
    assert r.status_code == 413
    assert "1,000" in error_of(r)["message"]


def test_oversized_body(make_app: Any) -> None:
    body = json.dumps({"accounts": [{"handle": "a", "bio": "x" * 4000}] * 600}).encode()
    assert len(body) > 2 * 1024 * 1024
    r = make_app().test_client().post("/api/resolve", data=body, content_type="application/json")
    assert r.status_code == 413
    assert error_of(r)["code"] == "too-large"


def test_oversized_field(make_app: Any) -> None:
    r = (
        make_app()
        .test_client()
        .post("/api/resolve", json={"accounts": [{"handle": "a", "bio": "x" * 5001}]})
    )
    assert r.status_code == 422
    assert "accounts[0].bio" in error_of(r)["message"]
    r = (
        make_app()
        .test_client()
        .post("/api/resolve", json={"accounts": [{"handle": "a", "bio": "é" * 5000}]})
    )
    assert r.status_code == 200


def test_unknown_route_and_method_are_json(make_app: Any) -> None:
    c = make_app().test_client()
    r = c.get("/api/nothing")
    assert r.status_code == 404 and error_of(r)["code"] == "not-found"
    r = c.get("/api/resolve")
    assert r.status_code == 405 and error_of(r)["code"] == "method-not-allowed"


def test_cors_admits_extension_origins_only(make_app: Any) -> None:
    c = make_app(PASSERELLE_ALLOWED_ORIGINS="https://asso.example").test_client()
    for origin, allowed in [
        (CHROME_ORIGIN, True),  # our Chrome build, by the ID its manifest's key gives it
        # Another Chrome extension: before, every `chrome-extension://` origin was admitted.
        ("chrome-extension://abcdefghijklmnopabcdefghijklmnop", False),
        ("moz-extension://0f7b3a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", True),
        ("https://asso.example", True),
        ("https://evil.example", False),
        ("chrome-extension://short", False),
        ("null", False),
    ]:
        r = c.options(
            "/api/resolve",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        got = r.headers.get("Access-Control-Allow-Origin")
        assert (got == origin) is allowed, (origin, got)


def test_version_is_the_package_version() -> None:
    from importlib import metadata

    assert __version__ == metadata.version("passerelle")


def test_a_chunked_body_is_cut_off_at_the_limit(served: Any) -> None:
    """Without Content-Length the body is streamed: the real server still stops at 2 MB and
    answers 413 in the JSON shape, without reading the rest into memory first."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(served.url)
    sent = 0

    def body() -> Any:
        nonlocal sent
        yield b'{"accounts": [{"handle": "a", "bio": "'
        for _ in range(64):  # 4 MB of "x" in 64 KB chunks
            sent += 65536
            yield b"x" * 65536
        yield b'"}]}'

    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(
            "POST",
            "/api/resolve",
            body=body(),
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        r = conn.getresponse()
        assert r.status == 413
        assert json.loads(r.read())["error"]["code"] == "too-large"
    except (BrokenPipeError, ConnectionResetError):
        # The server may close the connection as soon as the limit is passed: also a refusal.
        assert sent < 4 * 1024 * 1024
    finally:
        conn.close()


def test_a_small_chunked_body_is_read(served: Any) -> None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(served.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        body = iter(
            [b'{"accounts": ', b'[{"handle": "nobody_at_all"}], ', b'"networks": ["bluesky"]}']
        )
        conn.request(
            "POST",
            "/api/resolve",
            body=body,
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        r = conn.getresponse()
        assert r.status == 200
        assert json.loads(r.read())["results"][0]["handle"] == "nobody_at_all"
    finally:
        conn.close()

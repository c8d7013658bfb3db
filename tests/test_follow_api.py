"""The service's follow endpoints against the real local AT Protocol network: sign-in (the app
password is used once), a follow job with a list and a starter pack, its progress, and
resuming a job after the service restarted."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server import create_app
from tests import devenv
from tests.test_follow_bluesky import records

pytestmark = pytest.mark.devenv

PASSWORD = "app-pass-1234"
PEOPLE = [f"gens{i:02d}.test" for i in range(6)]


@pytest.fixture(scope="module")
def network() -> Iterator[devenv.AtprotoNetwork]:
    accounts = [{"handle": "moi-x.test", "displayName": "Moi", "password": PASSWORD}]
    accounts += [{"handle": h, "displayName": h} for h in PEOPLE]
    net = devenv.start(accounts)
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture
def make(network: devenv.AtprotoNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for k in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(k, raising=False)

    def app() -> Any:
        return create_app(
            {
                "PASSERELLE_BSKY_PDS": network.pds,
                "PASSERELLE_CACHE_URL": "none",
                "PASSERELLE_RETRIES": "0",
            }
        ).test_client()

    return app


def wait_done(client: Any, job: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        status = client.get(f"/api/jobs/{job}").get_json()
        if status["status"] in ("done", "stopped") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def targets(network: devenv.AtprotoNetwork, handles: list[str]) -> list[dict[str, str]]:
    return [{"did": network.accounts[h], "handle": h, "x": h.split(".")[0]} for h in handles]


def test_sign_in_refused(make: Any) -> None:
    r = make().post("/api/bluesky/session", json={"handle": "moi-x.test", "app_password": "no"})
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "sign-in-refused"


def test_follow_job(make: Any, network: devenv.AtprotoNetwork, tmp_path: Path) -> None:
    client = make()
    r = client.post(
        "/api/bluesky/session", json={"handle": "@moi-x.test", "app_password": PASSWORD}
    )
    assert r.status_code == 200
    session = r.get_json()["session"]
    assert PASSWORD not in json.dumps(r.get_json())
    r = client.post(
        "/api/bluesky/follow",
        json={
            "session": session,
            "targets": targets(network, PEOPLE[:4]),
            "list": "Depuis X",
            "starter_pack": "Mon réseau",
        },
    )
    assert r.status_code == 202
    job = r.get_json()["job"]
    status = wait_done(client, job)
    assert status["status"] == "done", status
    assert status["counts"]["followed"] == 4
    assert set(status["lists"]) == {"Depuis X", "Mon réseau"}
    follows = {rec["value"]["subject"] for rec in records(network, "app.bsky.graph.follow")}
    assert follows == {network.accounts[h] for h in PEOPLE[:4]}
    saved = list((tmp_path / "state" / "passerelle" / "jobs").glob("*.json"))
    assert saved and PASSWORD not in saved[0].read_text() and session not in saved[0].read_text()

    # The service restarts: the job is known from what the workers share (its last status, kept
    # in the state folder with the cache off), and resumes after sign-in.
    client = make()
    assert client.get(f"/api/jobs/{job}").get_json()["status"] == "done"
    session = client.post(
        "/api/bluesky/session", json={"handle": "moi-x.test", "app_password": PASSWORD}
    ).get_json()["session"]
    r = client.post(
        "/api/bluesky/follow",
        json={"session": session, "targets": targets(network, PEOPLE), "job": job},
    )
    assert r.status_code == 202 and r.get_json()["job"] == job
    status = wait_done(client, job)
    assert status["counts"] == {
        "followed": 6,
        "skipped": 0,
        "unavailable": 0,
        "failed": 0,
        "pending": 0,
    }


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/bluesky/follow", {"session": "nope", "targets": []}, 401),
        ("/api/bluesky/session", {"handle": ""}, 422),
        ("/api/bluesky/session", [], 422),
    ],
)
def test_bad_requests(make: Any, path: str, body: Any, status: int) -> None:
    assert make().post(path, json=body).status_code == status


def test_unknown_job(make: Any) -> None:
    client = make()
    assert client.get("/api/jobs/../../etc/passwd").status_code == 404
    assert client.get("/api/jobs/0123456789abcdef").status_code == 404


def post(client: Any, path: str, body: Any) -> Any:
    """As a browser sends it: JSON with \\u escapes (a lone surrogate travels that way)."""
    return client.post(path, data=json.dumps(body), content_type="application/json")


def test_bad_text_and_identifiers_are_refused_and_leave_no_file(
    make: Any, network: devenv.AtprotoNetwork, tmp_path: Path
) -> None:
    """Lone surrogates (valid JSON, not text), a 1.5 MB DID, a malformed handle or X handle: a
    422 naming the field, never a 500, and nothing written in the jobs folder."""
    client = make()
    assert (
        post(
            client, "/api/bluesky/session", {"handle": "moi\ud800.test", "app_password": PASSWORD}
        ).status_code
        == 422
    )
    assert (
        post(
            client, "/api/bluesky/session", {"handle": "moi-x.test", "app_password": "\ud800"}
        ).status_code
        == 422
    )
    session = client.post(
        "/api/bluesky/session", json={"handle": "moi-x.test", "app_password": PASSWORD}
    ).get_json()["session"]
    [good] = targets(network, PEOPLE[:1])
    for bad in (
        {**good, "did": "did:plc:\ud800"},
        {**good, "did": "did:web:" + "a" * 1_500_000},
        {**good, "did": "did:plc:short"},
        {**good, "handle": "\ud800.test"},
        {**good, "handle": "not a handle"},
        {**good, "x": "\ud800"},
        {**good, "x": "much_too_long_for_x"},
    ):
        r = post(client, "/api/bluesky/follow", {"session": session, "targets": [bad]})
        assert r.status_code == 422, bad.keys()
        assert r.get_json()["error"]["code"] == "invalid-field"
    for field in ("list", "starter_pack"):
        r = post(
            client,
            "/api/bluesky/follow",
            {"session": session, "targets": [good], field: "Liste \ud800"},
        )
        assert r.status_code == 422 and field in r.get_json()["error"]["message"]
    jobs = tmp_path / "state" / "passerelle" / "jobs"
    left = [p.name for p in jobs.iterdir() if not p.name.startswith("shared.sqlite3")]
    assert not left, left  # no job file, no temporary file (the workers' shared store aside)

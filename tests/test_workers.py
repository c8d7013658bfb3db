"""Following through a service of several workers and machines, with no sticky sessions.

Before: with `passerelle serve --workers 2`, 4 of 10 polls of a live job answered "stopped: the
service restarted" (the other worker did not know the job), and a sign-in worked one time in
two. Now sign-ins and live jobs are shared through the cache (server/follow/shared.py).

Two services ("machines") share one real Redis and one secret key: the user signs in at one,
follows and polls at the other, alternately; a Mastodon sign-in starts at one and is collected
at the other; and one `passerelle serve --workers 2` (its key drawn at start) answers every
poll of a live job. Bluesky runs on the real local AT Protocol network, Mastodon on the
stand-in home server.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests import devenv
from tests.conftest import Served
from tests.envvars import patched
from tests.redis_server import RedisServer
from tests.standins.internet import Internet
from tests.test_follow_bluesky import records
from tests.test_follow_mastodon import _server
from tests.test_mastodon_oauth import HOME, consent

pytestmark = pytest.mark.devenv

PASSWORD = "app-pass-5678"
PEOPLE = [f"ouvr{i:02d}.test" for i in range(30)]
KEY = "a-secret-the-operator-keeps-in-the-environment"


@pytest.fixture(scope="module")
def network() -> Iterator[devenv.AtprotoNetwork]:
    accounts = [{"handle": "moi-w.test", "displayName": "Moi", "password": PASSWORD}]
    # The same follow started twice at once (#25): on one service, and on two machines.
    accounts += [
        {"handle": h, "password": PASSWORD} for h in ("moi-d1.test", "moi-d2.test", "moi-d3.test")
    ]
    accounts += [{"handle": h, "displayName": h} for h in PEOPLE]
    net = devenv.start(accounts)
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture(scope="module")
def internet() -> Iterator[Internet]:
    world = {
        "bluesky": [],
        "accounts": [],
        "servers": {
            HOME: _server(["moi"], signed_in="moi"),
            "piaille.fr": _server([f"p{i}" for i in range(40)]),
        },
    }
    net = Internet(world)
    net.world.ratelimit = (300, 300.0)
    yield net
    net.stop()


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    r = RedisServer()
    yield r
    r.stop()


def _env(
    network: devenv.AtprotoNetwork,
    internet: Internet,
    redis: RedisServer,
    state: Path,
    **extra: str,
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(internet.env)
    env.update(
        {
            "PASSERELLE_BSKY_PDS": network.pds,
            "PASSERELLE_CACHE_URL": redis.url,
            "PASSERELLE_RETRIES": "0",
            "PASSERELLE_RATE_LIMIT": "0",
            "XDG_STATE_HOME": str(state),
        }
    )
    env.pop("PASSERELLE_SECRET_KEY", None)
    env.update(extra)
    return env


def call(base: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        base + path, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def targets(network: devenv.AtprotoNetwork, people: list[str]) -> list[dict[str, str]]:
    return [{"did": network.accounts[h], "handle": h} for h in people]


def test_two_machines_share_sign_ins_and_jobs(
    network: devenv.AtprotoNetwork, internet: Internet, redis: RedisServer, tmp_path: Path
) -> None:
    a = Served(_env(network, internet, redis, tmp_path / "a", PASSERELLE_SECRET_KEY=KEY))
    b = Served(_env(network, internet, redis, tmp_path / "b", PASSERELLE_SECRET_KEY=KEY))
    try:
        # Bluesky: sign in at A, follow at B, poll at both.
        status, signed = call(
            a.url, "/api/bluesky/session", {"handle": "moi-w.test", "app_password": PASSWORD}
        )
        assert status == 200, signed
        status, started = call(
            b.url,
            "/api/bluesky/follow",
            {"session": signed["session"], "targets": targets(network, PEOPLE[:20])},
        )
        assert status == 202, started  # before: 401 session-expired (B never saw the sign-in)
        job = started["job"]
        seen = []
        for i in range(40):
            status, view = call((a, b)[i % 2].url, f"/api/jobs/{job}")
            assert status == 200, view
            seen.append(view["status"])
            assert view["status"] != "stopped", view["message"]
            if view["status"] == "done":
                break
            time.sleep(0.2)
        assert seen[-1] == "done" or _finish(a, job)["status"] == "done"
        assert _finish(a, job)["counts"]["followed"] == 20

        # Mastodon: the sign-in starts at B; the server sends the browser back to A; the
        # extension collects the session at B and follows through A.
        status, auth = call(b.url, "/api/mastodon/authorize", {"server": HOME})
        assert status == 200, auth
        with patched(internet.env):  # the user's browser, on the stand-in internet
            back = urlsplit(consent(auth["authorize_url"]))
        with urllib.request.urlopen(f"{a.url}{back.path}?{back.query}", timeout=60) as r:
            assert "Connected as moi@home.social" in r.read().decode()
        status, ready = call(
            b.url, "/api/mastodon/session", {"state": auth["state"], "key": auth["key"]}
        )
        assert status == 200 and ready["ready"], ready
        status, started = call(
            a.url,
            "/api/mastodon/follow",
            {
                "session": ready["session"],
                "targets": [{"acct": f"p{i}@piaille.fr"} for i in range(5)],
            },
        )
        assert status == 202, started
        done = _finish(b, started["job"])
        assert done["status"] == "done" and done["counts"]["followed"] == 5, done
        # The sealed records in Redis hold no credential in the clear.
        import redis as redis_lib

        dump = b"".join(
            redis_lib.Redis.from_url(redis.url).get(k) or b""
            for k in redis_lib.Redis.from_url(redis.url).keys("passerelle:shared:*")
        )
        assert PASSWORD.encode() not in dump and signed["session"].encode() not in dump
        assert b"accessJwt" not in dump and b"refreshJwt" not in dump
    finally:
        a.stop()
        b.stop()


def _finish(served: Served, job: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        _, view = call(served.url, f"/api/jobs/{job}")
        if view["status"] in ("done", "stopped") or time.monotonic() > deadline:
            return view
        time.sleep(0.2)


@pytest.mark.parametrize("cache", ["redis", "none"])
def test_one_serve_with_two_workers_answers_every_poll(
    network: devenv.AtprotoNetwork,
    internet: Internet,
    redis: RedisServer,
    tmp_path: Path,
    cache: str,
) -> None:
    """The key `passerelle serve` draws at start reaches both its workers (no setting). With
    the cache off, the workers share through a file of their own beside the job files: no
    sticky sessions either."""
    extra = {"PASSERELLE_CACHE_URL": "none"} if cache == "none" else {}
    s = Served(_env(network, internet, redis, tmp_path, **extra), workers=2)
    try:
        for attempt in range(6):  # each sign-in and each follow may reach either worker
            status, signed = call(
                s.url, "/api/bluesky/session", {"handle": "moi-w.test", "app_password": PASSWORD}
            )
            assert status == 200, signed
            people = PEOPLE[20 + attempt : 21 + attempt]
            status, started = call(
                s.url,
                "/api/bluesky/follow",
                {"session": signed["session"], "targets": targets(network, people)},
            )
            assert status == 202, (attempt, started)
            for _ in range(10):
                status, view = call(s.url, f"/api/jobs/{started['job']}")
                assert status == 200 and view["status"] != "stopped", view
            assert _finish(s, started["job"])["status"] == "done"
    finally:
        s.stop()


@pytest.mark.parametrize("where", ["one service", "two workers", "two machines sharing Redis"])
def test_the_same_follow_started_twice_at_once_is_written_once(
    network: devenv.AtprotoNetwork,
    internet: Internet,
    redis: RedisServer,
    tmp_path: Path,
    where: str,
) -> None:
    """A double click, two tabs, or two machines behind one address: two jobs for one account
    and one selection, started at once. Before, each read the follows before the other wrote
    and every follow was written twice. Now the second waits for the first (a lease per
    account: a file lock on one machine, a Redis lease across machines), then finds them
    followed."""
    me = {"one service": "moi-d1.test", "two workers": "moi-d3.test"}.get(where, "moi-d2.test")
    people = PEOPLE[:24]
    workers = 2 if where == "two workers" else 1
    a = Served(
        _env(network, internet, redis, tmp_path / "a", PASSERELLE_SECRET_KEY=KEY),
        workers=workers,
    )
    b = (
        Served(_env(network, internet, redis, tmp_path / "b", PASSERELLE_SECRET_KEY=KEY))
        if where == "two machines sharing Redis"
        else a
    )
    try:
        status, signed = call(
            a.url, "/api/bluesky/session", {"handle": me, "app_password": PASSWORD}
        )
        assert status == 200, signed
        body = {"session": signed["session"], "targets": targets(network, people)}
        jobs: list[tuple[Served, str]] = []
        threads = []
        for served in (a, b):

            def start(served: Served = served) -> None:
                status, started = call(served.url, "/api/bluesky/follow", body)
                assert status == 202, started
                jobs.append((served, started["job"]))

            threads.append(threading.Thread(target=start))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        views = [_finish(served, job) for served, job in jobs]
    finally:
        a.stop()
        if b is not a:
            b.stop()
    assert all(v["status"] == "done" for v in views), views
    follows = [r["value"]["subject"] for r in records(network, "app.bsky.graph.follow", me)]
    assert sorted(follows) == sorted(network.accounts[h] for h in people), "written twice"
    counts = sorted((v["counts"]["followed"], v["counts"]["skipped"]) for v in views)
    assert counts == [(0, len(people)), (len(people), 0)], counts

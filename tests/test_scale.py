"""Many workers, many machines: `passerelle serve --workers N` on a shared Redis cache.

Two services ("two machines"), each with two worker processes, share one real redis-server:
what one looked up, the other answers from the cache without asking the networks again, and
the per-client rate limit is counted once across all of them.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Served, post_json, service_env, steady_window, x_accounts
from tests.redis_server import RedisServer
from tests.standins.internet import Internet


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


def worker_pids(served: Served) -> set[int]:
    """The gunicorn master's children: its worker processes."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == served.proc.pid:
            pids.add(int(stat.parent.name))
    return pids


@pytest.fixture
def two_machines(
    clean_internet: Internet, redis_server: RedisServer, tmp_path: Path
) -> Iterator[tuple[Served, Served]]:
    env = service_env(
        clean_internet,
        tmp_path,
        PASSERELLE_CACHE_URL=redis_server.url,
        PASSERELLE_RATE_LIMIT="0",
    )
    a = Served(env, workers=2)
    try:
        b = Served(env, workers=2)
    except Exception:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


def test_one_machines_look_up_is_the_others_cache_hit(
    two_machines: tuple[Served, Served], clean_internet: Internet, eval_world: dict[str, Any]
) -> None:
    a, b = two_machines
    assert len(worker_pids(a)) == 2 and len(worker_pids(b)) == 2
    # Follow sign-ins and jobs are shared through the cache too (tests/test_workers.py): no
    # sticky sessions to ask for, unlike a service whose cache is off.
    assert "sticky sessions" not in a.output()
    accounts = x_accounts(eval_world)[:80]
    status, first = post_json(a.url + "/api/resolve", {"accounts": accounts})
    assert status == 200 and first["stats"]["upstream_requests"] > 0
    asked = clean_internet.control.total()
    assert asked > 0
    # The other machine, and every worker of it, answers the same from Redis alone.
    for _ in range(4):
        status, again = post_json(b.url + "/api/resolve", {"accounts": accounts})
        assert status == 200
        assert again["stats"]["upstream_requests"] == 0
        assert again["stats"]["cache_hits"] > 0
        assert again["results"] == first["results"]
    assert clean_internet.control.total() == asked  # the networks were not asked again


def test_the_rate_limit_is_counted_across_machines(
    clean_internet: Internet, redis_server: RedisServer, tmp_path: Path
) -> None:
    env = service_env(
        clean_internet, tmp_path, PASSERELLE_CACHE_URL=redis_server.url, PASSERELLE_RATE_LIMIT="6"
    )
    steady_window()
    a, b = Served(env, workers=2), Served(env, workers=2)
    try:
        statuses = []
        for i in range(8):
            url = (a if i % 2 else b).url + "/api/openapi.json"
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    statuses.append(r.status)
            except urllib.error.HTTPError as e:
                statuses.append(e.code)
                assert int(e.headers["Retry-After"]) >= 1
        # Served() polled each machine's health until it answered: never counted.
        assert statuses == [200] * 6 + [429, 429]
    finally:
        a.stop()
        b.stop()


def test_what_serve_says_at_start(clean_internet: Internet, tmp_path: Path) -> None:
    """Several workers without a cache need nothing more (they share through a file in the
    state folder: tests/test_workers.py), so no sticky sessions are asked for; a hosted
    instance (https public address) with no secret key is told its Bluesky client key will
    change at each restart, and is not once the key is set."""
    env = service_env(
        clean_internet,
        tmp_path,
        PASSERELLE_CACHE_URL="none",
        PASSERELLE_PUBLIC_URL="https://passerelle.example.org",
    )
    env.pop("PASSERELLE_SECRET_KEY", None)
    s = Served(env, workers=2)
    try:
        assert "sticky sessions" not in s.output()
        assert "PASSERELLE_SECRET_KEY is not set" in s.output()
    finally:
        s.stop()
    s = Served({**env, "PASSERELLE_SECRET_KEY": "kept-in-the-environment-0123"})
    try:
        assert "PASSERELLE_SECRET_KEY" not in s.output()
    finally:
        s.stop()

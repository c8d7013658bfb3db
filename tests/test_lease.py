"""One follow run per account at a time (server/follow/lease.py, #25): what the end-to-end
tests on the local AT Protocol network rest on, shown on its own. Waits are on conditions."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.core.cache import RedisCache
from server.follow import lease
from server.follow.lease import WAITING, account_lease
from tests.redis_server import RedisServer


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    r = RedisServer()
    yield r
    r.stop()


def _two_runs(first_ctx, second_ctx) -> list[str]:  # type: ignore[no-untyped-def]
    """The second run asks while the first holds the lease; returns what happened, in order."""
    events: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        with first_ctx():
            events.append("first in")
            holding.set()
            release.wait(30)
            events.append("first out")

    def second() -> None:
        holding.wait(30)
        with second_ctx(lambda line: (events.append(line), release.set())):
            events.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return events


def test_one_machine_one_run_at_a_time(tmp_path: Path) -> None:
    events = _two_runs(
        lambda: account_lease("did:plc:me", tmp_path),
        lambda report: account_lease("did:plc:me", tmp_path, report=report),
    )
    assert events == ["first in", WAITING, "first out", "second in"]
    assert not any("did:plc" in p.name for p in tmp_path.iterdir())  # no address on disk


def test_other_accounts_do_not_wait(tmp_path: Path) -> None:
    with (
        account_lease("did:plc:me", tmp_path),
        account_lease("did:plc:someone-else", tmp_path, report=pytest.fail),
    ):
        pass


def test_two_machines_share_the_lease_through_redis(tmp_path: Path, redis: RedisServer) -> None:
    cache_a, cache_b = RedisCache(redis.url), RedisCache(redis.url)
    events = _two_runs(  # each machine its own lock folder: only Redis is shared
        lambda: account_lease("did:plc:both", tmp_path / "a", cache_a),
        lambda report: account_lease("did:plc:both", tmp_path / "b", cache_b, report=report),
    )
    assert events == ["first in", WAITING, "first out", "second in"]
    assert not cache_a.client.keys("passerelle:follow-lease:*")  # released at the end


def test_a_lease_whose_holder_died_expires(
    tmp_path: Path, redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine that dies holding the lease renews it no more: it frees itself."""
    monkeypatch.setattr(lease, "TTL", 1.0)
    cache = RedisCache(redis.url)
    key = f"passerelle:follow-lease:{lease._name('did:plc:dead')}"
    cache.client.set(key, "the dead machine's token", px=1000)
    said: list[str] = []
    started = time.monotonic()
    with account_lease("did:plc:dead", tmp_path, cache, report=said.append):
        waited = time.monotonic() - started
    assert said == [WAITING] and 0.5 <= waited < 30

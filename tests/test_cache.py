"""The look-up cache: SQLite (default), none, and its failure modes."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from server.core.cache import MISSING, CacheURLError, NullCache, SqliteCache, open_cache


def test_roundtrip_found_and_not_found(tmp_path: Path) -> None:
    c = SqliteCache(tmp_path / "c.sqlite3")
    c.set("a", {"handle": "alice.bsky.social", "é": "🦋"}, 60)
    c.set("b", None, 60)
    assert c.get("a") == {"handle": "alice.bsky.social", "é": "🦋"}
    assert c.get("b") is None  # a cached "not found", distinct from a miss
    assert c.get("c") is MISSING


def test_expiry(tmp_path: Path) -> None:
    c = SqliteCache(tmp_path / "c.sqlite3")
    c.set("a", 1, 0.05)
    time.sleep(0.1)
    assert c.get("a") is MISSING


def test_wal_mode_and_persistence(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    c = SqliteCache(path)
    c.set("a", [1, 2], 60)
    c.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert SqliteCache(path).get("a") == [1, 2]


def test_corrupt_file_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    c = SqliteCache(path)
    c.set("a", 1, 60)
    assert c.get("a") == 1
    assert list(tmp_path.glob("c.sqlite3.corrupt-*"))


def test_threads_share_one_cache(tmp_path: Path) -> None:
    c = SqliteCache(tmp_path / "c.sqlite3")

    def work(i: int) -> None:
        for j in range(50):
            c.set(f"k{i}-{j}", j, 60)
            assert c.get(f"k{i}-{j}") == j

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.get("k7-49") == 49


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("none", NullCache),
        ("NONE", NullCache),
        ("sqlite:///{tmp}/x.db", SqliteCache),
        ("sqlite:///", SqliteCache),
    ],
)
def test_open_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, kind: type) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = open_cache(url.format(tmp=tmp_path))
    assert isinstance(cache, kind)
    cache.set("k", 1, 60)


def test_default_location_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = open_cache("")
    assert isinstance(cache, SqliteCache)
    assert cache.path == tmp_path / "passerelle" / "cache.sqlite3"


def test_unknown_scheme_is_a_clear_error() -> None:
    with pytest.raises(CacheURLError, match="PASSERELLE_CACHE_URL"):
        open_cache("memcached://x")


WRITER = """
import sys
from pathlib import Path
from server.core.cache import SqliteCache
c = SqliteCache(Path(sys.argv[1]))
i = 0
while True:
    c.set(f"k{i}", {"i": i, "pad": "x" * 2000}, 3600)
    print(i, flush=True)
    i += 1
"""


def test_a_crash_mid_write_loses_nothing_committed(tmp_path: Path) -> None:
    """A writer killed with SIGKILL in the middle of its writes: every write it reported done is
    there, the file passes SQLite's integrity check, and the cache goes on working."""
    import subprocess
    import sys

    path = tmp_path / "c.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    done = -1
    for line in proc.stdout:
        done = int(line)
        if done >= 400:
            break
    proc.kill()  # SIGKILL: no cleanup, no checkpoint, mid-write
    proc.wait()
    assert Path(str(path) + "-wal").exists()  # the crash left an un-checkpointed log behind
    c = SqliteCache(path)
    for i in range(done + 1):
        assert c.get(f"k{i}") == {"i": i, "pad": "x" * 2000}
    check = sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0]
    assert check == "ok"
    c.set("after", 1, 60)
    assert c.get("after") == 1


def test_text_with_a_lone_surrogate_is_kept_exactly(tmp_path: Path) -> None:
    """A fediverse display name may hold a lone surrogate (valid JSON, not encodable text): it
    used to be dropped from the cache, so the profile was asked again every batch."""
    from tests.redis_server import RedisServer

    value = {"display_name": "Zoé \ud83e", "note": "a\udc00b", "é": "🦋"}
    sqlite_cache = SqliteCache(tmp_path / "c.sqlite3")
    sqlite_cache.set("fedi:zoe@piaille.fr", value, 60)
    assert sqlite_cache.get("fedi:zoe@piaille.fr") == value
    server = RedisServer()
    try:
        redis_cache = open_cache(server.url)
        redis_cache.set("fedi:zoe@piaille.fr", value, 60)
        assert redis_cache.get("fedi:zoe@piaille.fr") == value
        redis_cache.close()
    finally:
        server.stop()

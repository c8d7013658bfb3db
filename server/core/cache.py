"""The look-up cache: `sqlite:///PATH` (default), `redis://HOST:PORT/N`, or `none`.

Values are JSON. Both found and not-found answers are cached (with different lifetimes), so a
second run of the same list asks the networks almost nothing. Failures are never cached.
SQLite runs in WAL mode so a crash mid-write loses at most that write, and a file that is not a
database (corrupt, truncated) is moved aside and rebuilt rather than stopping the service.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

MISSING: Any = object()


class Cache(Protocol):
    def get(self, key: str) -> Any: ...
    def set(self, key: str, value: Any, ttl: float) -> None: ...
    def close(self) -> None: ...


# A re-check (`"recheck": true`, `passerelle resolve --previous`): people arrive over months, so
# a cached "not found" is an answer about the past. While set, those answers are asked afresh,
# and searches too; what was found is still reused.
RECHECK: contextvars.ContextVar[bool] = contextvars.ContextVar("passerelle_recheck", default=False)
FRESH_WHEN_EMPTY = ("bsky:actor:", "fedi:acct:", "bsky:domain:", "bridge:")
FRESH_ALWAYS = ("bsky:search:", "fedi:search:")


class Rechecking:
    """A cache seen through a re-check: "not found" answers and searches read as absent."""

    def __init__(self, inner: Cache) -> None:
        self.inner = inner

    def get(self, key: str) -> Any:
        if not RECHECK.get():
            return self.inner.get(key)
        if key.startswith(FRESH_ALWAYS):
            return MISSING
        hit = self.inner.get(key)
        if hit is not MISSING and not hit and key.startswith(FRESH_WHEN_EMPTY):
            return MISSING
        return hit

    def set(self, key: str, value: Any, ttl: float) -> None:
        self.inner.set(key, value, ttl)

    def close(self) -> None:
        self.inner.close()


class NullCache:
    """`PASSERELLE_CACHE_URL=none`: every look-up goes upstream."""

    def get(self, key: str) -> Any:
        return MISSING

    def set(self, key: str, value: Any, ttl: float) -> None:
        return None

    def close(self) -> None:
        return None


class SqliteCache:
    """One table `entries(key, value, expires)`; a connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._init(self._conn())
        except sqlite3.DatabaseError:
            self._rebuild()

    def _rebuild(self) -> None:
        log.warning("cache file is not a usable database; moving it aside and starting afresh")
        self.close()
        self._local = threading.local()
        aside = self.path.with_suffix(self.path.suffix + f".corrupt-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                os.replace(p, Path(str(aside) + suffix))
        self._init(self._conn())

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=10, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @staticmethod
    def _init(conn: sqlite3.Connection) -> None:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value TEXT NOT NULL,"
            " expires REAL NOT NULL)"
        )

    def get(self, key: str) -> Any:
        try:
            row = (
                self._conn()
                .execute("SELECT value, expires FROM entries WHERE key = ?", (key,))
                .fetchone()
            )
        except sqlite3.DatabaseError:
            self._rebuild()
            return MISSING
        if row is None or row[1] < time.time():
            return MISSING
        try:
            return json.loads(row[0])
        except ValueError:
            return MISSING

    def set(self, key: str, value: Any, ttl: float) -> None:
        data = _dump(value)
        try:
            self._conn().execute(
                "INSERT OR REPLACE INTO entries (key, value, expires) VALUES (?, ?, ?)",
                (key, data, time.time() + ttl),
            )
        except sqlite3.OperationalError as e:  # locked for too long, disk full: skip, not fatal
            log.warning("cache write skipped: %s", e)  # sqlite's own words: locked, disk full
        except sqlite3.DatabaseError:
            self._rebuild()

    def close(self) -> None:
        with self._lock:
            for c in self._all:
                with contextlib.suppress(sqlite3.Error):
                    c.close()
            self._all.clear()


class RedisCache:
    """Shared by every worker and machine of a hosted instance."""

    def __init__(self, url: str) -> None:
        import redis  # optional dependency: only a Redis cache needs it

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)

    @property
    def client(self) -> Any:
        """The Redis client, for the rate limit's shared counters."""
        return self._redis

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        return self._errors

    def get(self, key: str) -> Any:
        try:
            raw = self._redis.get("passerelle:" + key)
        except self._errors as e:
            log.warning("redis get failed: %s", type(e).__name__)
            return MISSING
        if raw is None:
            return MISSING
        try:
            return json.loads(raw)
        except ValueError:
            return MISSING

    def set(self, key: str, value: Any, ttl: float) -> None:
        data = _dump(value)
        try:
            self._redis.set("passerelle:" + key, data, ex=max(1, int(ttl)))
        except self._errors as e:
            log.warning("redis set failed: %s", type(e).__name__)

    def close(self) -> None:
        self._redis.close()


def _dump(value: Any) -> str:
    """JSON with every non-ASCII character escaped: a profile's text may hold a lone surrogate
    (valid JSON, not encodable text), which neither SQLite nor Redis can store; escaped, it
    round-trips exactly (it used to be dropped, and the profile asked again every batch)."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def default_cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "passerelle" / "cache.sqlite3"


class CacheURLError(ValueError):
    """The cache URL has an unknown scheme or no path."""


def open_cache(url: str | None) -> Cache:
    """Open the cache a `PASSERELLE_CACHE_URL` names."""
    if url is None or url == "":
        return SqliteCache(default_cache_path())
    if url.strip().lower() == "none":
        return NullCache()
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            return SqliteCache(default_cache_path())
        return SqliteCache(
            Path("/" + path.lstrip("/")) if url.startswith("sqlite:////") else Path(path)
        )
    if parts.scheme in ("redis", "rediss", "unix"):
        return RedisCache(url)
    raise CacheURLError(
        f"PASSERELLE_CACHE_URL: unknown scheme {parts.scheme!r} "
        "(use sqlite:///PATH, redis://HOST:PORT/N or none)"
    )

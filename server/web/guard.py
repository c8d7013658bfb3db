"""What a hosted instance puts in front of the API: a per-client rate limit and an optional token.

The rate limit counts requests per client address in one-minute windows. With a Redis cache the
counts live in Redis, so every worker and every machine behind a load balancer sees the same
count; otherwise each worker process counts on its own. A resolve request weighs one unit per
started hundred accounts (the extension sends batches of 100), so a client cannot get around the
limit by sending bigger batches. Client addresses are kept only as counter keys that expire after
two minutes, and are never logged.

The health check is never counted (monitors poll it).

The token (`PASSERELLE_API_TOKEN`) is compared in constant time. The health check and the
OpenAPI document stay open (the options page checks the address with the first, then the token
with an empty resolve), and so do the Mastodon and Bluesky callbacks, which the user's own
server redirects the browser to and which carry their own single-use state, and the Bluesky
client metadata and public key, which Bluesky servers fetch.
"""

from __future__ import annotations

import hmac
import logging
import math
import threading
import time
from typing import Protocol

from flask import Flask, current_app, request

from ..core.cache import Cache, RedisCache
from ..core.errors import ApiError

log = logging.getLogger(__name__)

WINDOW = 60.0
HOUR = 3600.0
OPEN_ENDPOINTS = frozenset(
    {
        "api.health",
        "api.openapi",
        "follow.mastodon_callback",
        "follow.bluesky_callback",
        # What Bluesky servers fetch to know a hosted instance as an OAuth client: public.
        "follow.bluesky_client_metadata",
        "follow.bluesky_jwks",
    }
)
# Not counted by the rate limit: load balancers, monitors and the extension's options page poll
# the health check, and a poll that timed out on a busy machine is still answered and would be
# counted; it costs the service nothing and the networks nothing.
UNCOUNTED_ENDPOINTS = frozenset({"api.health"})
ACCOUNTS_PER_UNIT = 100


class Counter(Protocol):
    def add(self, key: str, amount: int, window: int, length: float = WINDOW) -> int:
        """Add `amount` to `key`'s count in `window` (of `length` seconds); the new count."""
        ...


class MemoryCounter:
    """Counts in this process; old windows are dropped as new ones start."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int, float], int] = {}
        self._windows: dict[float, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def add(self, key: str, amount: int, window: int, length: float = WINDOW) -> int:
        with self._lock:
            if (length, window) != self._windows.get(length):
                self._counts = {
                    k: v for k, v in self._counts.items() if k[2] != length or k[1] >= window
                }
                self._windows[length] = (length, window)
            count = self._counts.get((key, window, length), 0) + amount
            self._counts[(key, window, length)] = count
            return count


class RedisCounter:
    """Counts shared by every worker and machine using the same Redis."""

    def __init__(self, cache: RedisCache) -> None:
        self._redis = cache.client
        self._errors = cache.errors

    def add(self, key: str, amount: int, window: int, length: float = WINDOW) -> int:
        name = f"passerelle:rate:{int(length)}:{window}:{key}"
        try:
            pipe = self._redis.pipeline()
            pipe.incrby(name, amount)
            pipe.expire(name, int(length * 2))
            count, _ = pipe.execute()
            return int(count)
        except self._errors as e:  # Redis down: serve rather than refuse everyone
            log.warning("rate limit not counted: %s", type(e).__name__)
            return 0


def counter_for(cache: Cache) -> Counter:
    return RedisCounter(cache) if isinstance(cache, RedisCache) else MemoryCounter()


class Guard:
    def __init__(
        self,
        limit: int,
        token: str,
        counter: Counter,
        max_hosts: int = 0,
        hosts_per_hour: int = 0,
    ) -> None:
        self.limit = limit
        self.token = token.encode() if token else b""
        self.counter = counter
        self.max_hosts = max_hosts
        self.hosts_per_hour = hosts_per_hour

    def host_budget(self) -> int | None:
        """How many distinct servers this request may make the service contact: the
        per-request bound, within what is left of the client's hour (429 when nothing is)."""
        budget = self.max_hosts or None
        if self.hosts_per_hour <= 0:
            return budget
        now = time.time()
        window = int(now // HOUR)
        used = self.counter.add(_client(), 0, window, HOUR)
        left = self.hosts_per_hour - used
        if left <= 0:
            raise RateLimited(
                max(1, math.ceil((window + 1) * HOUR - now)),
                self.hosts_per_hour,
                "distinct servers asked for this address in an hour",
            )
        return left if budget is None else min(budget, left)

    def spent_hosts(self, count: int) -> None:
        if self.hosts_per_hour > 0 and count > 0:
            self.counter.add(_client(), count, int(time.time() // HOUR), HOUR)

    def charge(self, units: int) -> None:
        """Count `units` against this request's client; ApiError 429 once over the limit."""
        if self.limit <= 0 or units <= 0:
            return
        now = time.time()
        window = int(now // WINDOW)
        used = self.counter.add(_client(), units, window)
        if used > self.limit:
            retry = max(1, math.ceil((window + 1) * WINDOW - now))
            raise RateLimited(retry, self.limit)

    def check_token(self) -> None:
        if not self.token or request.endpoint in OPEN_ENDPOINTS:
            return
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode("utf-8", "replace"), self.token
        ):
            raise ApiError(
                401,
                "unauthorized",
                "this service needs its access token: set it in the extension's options",
            )


def _client() -> str:
    return request.remote_addr or "unknown"


class RateLimited(ApiError):
    def __init__(self, retry_after: int, limit: int, what: str = "requests a minute") -> None:
        super().__init__(
            429,
            "rate-limited",
            f"too many requests from this address (at most {limit} {what}); "
            f"try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


def guard() -> Guard:
    return current_app.extensions["passerelle.guard"]  # type: ignore[no-any-return]


def charge_accounts(count: int) -> None:
    """A resolve request of `count` accounts: the units beyond the one already charged."""
    guard: Guard = current_app.extensions["passerelle.guard"]
    guard.charge(math.ceil(count / ACCOUNTS_PER_UNIT) - 1)


def init_app(
    app: Flask, limit: int, token: str, cache: Cache, max_hosts: int = 0, hosts_per_hour: int = 0
) -> None:
    guard = Guard(limit, token, counter_for(cache), max_hosts, hosts_per_hour)
    app.extensions["passerelle.guard"] = guard

    @app.before_request
    def _guard() -> None:
        if request.method == "OPTIONS" or not request.path.startswith("/api/"):
            return  # CORS preflights carry no credentials by design
        if request.endpoint not in UNCOUNTED_ENDPOINTS:
            guard.charge(1)
        guard.check_token()

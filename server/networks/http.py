"""The one HTTP layer every upstream call goes through (atproto, Mastodon.py and raw requests).

Written once here: the timeout, the User-Agent, per-host politeness (a rate and a cap on
concurrent requests), honouring 429s (`Retry-After`, `ratelimit-reset`, `X-RateLimit-Reset`),
retries with backoff on transient failures, and the standard proxy and trust variables
(`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, `REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`).

It is a `requests` transport adapter, so Mastodon.py (which takes a `requests.Session`) and the
atproto SDK (through `AtprotoRequest` in `bluesky.py`) use it unchanged.
"""

from __future__ import annotations

import contextvars
import email.utils
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
import urllib3.connection
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3 import exceptions as urllib3_exceptions
from urllib3.util import connection as urllib3_connection_util

from .. import __version__
from ..core.cache import MISSING, Cache
from ..core.hosts import is_ip_literal, why_not_public

USER_AGENT = f"Passerelle/{__version__} (+https://github.com/passerelle-social/passerelle)"
MAX_BODY = 5 * 1024 * 1024  # no profile or nodeinfo document is anywhere near this
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504, 520, 521, 522, 523, 524})


def cannot_succeed(error: BaseException) -> bool:
    """A failure that asking again at once will not mend: the name does not resolve, the host
    refuses connections, or (behind a proxy, where both look so) the proxy could not connect.
    Retried, each cost two requests more for nothing (#23: 63 hosts that do not exist, asked
    three times each)."""
    seen: set[int] = set()
    todo: list[Any] = [error]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, urllib3_exceptions.NameResolutionError | ConnectionRefusedError):
            return True
        if isinstance(e, socket.gaierror):
            return True
        if isinstance(e, OSError) and "Tunnel connection failed: 502" in str(e):
            return True
        if isinstance(e, urllib3_exceptions.MaxRetryError):
            todo.append(e.reason)
        todo += [e.__cause__, e.__context__, *(a for a in e.args if isinstance(a, BaseException))]
    return False


class UpstreamError(Exception):
    """Base of every failure talking to another server."""


class UpstreamUnavailable(UpstreamError):
    """The server could not be asked (timeout, 5xx, refused, rate-limited for too long).

    The account concerned is answered with `error: upstream-unavailable`, so the caller can
    retry it later; nothing is concluded from the silence.
    """


@dataclass
class Stats:
    """Counters of one resolve call, shared by the threads working for it."""

    upstream_requests: int = 0
    cache_hits: int = 0
    waited_seconds: float = 0.0
    # Distinct hosts named by outside text (fediverse servers, website domains) this call may
    # contact: a request must not turn the service into a scanner of thousands of servers.
    host_budget: int | None = None
    hosts: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def admit(self, host: str) -> bool:
        """Whether this call may contact `host` (one it already contacted, or a new one
        within the budget)."""
        with self._lock:
            if host in self.hosts:
                return True
            if self.host_budget is not None and len(self.hosts) >= self.host_budget:
                return False
            self.hosts.add(host)
            return True

    def add(self, requests_: int = 0, hits: int = 0, waited: float = 0.0) -> None:
        with self._lock:
            self.upstream_requests += requests_
            self.cache_hits += hits
            self.waited_seconds += waited


current_stats: contextvars.ContextVar[Stats | None] = contextvars.ContextVar(
    "passerelle_stats", default=None
)


def count(requests_: int = 0, hits: int = 0, waited: float = 0.0) -> None:
    stats = current_stats.get()
    if stats is not None:
        stats.add(requests_, hits, waited)


class _Flights:
    """One question at a time per cache key in this process.

    Two accounts of one batch may name the same server, the same account or the same display
    name, and the threads working for them would ask the network twice before either answer
    reached the cache. The second asker waits for the first and reads its answer back from the
    cache (with the cache off, it asks again)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def one(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if not users[0]:
                    del self._locks[key]


flights = _Flights()


def split_cached(
    cache: Cache, prefix: str, keys: Iterable[str]
) -> tuple[dict[str, Any], list[str]]:
    """Distinct keys, in order, split into what the cache answers (counted as hits; a cached
    "not found" included) and what is still to ask."""
    known: dict[str, Any] = {}
    todo: list[str] = []
    for key in dict.fromkeys(keys):
        hit = cache.get(prefix + key)
        if hit is MISSING:
            todo.append(key)
        else:
            count(hits=1)
            known[key] = hit
    return known, todo


@dataclass
class Politeness:
    """How hard we may press one host."""

    rate: float = 10.0  # requests per second per host
    concurrency: int = 6  # requests in flight per host
    timeout: float = 10.0  # seconds, connect and read
    retries: int = 2  # further attempts after a transient failure
    backoff: float = 0.5  # seconds, doubled each attempt, with jitter
    max_wait: float = 30.0  # the longest 429 wait honoured before giving up on the host
    # Hosts the operator configured (AppView, PDS): contacted even when local. Any other host
    # comes from outside text and must be a public internet name (`hosts.why_not_public`).
    trusted: frozenset[str] = frozenset()


class HostGate:
    """A token bucket (rate) and a semaphore (concurrency) for one host, plus a 429 pause."""

    def __init__(self, rate: float, concurrency: int) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.slots = threading.BoundedSemaphore(max(1, concurrency))
        self.lock = threading.Lock()
        self.next_at = 0.0
        self.paused_until = 0.0

    def pause(self, seconds: float) -> None:
        with self.lock:
            self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    @contextmanager
    def turn(self) -> Iterator[float]:
        """Wait for a slot and for our place in the rate; yields the seconds spent waiting."""
        start = time.monotonic()
        self.slots.acquire()
        try:
            with self.lock:
                now = time.monotonic()
                at = max(now, self.next_at, self.paused_until)
                self.next_at = at + self.interval
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield time.monotonic() - start
        finally:
            self.slots.release()


def reset_delay(response: requests.Response, now: float | None = None) -> float | None:
    """Seconds until a rate limit resets, from whichever header the server sent."""
    now = time.time() if now is None else now
    h = response.headers
    retry_after = h.get("Retry-After")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(retry_after)
            except (TypeError, ValueError):
                parsed = None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - now)
    reset = h.get("ratelimit-reset")  # Bluesky: epoch seconds
    if reset:
        try:
            value = float(reset)
            # Some servers send seconds-to-reset rather than an epoch.
            return max(0.0, value - now) if value > 1_000_000_000 else max(0.0, value)
        except ValueError:
            pass
    reset = h.get("X-RateLimit-Reset")  # Mastodon: ISO 8601
    if reset:
        try:
            return max(0.0, datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp() - now)
        except ValueError:
            try:
                return max(0.0, float(reset) - now)
            except ValueError:
                pass
    return None


class AddressCheck:
    """Where a name points, when we connect to it ourselves (no proxy): a public name that
    resolves to a private address (a DNS record pointing inside) is refused too, and the
    connection goes to the very address that was checked (`pinned`): a name whose DNS answer
    changes between the check and the connection (rebinding) cannot slip inside. Answers are
    kept for a few minutes. With a proxy, the proxy resolves and decides."""

    TTL = 300.0

    def __init__(self) -> None:
        self._seen: dict[str, tuple[float, str | None, str | None]] = {}
        self._lock = threading.Lock()

    def _vet(self, host: str) -> tuple[str | None, str | None]:
        """(why not, the address to connect to), from one DNS answer kept for TTL."""
        now = time.monotonic()
        with self._lock:
            hit = self._seen.get(host)
        if hit and hit[0] > now:
            return hit[1], hit[2]
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError:
            return "a name that does not resolve", None  # not kept: it may come back
        addresses = [str(info[4][0]) for info in infos]
        verdict = None
        if not addresses or any(why_not_public(a) for a in addresses):
            verdict = "a name that points to a private address"
        address = None if verdict else addresses[0]
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[host] = (now + self.TTL, verdict, address)
        return verdict, address

    def private(self, host: str) -> str | None:
        """Why `host` may not be contacted directly, or None."""
        return self._vet(host)[0]

    def pinned(self, host: str) -> str:
        """The checked address to connect to for `host`; OSError when there is none."""
        verdict, address = self._vet(host)
        if address is None:
            raise OSError(f"not contacting {verdict}")
        return address


def _pinned_pools(pin: Callable[[str], str]) -> dict[str, type]:
    """urllib3 pool classes whose connections open their socket to `pin(host)`, keeping `host`
    for TLS (SNI, certificate) and the Host header."""

    class Pinned:
        def _new_conn(self: Any) -> socket.socket:
            try:
                address = pin(self.host)
                return urllib3_connection_util.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as e:
                raise urllib3_exceptions.ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out"
                ) from e
            except OSError as e:
                raise urllib3_exceptions.NewConnectionError(
                    self, f"Failed to establish a new connection: {e}"
                ) from e

    class HTTP(Pinned, urllib3.connection.HTTPConnection):  # type: ignore[misc]
        pass

    class HTTPS(Pinned, urllib3.connection.HTTPSConnection):  # type: ignore[misc]
        pass

    class HTTPPool(urllib3.HTTPConnectionPool):
        ConnectionCls = HTTP

    class HTTPSPool(urllib3.HTTPSConnectionPool):
        ConnectionCls = HTTPS  # type: ignore[assignment]

    return {"http": HTTPPool, "https": HTTPSPool}


class PoliteAdapter(HTTPAdapter):
    """A transport adapter applying `Politeness` to every request of the session."""

    def __init__(self, policy: Politeness, pool_size: int = 32) -> None:
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.policy = policy
        self.addresses = AddressCheck()
        self._gates: dict[str, HostGate] = {}
        self._gates_lock = threading.Lock()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        # Direct connections go to the address that was checked (proxied ones: the proxy's).
        self.poolmanager.pool_classes_by_scheme = _pinned_pools(self._pin)

    def _pin(self, host: str) -> str:
        if host in self.policy.trusted or is_ip_literal(host):
            return host  # the operator's own hosts, and literals (checked in `send`)
        return self.addresses.pinned(host)

    def gate(self, host: str) -> HostGate:
        with self._gates_lock:
            g = self._gates.get(host)
            if g is None:
                g = self._gates[host] = HostGate(self.policy.rate, self.policy.concurrency)
            return g

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        p = self.policy
        host = (urlsplit(request.url or "").hostname or "").lower()
        refused = None if host in p.trusted else why_not_public(host)
        if (
            refused is None
            and host not in p.trusted
            and not select_proxy(request.url or "", kwargs.get("proxies") or {})
        ):
            refused = self.addresses.private(host)  # a public name may point inside
        if refused:
            raise requests.ConnectionError(f"not contacting {refused}")
        stats = current_stats.get()
        if host not in p.trusted and stats is not None and not stats.admit(host):
            raise requests.ConnectionError("this request's budget of distinct servers is spent")
        gate = self.gate(host)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = p.timeout
        attempt = 0
        while True:
            with gate.turn() as waited:
                count(requests_=1, waited=waited)
                try:
                    response = self._send_bounded(request, kwargs)
                except (requests.ConnectionError, requests.Timeout) as e:
                    if attempt >= p.retries or cannot_succeed(e):
                        raise
                    response = None
            if response is not None and response.status_code == 429:
                delay = reset_delay(response)
                delay = 1.0 if delay is None else delay
                if delay > p.max_wait or attempt >= p.retries + 2:
                    return response
                gate.pause(delay + 0.05)
                response.close()
                attempt += 1
                continue
            if response is not None and response.status_code not in TRANSIENT_STATUSES:
                return response
            if attempt >= p.retries:
                assert response is not None
                return response
            if response is not None:
                response.close()
            time.sleep(p.backoff * (2**attempt) * (0.5 + random.random()))
            attempt += 1

    def _send_bounded(self, request: requests.PreparedRequest, kwargs: dict[str, Any]) -> Any:
        """Send, then read the body against a total deadline and a size cap.

        requests' own timeout is per read, so a server dripping a byte a second would hold a
        look-up forever; this bounds the whole answer.
        """
        timeout = kwargs["timeout"]
        total = (timeout if isinstance(timeout, int | float) else sum(timeout)) * 2
        deadline = time.monotonic() + total
        response = super().send(request, **{**kwargs, "stream": True})
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                chunk = response.raw.read1(65536, decode_content=True)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY:
                    raise requests.ConnectionError(f"answer larger than {MAX_BODY} bytes")
                if time.monotonic() > deadline:
                    raise requests.Timeout(f"answer not complete after {total:.0f} s")
        except requests.RequestException:
            response.close()
            raise
        except (OSError, urllib3_exceptions.HTTPError) as e:
            response.close()
            raise requests.ConnectionError(str(e)) from e
        response._content = b"".join(chunks)
        response._content_consumed = True
        return response


def make_session(policy: Politeness | None = None) -> requests.Session:
    """A session with the polite adapter, our User-Agent, and the environment's trust settings.

    requests reads `HTTPS_PROXY`/`NO_PROXY`/`REQUESTS_CA_BUNDLE` itself (trust_env stays on);
    `SSL_CERT_FILE` is honoured here, REQUESTS_CA_BUNDLE taking precedence as in curl.
    """
    session = requests.Session()
    adapter = PoliteAdapter(policy or Politeness())
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    cert_file = os.environ.get("SSL_CERT_FILE")
    if cert_file and not (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")):
        session.verify = cert_file
    return session


def get_json(session: requests.Session, url: str, **kwargs: Any) -> Any | None:
    """GET a JSON document: the parsed body, None for 404/410, UpstreamUnavailable otherwise.

    A server answering 200 with something that is not JSON is unavailable, not "not found":
    nothing is concluded from a broken answer.
    """
    try:
        r = session.get(url, **kwargs)
    except requests.RequestException as e:
        raise UpstreamUnavailable(f"{urlsplit(url).hostname}: {type(e).__name__}") from e
    if r.status_code in (404, 410):
        return None
    if r.status_code >= 400 and r.status_code < 500 and r.status_code != 429:
        return None
    if r.status_code != 200:
        raise UpstreamUnavailable(f"{urlsplit(url).hostname}: HTTP {r.status_code}")
    try:
        return r.json()
    except ValueError as e:
        raise UpstreamUnavailable(f"{urlsplit(url).hostname}: malformed JSON") from e


def session_for(settings: Any, concurrency: int | None = None) -> requests.Session:
    """The polite session the settings ask for (`concurrency` lowers the per-host cap, as
    writes on the user's own account want)."""
    return make_session(
        Politeness(
            rate=settings.host_rate,
            concurrency=concurrency or settings.host_concurrency,
            timeout=settings.timeout,
            retries=settings.retries,
            max_wait=settings.max_wait,
            # Operator-configured: the AppView, the PDS, the PLC directory, and the hosts they
            # name as trusted (a PDS on their own network).
            trusted=frozenset(
                (urlsplit(u).hostname or "").lower()
                for u in (
                    settings.bsky_appview,
                    settings.bsky_pds,
                    getattr(settings, "plc_url", "https://plc.directory"),
                )
            )
            | frozenset(getattr(settings, "trusted_hosts", ())),
        )
    )

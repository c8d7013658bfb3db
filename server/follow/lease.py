"""One follow run per account at a time, whoever starts it (issue #25).

The same follow started twice at once (two terminals, a double click, two tabs, a re-check's
"Follow the new ones" while the first job runs, a job resumed while its first run is alive)
used to write every follow twice: each run read the account's follows before the other had
written any. Bluesky shows one follow, but each duplicate costs write points, and an app that
unfollows removes one record and leaves the other.

A run takes the account's lease before it reads what is already followed, and keeps it until
it has written its last record:
- on one machine, an exclusive lock on a file named after the account (`flock`): every
  `passerelle follow` and every worker of `passerelle serve` there takes the same one, and the
  system frees it when a run dies, however it dies;
- across machines, a lease in the shared Redis cache (`SET NX` with a time to live, renewed
  while the run is alive, released at its end; a run that dies without releasing frees it
  when the time runs out).
A second run waits for the first, says so, then reads the follows the first one wrote and
skips them: each (account, subject) is written once, and the summary lines stay true.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..core.cache import Cache, RedisCache
from .state import state_folder

TTL = 60.0  # seconds a Redis lease lives without renewal (a dead run frees it then)
RENEW = 20.0  # seconds between renewals
POLL = 0.5  # seconds between tries while another run holds the lease
WAITING = "waiting for another follow run of this account to end"

# Compare-and-set scripts: only the holder renews or releases its lease.
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) else return 0 end"
)


def lease_folder() -> Path:
    """Beside the service's job files: every command and worker of this machine sees it."""
    return state_folder().parent / "leases"


def shared_cache(url: str | None) -> Cache | None:
    """The Redis cache a hosted instance shares, for leases across machines; else None."""
    if not url or not url.strip().lower().startswith(("redis://", "rediss://", "unix://")):
        return None
    from ..core.cache import open_cache

    return open_cache(url)


def _name(account: str) -> str:
    """The account as a file or key name (no DID or address on disk, a digest of it)."""
    return hashlib.sha256(account.encode()).hexdigest()[:32]


@contextlib.contextmanager
def account_lease(
    account: str,
    folder: Path,
    cache: Cache | None = None,
    report: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[None]:
    """Hold the account's lease for the `with` block, waiting (and saying so once) while
    another run holds it."""
    said = False

    def waiting() -> None:
        nonlocal said
        if not said and report is not None:
            report(WAITING)
        said = True

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{_name(account)}.lock", "a+b") as f:
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waiting()
                sleep(POLL)
        try:
            if isinstance(cache, RedisCache):
                with _redis_lease(cache.client, account, waiting, sleep):
                    yield
            else:
                yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _redis_lease(
    client: Any, account: str, waiting: Callable[[], None], sleep: Callable[[float], None]
) -> Iterator[None]:
    key = f"passerelle:follow-lease:{_name(account)}"
    token = secrets.token_hex(16)
    while not client.set(key, token, nx=True, px=int(TTL * 1000)):
        waiting()
        sleep(POLL)
    renew, release = client.register_script(_RENEW), client.register_script(_RELEASE)
    stop = threading.Event()

    def keep() -> None:
        while not stop.wait(RENEW):
            with contextlib.suppress(Exception):  # a Redis hiccup: the next renewal may do
                renew(keys=[key], args=[token, int(TTL * 1000)])

    keeper = threading.Thread(target=keep, name="follow-lease", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join(timeout=5)
        with contextlib.suppress(Exception):
            release(keys=[key], args=[token])

"""What every worker of one service must see: sign-in sessions, OAuth sign-ins under way, and
live follow jobs.

`passerelle serve --workers N` (and machines behind a load balancer) answer each request from
whichever process gets it; a session or a job kept in one process's memory made the others
answer "session expired" or "stopped: the service restarted". They are kept in the cache the
service already has: its SQLite file (the workers of one machine) or its Redis (every
machine), under keys that expire. Credentials (session tokens, a Mastodon access token, an
OAuth sign-in's key) are sealed first (Fernet: AES-128-CBC and HMAC-SHA256, from the
`cryptography` package atproto already needs) with a key that is never on disk: the
operator's `PASSERELLE_SECRET_KEY` (needed when several machines share one Redis), or a key
`passerelle serve` draws at start and hands to its workers in memory; without either, a random
one per process (then one worker only can open what it sealed). With the cache off
(`PASSERELLE_CACHE_URL=none`) the workers share a SQLite file of their own beside the job
files (`Jobs`); given a NullCache directly, everything stays in this process's memory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from ..core.cache import MISSING, Cache, NullCache

PREFIX = "shared:"
_GONE = {"gone": True}  # what a used or dropped record becomes (the cache has no delete)


def fernet_for(secret: str) -> Fernet:
    """A Fernet key derived from any secret text (the operator's setting may be any length)."""
    digest = hashlib.sha256(("passerelle-shared:" + secret).encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class Shared:
    """Records every worker sees, each with a time to live; `secret=True` seals them."""

    def __init__(self, cache: Cache, secret: str) -> None:
        self.cache = cache
        self.fernet = fernet_for(secret)
        self.local: dict[str, tuple[Any, float]] | None = (
            {} if isinstance(cache, NullCache) else None
        )
        self.lock = threading.Lock()

    def put(self, kind: str, ident: str, value: Any, ttl: float, secret: bool = False) -> None:
        stored = (
            {"sealed": self.fernet.encrypt(json.dumps(value).encode()).decode()}
            if secret
            else {"open": value}
        )
        key = PREFIX + kind + ":" + ident
        if self.local is not None:
            with self.lock:
                now = time.time()
                self.local = {k: v for k, v in self.local.items() if v[1] > now}
                self.local[key] = (stored, now + ttl)
            return
        self.cache.set(key, stored, ttl)

    def get(self, kind: str, ident: str) -> Any:
        """The value, or None when there is none (expired, dropped, or not ours to open)."""
        key = PREFIX + kind + ":" + ident
        if self.local is not None:
            with self.lock:
                found = self.local.get(key)
            stored = found[0] if found and found[1] > time.time() else MISSING
        else:
            stored = self.cache.get(key)
        if not isinstance(stored, dict) or stored.get("gone"):
            return None
        if "open" in stored:
            return stored["open"]
        try:
            return json.loads(self.fernet.decrypt(str(stored.get("sealed", "")).encode()))
        except (InvalidToken, ValueError):
            return None

    def drop(self, kind: str, ident: str) -> None:
        key = PREFIX + kind + ":" + ident
        if self.local is not None:
            with self.lock:
                self.local.pop(key, None)
        else:
            self.cache.set(key, _GONE, 60)

"""Follow jobs run by the service for the extension's results page.

Sign-in gives a session token; the atproto session is kept sealed where every worker of the
service sees it (shared.py), and expires (the app password is used once and never kept). A
job's progress is saved without credentials under the service's state folder, and its live
status (refreshed every few seconds while it runs) is shared the same way, so any worker
answers a poll; after a restart the user signs in again and the same job resumes where it
stopped.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..core.cache import Cache, NullCache, RedisCache, SqliteCache
from ..core.config import Settings
from ..core.hosts import is_ip_literal
from ..networks.bluesky import Bluesky
from ..networks.http import UpstreamUnavailable, session_for
from .bluesky import BlueskyWriter, SignInError
from .budget import WriteBudget
from .lease import account_lease
from .mastodon import MastodonStopped, follow_all
from .mastodon import client as mastodon_client
from .mastodon_oauth import MastodonAuth, MastodonSession
from .pds import PdsNotFound, pds_for
from .plan import Target
from .run import BudgetExhausted, Runner
from .shared import Shared
from .state import RunState, state_folder

if TYPE_CHECKING:
    from .bsky_oauth import ClientKey

SESSION_TTL = 2 * 3600
LIVE_TTL = 60.0  # a live job's shared status outlives its last heartbeat by this much
HEARTBEAT = 10.0
# A job's saved progress is kept this long after its last change (to resume it, or to show how
# it ended); a temporary file a crash left behind, an hour.
JOB_FILE_TTL = 30 * 24 * 3600
TEMP_FILE_TTL = 3600


def sweep(folder: Path, now: float | None = None) -> int:
    """Removes job files nobody touched for JOB_FILE_TTL and stray temporary files; returns
    how many. Run when the service starts: it never holds a job that old in memory."""
    now = time.time() if now is None else now
    removed = 0
    if not folder.is_dir():
        return 0
    for path in folder.iterdir():
        name = path.name
        if name.endswith(".json"):
            ttl = JOB_FILE_TTL
        elif ".json." in name:
            ttl = TEMP_FILE_TTL
        else:
            continue
        try:
            if now - path.stat().st_mtime > ttl:
                path.unlink()
                removed += 1
        except OSError:
            continue  # another worker got there first
    return removed


@dataclass
class _Job:
    id: str
    state: RunState
    status: str = "running"  # running | waiting | done | stopped
    message: str = ""
    log: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None

    publish: Callable[[_Job], None] | None = None

    def report(self, line: str) -> None:
        self.message = line
        waits = ("write budget spent", "daily follow limit reached", "waiting for")
        self.status = "waiting" if line.startswith(waits) else "running"
        self.log = [*self.log[-49:], line]
        if self.publish is not None:
            self.publish(self)

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


OAUTH_WAIT = 15 * 60  # seconds for the user to sign in and allow, in their browser


class Jobs:
    def __init__(
        self, settings: Settings, folder: Path | None = None, cache: Cache | None = None
    ) -> None:
        self.settings = settings
        self.folder = folder or state_folder()
        secret = settings.secret_key or secrets.token_urlsafe(32)
        self.leases = self.folder.parent / "leases"  # one run per account (lease.py)
        self.lease_cache = cache if isinstance(cache, RedisCache) else None  # across machines
        if cache is None or isinstance(cache, NullCache):
            # The cache is off: the workers of this machine still share through a file of
            # their own beside the job files (sealed values only; the key is not on disk).
            cache = SqliteCache(self.folder / "shared.sqlite3")
        self.shared = Shared(cache, secret)
        self._secret = secret  # the confidential OAuth client's key is derived from it
        self.sessions: dict[str, tuple[BlueskyWriter, float]] = {}
        self.jobs: dict[str, _Job] = {}
        self.lock = threading.Lock()
        self.published: dict[str, float] = {}
        self.mastodon = MastodonAuth(self._session, settings.timeout, self.shared)
        self.heart: threading.Thread | None = None
        self._client_key: ClientKey | None = None
        sweep(self.folder)

    def _session(self) -> Any:
        return session_for(self.settings, concurrency=2)

    def _bluesky(self, session: Any) -> Bluesky:
        """For finding where an account lives (its handle's DID), with no cache."""
        s = self.settings
        return Bluesky(session, s.bsky_appview, NullCache(), s.timeout, s.dns_servers)

    def sign_in(self, handle: str, app_password: str) -> tuple[str, str]:
        """(session token, DID). Raises SignInError or UpstreamUnavailable."""
        session = self._session()
        try:
            pds = pds_for(handle, self.settings, session, self._bluesky(session))
        except PdsNotFound as e:
            raise SignInError(str(e)) from None
        writer = BlueskyWriter(session, pds, self.settings.timeout)
        did = writer.sign_in(handle, app_password)
        token = secrets.token_urlsafe(24)
        self._keep_session(token, writer)
        with self.lock:
            now = time.time()
            self.sessions = {k: v for k, v in self.sessions.items() if v[1] > now}
            self.sessions[token] = (writer, now + SESSION_TTL)
        return token, did

    def _keep_session(self, token: str, writer: BlueskyWriter) -> None:
        """Shares the atproto session (sealed), and again each time the SDK refreshes it."""
        expires = time.time() + SESSION_TTL

        def keep(*_: Any) -> None:
            left = expires - time.time()
            if left > 0:
                self.shared.put(
                    "bsky-session",
                    token,
                    {
                        "session": writer.client.export_session_string(),
                        "did": writer.did,
                        "pds": writer.pds,
                    },
                    left,
                    secret=True,
                )

        keep()
        writer.client.on_session_change(keep)

    # -- Sign in with Bluesky (OAuth) ------------------------------------------------------
    def client_key(self) -> ClientKey:
        """The confidential OAuth client's signing key (the same in every worker that shares
        the secret; derived, never stored)."""
        from .bsky_oauth import ClientKey

        with self.lock:
            if self._client_key is None:
                self._client_key = ClientKey(self._secret)
            return self._client_key

    def bluesky_client(self, base_url: str) -> tuple[str, str, ClientKey | None]:
        """(client_id, redirect URI, key) of this service as an atproto OAuth client, from the
        address people reach it at: on this machine (127.0.0.1), a *loopback client* (no
        metadata, no key); reached over https (a hosted instance), a *confidential client*
        whose metadata it publishes. Anything else cannot sign in with Bluesky."""
        from .bsky_oauth import CALLBACK_PATH, CLIENT_METADATA_PATH, OAuthError, loopback_client_id

        base = base_url.rstrip("/")
        parts = urlsplit(base)
        host = (parts.hostname or "").lower()
        if host in ("127.0.0.1", "localhost", "::1"):
            port = f":{parts.port}" if parts.port else ""
            redirect = f"http://{'[::1]' if host == '::1' else '127.0.0.1'}{port}{CALLBACK_PATH}"
            return loopback_client_id(redirect), redirect, None
        if parts.scheme == "https" and "." in host and not is_ip_literal(host):  # ids are names
            return base + CLIENT_METADATA_PATH, base + CALLBACK_PATH, self.client_key()
        raise OAuthError(
            "Sign in with Bluesky needs the service on this machine (127.0.0.1) or reached over "
            "https (set PASSERELLE_PUBLIC_URL to its https address); sign in with an app "
            "password instead"
        )

    def bluesky_authorize(self, handle: str, base_url: str) -> tuple[str, str, str]:
        """(authorize URL, state, key) of a new OAuth sign-in, as the client `base_url` makes
        this service (`bluesky_client`). The sign-in waiting for the user is shared, sealed, so
        any worker can take the callback."""
        from .bsky_oauth import BlueskyOAuth, OAuthError, pending_to_json
        from .pds import PdsNotFound, account_for

        client_id, redirect_uri, client_key = self.bluesky_client(base_url)
        session = self._session()
        try:
            did, pds = account_for(handle, self.settings, session, self._bluesky(session))
        except PdsNotFound as e:
            raise OAuthError(str(e)) from None
        oauth = BlueskyOAuth(
            session, self.settings.timeout, self.settings.trusted_hosts, client_key
        )
        pending = oauth.start(handle, did, pds, client_id, redirect_uri)
        key = secrets.token_urlsafe(24)
        kept = {"pending": pending_to_json(pending), "key": key}
        self.shared.put("bsky-oauth", pending.state, kept, OAUTH_WAIT, secret=True)
        return pending.authorize_url, pending.state, key

    def bluesky_callback(self, state: str, code: str, iss: str | None) -> str:
        """The user came back: the sign-in is finished and kept; its handle."""
        from .bluesky import OAuthBlueskyWriter
        from .bsky_oauth import BlueskyOAuth, OAuthError, pending_from_json

        kept = self.shared.get("bsky-oauth", state)
        if not isinstance(kept, dict) or "pending" not in kept:
            raise OAuthError("this sign-in has expired or was already used: start again")
        self.shared.drop("bsky-oauth", state)  # a code is exchanged once
        pending = pending_from_json(kept["pending"])
        session = self._session()
        confidential = pending.client_id.startswith("https://")
        oauth = BlueskyOAuth(
            session,
            self.settings.timeout,
            self.settings.trusted_hosts,
            self.client_key() if confidential else None,
        )
        signed_in = oauth.finish(pending, code, iss)
        token = secrets.token_urlsafe(24)
        writer = OAuthBlueskyWriter(session, signed_in, self.settings.timeout)
        self.shared.put(
            "bsky-session", token, {"oauth": signed_in.to_json()}, SESSION_TTL, secret=True
        )
        with self.lock:
            self.sessions[token] = (writer, time.time() + SESSION_TTL)
        self.shared.put(
            "bsky-oauth-ready", state, [token, kept["key"], signed_in.did], OAUTH_WAIT, secret=True
        )
        return signed_in.handle

    def bluesky_session_for_state(self, state: str, key: str) -> tuple[str, str] | None:
        """(session token, DID) once the user is back, given once and only with the key of the
        sign-in's starter (a state seen in an address is not enough)."""
        ready = self.shared.get("bsky-oauth-ready", state)
        if not isinstance(ready, list) or len(ready) != 3:
            return None
        if not secrets.compare_digest(str(ready[1]).encode(), key.encode()):
            return None
        self.shared.drop("bsky-oauth-ready", state)
        return str(ready[0]), str(ready[2])

    def writer(self, token: str) -> BlueskyWriter | None:
        with self.lock:
            found = self.sessions.get(token)
        if found and found[1] > time.time():
            return found[0]
        kept = self.shared.get("bsky-session", token)  # signed in through another worker
        if isinstance(kept, dict) and isinstance(kept.get("oauth"), dict):
            from .bluesky import OAuthBlueskyWriter
            from .bsky_oauth import OAuthSession

            try:
                signed_in = OAuthSession.from_json(kept["oauth"], self.client_key())
            except (KeyError, ValueError):
                return None
            oauth_writer = OAuthBlueskyWriter(self._session(), signed_in, self.settings.timeout)
            with self.lock:
                self.sessions[token] = (oauth_writer, time.time() + SESSION_TTL)
            return oauth_writer
        if not isinstance(kept, dict) or not kept.get("session"):
            return None
        pds = str(kept.get("pds") or self.settings.bsky_pds)
        writer = BlueskyWriter(self._session(), pds, self.settings.timeout)
        if not writer.resume(str(kept["session"]), str(kept.get("did") or "")):
            return None
        self._keep_session(token, writer)
        with self.lock:
            self.sessions[token] = (writer, time.time() + SESSION_TTL)
        return writer

    # -- live status, shared ------------------------------------------------------------------
    def _publish(self, job: _Job, force: bool = False) -> None:
        """The job's status where every worker sees it (at most once a second, unless
        `force`), with a time to live its heartbeat renews."""
        now = time.monotonic()
        if not force and now - self.published.get(job.id, 0.0) < 1.0:
            return
        self.published[job.id] = now
        ttl = LIVE_TTL if job.alive or job.status in ("running", "waiting") else JOB_FILE_TTL
        self.shared.put("job", job.id, self._view(job.id, job.state, job.status, job.message), ttl)

    def _heartbeat(self) -> None:
        while True:
            time.sleep(HEARTBEAT)
            with self.lock:
                live = [j for j in self.jobs.values() if j.alive]
            for job in live:
                self._publish(job, force=True)

    def _prepare(
        self, job_id: str | None, network: str, account: str, targets: list[Target]
    ) -> tuple[str, _Job | None]:
        """The job's saved state joined by these targets; no job when it is already running
        (here, or in another worker)."""
        job_id = job_id or secrets.token_hex(8)
        with self.lock:
            running = self.jobs.get(job_id)
            if running and running.alive:
                return job_id, None
        elsewhere = self.shared.get("job", job_id)
        if (
            running is None
            and isinstance(elsewhere, dict)
            and elsewhere.get("status") in ("running", "waiting")
        ):
            return job_id, None
        state = RunState.load(self.folder / f"{job_id}.json", network)
        if state.account and state.account != account:
            raise PermissionError("this job belongs to another account")
        state.account = account
        state.add_targets(targets)
        state.save()
        return job_id, _Job(job_id, state)

    def _launch(self, job: _Job, work: Callable[[], None]) -> str:
        """Run `work` in a thread; whatever happens, the state is saved and the job says how
        it ended."""

        def run() -> None:
            try:
                work()
            except (UpstreamUnavailable, BudgetExhausted, MastodonStopped) as e:
                job.status, job.message = "stopped", f"stopped: {e}; start again to resume"
            except Exception as e:  # never lose the state to an unexpected error
                job.status, job.message = "stopped", f"stopped: {type(e).__name__}"
            else:
                job.status, job.message = "done", "done"
            finally:
                job.state.save()
                self._publish(job, force=True)

        job.thread = threading.Thread(target=run, name=f"follow-{job.id}", daemon=True)
        job.publish = self._publish
        with self.lock:
            self.jobs[job.id] = job
            if self.heart is None:
                self.heart = threading.Thread(target=self._heartbeat, name="heart", daemon=True)
                self.heart.start()
        job.thread.start()
        self._publish(job, force=True)
        return job.id

    def start(
        self,
        writer: BlueskyWriter,
        targets: list[Target],
        list_name: str | None,
        pack_name: str | None,
        job_id: str | None = None,
    ) -> str:
        """Follow on Bluesky (then a list and starter packs), in a thread."""
        job_id, job = self._prepare(job_id, "bluesky", writer.did, targets)
        if job is None:
            return job_id
        budget = WriteBudget.from_json(job.state.budget, self.settings.bsky_write_budget)
        runner = Runner(writer, job.state, budget, wait=True, report=job.report)

        def work() -> None:
            # The same account's other runs (another job, tab, worker or machine; the CLI)
            # first: then the follows they wrote are read and skipped.
            with account_lease(writer.did, self.leases, self.lease_cache, job.report):
                runner.follow_all()
                if list_name:
                    runner.make_list(list_name)
                if pack_name:
                    runner.make_starter_packs(pack_name)

        return self._launch(job, work)

    def start_mastodon(
        self, session: MastodonSession, targets: list[Target], job_id: str | None = None
    ) -> str:
        """Follow fediverse accounts from the user's home server, in a thread."""
        job_id, job = self._prepare(job_id, "mastodon", session.acct, targets)
        if job is None:
            return job_id
        host = urlsplit(session.server).hostname or ""

        def work() -> None:
            m = mastodon_client(
                session.server, session.token, self._session(), self.settings.timeout
            )
            with account_lease(session.acct, self.leases, self.lease_cache, job.report):
                follow_all(m, job.state, host, job.report)

        return self._launch(job, work)

    def status(self, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            job = self.jobs.get(job_id)
        if job is not None:
            return self._view(job_id, job.state, job.status, job.message)
        live = self.shared.get("job", job_id)  # run by another worker (or machine)
        if isinstance(live, dict) and live.get("id") == job_id:
            return live
        path = self.folder / f"{job_id}.json"
        if not path.exists():
            return None
        try:
            network = json.loads(path.read_text(encoding="utf-8")).get("network", "bluesky")
        except ValueError:
            return None
        state = RunState.load(path, network)
        return self._view(
            job_id, state, "stopped", "the service restarted: sign in again to resume"
        )

    @staticmethod
    def _view(job_id: str, state: RunState, status: str, message: str) -> dict[str, Any]:
        return {
            "id": job_id,
            "network": state.network,
            "status": status,
            "message": message,
            "counts": state.counts(),
            "accounts": {
                i: {
                    "handle": e["handle"],
                    "status": e["status"],
                    **({"error": e["error"]} if e.get("error") else {}),
                }
                for i, e in state.targets.items()
            },
            "lists": state.lists,
            "starter_packs": state.packs,
        }

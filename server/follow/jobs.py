"""Follow jobs run by the service for the extension's results page.

Sign-in gives a session token; the atproto session lives only in this process's memory and
expires (the app password is used once and never kept). A job's progress is saved without
credentials under the service's state folder, so after a restart the user signs in again and
the same job resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..config import Settings
from ..networks.http import UpstreamUnavailable, session_for
from .bluesky import BlueskyWriter
from .budget import WriteBudget
from .mastodon import MastodonStopped, follow_all
from .mastodon import client as mastodon_client
from .mastodon_oauth import MastodonAuth, MastodonSession
from .plan import Target
from .run import BudgetExhausted, Runner
from .state import RunState

SESSION_TTL = 2 * 3600
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


def state_folder() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "passerelle" / "jobs"


@dataclass
class _Job:
    id: str
    state: RunState
    status: str = "running"  # running | waiting | done | stopped
    message: str = ""
    log: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None

    def report(self, line: str) -> None:
        self.message = line
        waits = ("write budget spent", "daily follow limit reached", "waiting for")
        self.status = "waiting" if line.startswith(waits) else "running"
        self.log = [*self.log[-49:], line]


class Jobs:
    def __init__(self, settings: Settings, folder: Path | None = None) -> None:
        self.settings = settings
        self.folder = folder or state_folder()
        self.sessions: dict[str, tuple[BlueskyWriter, float]] = {}
        self.jobs: dict[str, _Job] = {}
        self.lock = threading.Lock()
        self.mastodon = MastodonAuth(self._session, settings.timeout)
        sweep(self.folder)

    def _session(self) -> Any:
        return session_for(self.settings, concurrency=2)

    def sign_in(self, handle: str, app_password: str) -> tuple[str, str]:
        """(session token, DID). Raises SignInError or UpstreamUnavailable."""
        writer = BlueskyWriter(self._session(), self.settings.bsky_pds, self.settings.timeout)
        did = writer.sign_in(handle, app_password)
        token = secrets.token_urlsafe(24)
        with self.lock:
            now = time.time()
            self.sessions = {k: v for k, v in self.sessions.items() if v[1] > now}
            self.sessions[token] = (writer, now + SESSION_TTL)
        return token, did

    def writer(self, token: str) -> BlueskyWriter | None:
        with self.lock:
            found = self.sessions.get(token)
        return found[0] if found and found[1] > time.time() else None

    def _prepare(
        self, job_id: str | None, network: str, account: str, targets: list[Target]
    ) -> tuple[str, _Job | None]:
        """The job's saved state joined by these targets; no job when it is already running."""
        job_id = job_id or secrets.token_hex(8)
        with self.lock:
            running = self.jobs.get(job_id)
            if running and running.thread and running.thread.is_alive():
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

        job.thread = threading.Thread(target=run, name=f"follow-{job.id}", daemon=True)
        with self.lock:
            self.jobs[job.id] = job
        job.thread.start()
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
            follow_all(m, job.state, host, job.report)

        return self._launch(job, work)

    def status(self, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            path = self.folder / f"{job_id}.json"
            if not path.exists():
                return None
            try:
                network = json.loads(path.read_text(encoding="utf-8")).get("network", "bluesky")
            except ValueError:
                return None
            state = RunState.load(path, network)
            status, message = "stopped", "the service restarted: sign in again to resume"
        else:
            state, status, message = job.state, job.status, job.message
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

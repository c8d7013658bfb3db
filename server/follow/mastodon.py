"""`passerelle follow mastodon`: follows the fediverse matches from the user's home server with
Mastodon.py and an access token from the environment (never written anywhere).

Each account is resolved on the home server first (`search` with `resolve`, so the server
fetches remote accounts it does not know yet), checked (already followed or requested:
skipped), then followed. The state is saved after every account.

Limits (server/follow/limits.py): the run paces itself by the server's 5-minute request window
(`X-RateLimit-*`: when it is nearly spent, it waits for the reset, and says so); the daily
follow limit (400) is planned for before starting, and once the server refuses (429 with a
reset hours away) the run says when it continues and waits for it, or with `--no-wait` stops
with its progress saved. Mastodon.py's own "pace" mode is not used: once the daily family's
headers came back it spread the few follows left over the whole day, 5 silent minutes a call.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from mastodon import Mastodon
from mastodon import errors as merr

from ..core.config import Settings
from ..core.hosts import split_url, why_not_public
from ..core.validate import SPACE, InputError
from ..networks.http import USER_AGENT
from .lease import account_lease, lease_folder, shared_cache
from .limits import is_daily, plan, when
from .state import RunState

# With version checks off, Mastodon.py uses no version; one must be given all the same.
ASSUMED_VERSION = "4.0.0"
NETWORK_ERRORS = (merr.MastodonNetworkError, merr.MastodonServerError, merr.MastodonRatelimitError)


def home_server(url: str) -> str:
    """`https://host[:port]` of the user's server, from what they typed (`piaille.fr` will do).

    Only a public internet name over HTTPS: the token travels there, and a hosted service must
    not be steered to its own network. Mirrors the `server` pattern of the OpenAPI document.
    """
    text = url.strip(SPACE)
    parts = split_url(text) if "://" not in text or text.startswith("https://") else None
    hint = "expected your server's address, e.g. https://piaille.fr"
    try:
        port = parts.port if parts else None
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme != "https"
        or not parts.hostname
        or not parts.hostname.isascii()
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or port == 0
    ):
        raise InputError(f"{text[:80]!r}: {hint} (an international name in its xn-- form)")
    host = parts.hostname.lower()
    reason = why_not_public(host)
    if reason is None and host.replace(".", "").isdigit():
        reason = "an address, not a name"
    if reason:
        raise InputError(f"{host[:80]!r} is {reason}, not a fediverse server")
    return f"https://{host}" + (f":{port}" if port else "")


def _same(acct: str, found: str, home_host: str) -> bool:
    found = found.lower()
    if "@" not in found:
        found = f"{found}@{home_host}"
    return found == acct.lower()


class MastodonStopped(Exception):
    """The home server could not be reached; the state is saved and the run can resume."""


class FollowFamilyLimit(merr.MastodonRatelimitError):
    """A follow refused with 429 while the general request window had room: the account's
    follow family (400 a day) is spent, whatever its reset says."""


class DailyLimitReached(Exception):
    """The server's daily follow limit is spent and the run was asked not to wait."""

    def __init__(self, seconds: float, limit: int | None) -> None:
        super().__init__(seconds)
        self.seconds = seconds
        self.limit = limit


def client(server: str, token: str, session: requests.Session, timeout: float) -> Mastodon:
    return Mastodon(
        access_token=token,
        api_base_url=server,
        session=session,
        request_timeout=timeout,
        ratelimit_method="throw",  # our own pacing (follow_all): see the module's docstring
        version_check_mode="none",
        # Said known, so that `log_in` never retries the check: on a server answering 404 to
        # /api/v1/instance/, Mastodon.py's retry recursed until a RecursionError.
        mastodon_version=ASSUMED_VERSION,
        user_agent=USER_AGENT,
    )


def _reset_in(m: Mastodon, now: float) -> float:
    reset = getattr(m, "ratelimit_reset", None)
    return max(0.0, float(reset) - now) if reset else 60.0


def follow_all(
    m: Mastodon,
    state: RunState,
    host: str,
    say: Callable[[str], None],
    wait: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> None:
    """Follow every pending account of the state from the home server `m` is signed in to."""
    todo = state.with_status("pending", "failed")
    total = len(todo)
    if total:
        say(f"following {total:,} accounts from {host}")

    def pace() -> None:
        _pace(m, host, say, sleep, clock)

    for n, acct in enumerate(todo, start=1):
        while True:
            try:
                outcome, error = _follow_one(m, acct, host, pace)
                break
            except FollowFamilyLimit:
                state.save()
                _wait_for_day(m, host, say, wait, sleep, clock)
            except merr.MastodonRatelimitError:
                state.save()
                seconds = _reset_in(m, clock())
                if is_daily(seconds):  # a reset hours away is the day's, whatever came before
                    _wait_for_day(m, host, say, wait, sleep, clock)
                    continue
                say(f"{host} asks to slow down: waiting {seconds:.0f} s")
                sleep(seconds + 1)
            except (*NETWORK_ERRORS, requests.RequestException) as e:
                state.save()
                raise MastodonStopped(f"{host}: {type(e).__name__}") from e
        state.mark(acct, outcome, error)
        state.save()
        if outcome == "failed":
            say(f"not followed: {acct}: {error}")
        if n % 10 == 0 or n == total:
            say(f"{n:,} / {total:,}")


def _wait_for_day(
    m: Mastodon,
    host: str,
    say: Callable[[str], None],
    wait: bool,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    """The follow family is spent: say when it resets, then wait for it (or stop)."""
    now = clock()
    seconds = _reset_in(m, now)
    limit = getattr(m, "ratelimit_limit", None)
    if not wait:
        raise DailyLimitReached(seconds, limit)
    say(
        f"daily follow limit reached on {host} ({limit or 'about 400'} a day): "
        f"continuing {when(seconds, now)}; progress is saved (stopping now and running the "
        "same command again later also goes on)"
    )
    first = True
    while (left := _reset_in(m, clock())) > 0:
        if not first:  # once an hour, so a long wait is never silent
            say(f"waiting for {host}'s daily follow limit: continuing {when(left, clock())}")
        first = False
        sleep(min(left + 1, 3600))


def _pace(
    m: Mastodon,
    host: str,
    say: Callable[[str], None],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    """Paces by the short request window, read from the answers of ordinary requests (a
    follow's answer may carry the daily family's headers instead, which are not paced over):
    nearly spent, wait for its reset."""
    remaining = getattr(m, "ratelimit_remaining", None)
    seconds = _reset_in(m, clock())
    if remaining is not None and remaining <= 2 and seconds > 0 and not is_daily(seconds):
        say(f"{host}'s request window is nearly spent: waiting {seconds:.0f} s for it to reset")
        sleep(seconds + 1)


def follow_mastodon(
    args: argparse.Namespace,
    state: RunState,
    session: requests.Session,
    settings: Settings,
    say: Callable[[str], None],
    summary: Callable[..., str],
) -> int:
    token = os.environ.get("MASTODON_ACCESS_TOKEN", "").strip()
    if not token:
        raise InputError(
            "set MASTODON_ACCESS_TOKEN (a token of your account, with the "
            "read:search, read:follows and write:follows scopes) in the environment"
        )
    try:
        server = home_server(args.server)
    except InputError as e:
        raise InputError(f"--server {e}") from None
    host = urlsplit(server).hostname or ""
    m = client(server, token, session, settings.timeout)
    try:
        me = m.account_verify_credentials()
    except merr.MastodonUnauthorizedError:
        say(f"passerelle: error: {host} refused the access token")
        return 1
    except (merr.MastodonError, requests.RequestException) as e:
        say(f"passerelle: error: cannot reach {server}: {type(e).__name__}")
        return 1
    account = f"{me['acct']}@{host}".lower()
    if state.account and state.account != account:
        raise InputError(f"{state.path}: this state belongs to another account; use --state")
    state.account = account
    state.save()
    pending = len(state.with_status("pending", "failed"))
    following, followers = int(me.get("following_count") or 0), int(me.get("followers_count") or 0)
    for line in plan(pending, following, followers):
        say(line)
    try:
        with account_lease(account, lease_folder(), shared_cache(settings.cache_url), say):
            follow_all(m, state, host, say, wait=not args.no_wait)
    except MastodonStopped as e:
        print(summary(state, f"stopped: {e}; run the same command again to resume"))
        return 1
    except DailyLimitReached as e:
        print(
            summary(
                state,
                f"daily follow limit reached on {host} ({e.limit or 'about 400'} a day): run the "
                f"same command again {when(e.seconds)} to go on",
            )
        )
        return 0
    print(summary(state))
    return 0


def _follow_one(
    m: Mastodon, acct: str, home_host: str, pace: Callable[[], None] = lambda: None
) -> tuple[str, str | None]:
    try:
        found: Any = m.search_v2(acct, resolve=True, result_type="accounts")
    except merr.MastodonAPIError as e:
        if isinstance(e, merr.MastodonServerError):
            raise
        return "failed", "search refused"
    accounts = [a for a in found.get("accounts", []) if _same(acct, a["acct"], home_host)]
    if not accounts:
        return "failed", "not found from your server"
    target = accounts[0]
    pace()
    relation = m.account_relationships(target["id"])
    if relation and (relation[0].get("following") or relation[0].get("requested")):
        return "skipped", None
    pace()
    room = getattr(m, "ratelimit_remaining", None)  # the general window, just read
    try:
        m.account_follow(target["id"])
    except merr.MastodonRatelimitError as e:
        if room is not None and room > 2:  # the window had room: the day's follows are spent
            raise FollowFamilyLimit(*e.args) from e
        raise
    except merr.MastodonAPIError as e:
        if isinstance(e, merr.MastodonServerError):
            raise
        return "failed", _refusal(e)
    return "followed", None


def _refusal(e: Exception) -> str:
    """Why the server refused a follow, in its words when it gave some (its follow limit:
    "Validation failed: You cannot follow more than 7500 people")."""
    words = [a for a in getattr(e, "args", ()) if isinstance(a, str) and a.strip()]
    said = words[-1].strip()[:200] if words else ""
    return f"follow refused: {said}" if said else "follow refused"

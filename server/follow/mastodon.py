"""`passerelle follow mastodon`: follows the fediverse matches from the user's home server with
Mastodon.py and an access token from the environment (never written anywhere).

Each account is resolved on the home server first (`search` with `resolve`, so the server
fetches remote accounts it does not know yet), checked (already followed or requested:
skipped), then followed. Mastodon.py paces itself by the server's `X-RateLimit-*` headers; a
429 is waited out by the HTTP layer. The state is saved after every account.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from mastodon import Mastodon
from mastodon import errors as merr

from ..config import Settings
from ..hosts import split_url, why_not_public
from ..networks.http import USER_AGENT
from ..validate import SPACE, InputError
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


def client(server: str, token: str, session: requests.Session, timeout: float) -> Mastodon:
    return Mastodon(
        access_token=token,
        api_base_url=server,
        session=session,
        request_timeout=timeout,
        ratelimit_method="pace",
        version_check_mode="none",
        # Said known, so that `log_in` never retries the check: on a server answering 404 to
        # /api/v1/instance/, Mastodon.py's retry recursed until a RecursionError.
        mastodon_version=ASSUMED_VERSION,
        user_agent=USER_AGENT,
    )


def follow_all(m: Mastodon, state: RunState, host: str, say: Callable[[str], None]) -> None:
    """Follow every pending account of the state from the home server `m` is signed in to."""
    todo = state.with_status("pending", "failed")
    total = len(todo)
    if total:
        say(f"following {total:,} accounts from {host}")
    for n, acct in enumerate(todo, start=1):
        try:
            outcome, error = _follow_one(m, acct, host)
        except (*NETWORK_ERRORS, requests.RequestException) as e:
            state.save()
            raise MastodonStopped(f"{host}: {type(e).__name__}") from e
        state.mark(acct, outcome, error)
        state.save()
        if n % 10 == 0 or n == total:
            say(f"{n:,} / {total:,}")


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
    try:
        follow_all(m, state, host, say)
    except MastodonStopped as e:
        print(summary(state, f"stopped: {e}; run the same command again to resume"))
        return 1
    print(summary(state))
    return 0


def _follow_one(m: Mastodon, acct: str, home_host: str) -> tuple[str, str | None]:
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
    relation = m.account_relationships(target["id"])
    if relation and (relation[0].get("following") or relation[0].get("requested")):
        return "skipped", None
    try:
        m.account_follow(target["id"])
    except merr.MastodonAPIError as e:
        if isinstance(e, merr.MastodonServerError):
            raise
        return "failed", "follow refused"
    return "followed", None

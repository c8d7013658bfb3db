"""`passerelle follow bluesky|mastodon FILE …`: credentials from the environment only, progress
on stderr, a summary on stdout, the state beside FILE so a rerun resumes."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..core.config import Settings
from ..core.validate import InputError
from ..networks.http import UpstreamUnavailable, session_for
from .budget import WriteBudget
from .lease import account_lease, lease_folder, shared_cache
from .plan import parse_levels, targets
from .state import RunState


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def state_path(args: argparse.Namespace) -> Path:
    if args.state:
        return Path(args.state)
    source = Path(args.file if args.file != "-" else "passerelle")
    return source.with_name(source.name + f".follow-{args.network}.json")


def summary(state: RunState, extra: str = "") -> str:
    c = state.counts()
    line = (
        f"followed {c['followed']:,}, skipped {c['skipped']:,} (already followed), "
        f"failed {c['failed']:,}"
    )
    if c["unavailable"]:
        line += f", not followed {c['unavailable']:,} (no longer on the network)"
    if c["pending"]:
        line += f", still to do {c['pending']:,}"
    return line + (f"; {extra}" if extra else "")


def follow(args: argparse.Namespace, body: Any, settings: Settings) -> int:
    levels = parse_levels(args.levels)
    chosen = targets(
        body,
        "bluesky" if args.network == "bluesky" else "mastodon",
        levels,
        include_bridged=args.include_bridged,
        only_new=args.only_new,
    )
    state = RunState.load(state_path(args), args.network)
    state.add_targets(chosen)
    session = session_for(settings, concurrency=2)
    if args.network == "bluesky":
        return _bluesky(args, state, session, settings)
    from .mastodon import follow_mastodon

    return follow_mastodon(args, state, session, settings, _say, summary)


OAUTH_WAIT = 15 * 60  # seconds for the user to sign in and allow, in their browser


def _oauth_sign_in(handle: str, did: str, pds: str, session: Any, settings: Settings) -> Any:
    """Sign in with Bluesky in the user's browser, as a loopback client: the authorization
    server's page is opened (or its address printed), and its answer comes back to a one-shot
    server on 127.0.0.1. The tokens stay in this process's memory."""
    import contextlib
    import webbrowser

    from .bsky_oauth import BlueskyOAuth, LoopbackCallback, OAuthError, loopback_client_id

    oauth = BlueskyOAuth(session, settings.timeout, settings.trusted_hosts)
    callback = LoopbackCallback()
    try:
        redirect = callback.redirect_uri
        pending = oauth.start(handle, did, pds, loopback_client_id(redirect), redirect)
        _say(f"sign in with Bluesky at {pending.issuer}, in your browser: {pending.authorize_url}")
        with contextlib.suppress(webbrowser.Error):  # the address is printed above
            webbrowser.open(pending.authorize_url)  # the browser `BROWSER` names, if set
        answer = callback.wait(OAUTH_WAIT)
    finally:
        callback.close()
    if not answer:
        raise OAuthError("no answer from the browser in 15 minutes")
    if answer.get("state") != pending.state:
        raise OAuthError("the browser came back from another sign-in")
    if "code" not in answer:
        raise OAuthError(f"the sign-in was not allowed ({answer.get('error', 'no code')})")
    signed_in = oauth.finish(pending, answer["code"], answer.get("iss"))
    _say(f"signed in as @{handle} ({signed_in.did})")
    return signed_in


def _bluesky(args: argparse.Namespace, state: RunState, session: Any, settings: Settings) -> int:
    from .bluesky import BlueskyWriter, SignInError
    from .run import BudgetExhausted, Runner

    handle = os.environ.get("BLUESKY_HANDLE", "").strip().lstrip("@")
    password = os.environ.get("BLUESKY_APP_PASSWORD", "")
    if args.oauth and not handle:
        raise InputError("set BLUESKY_HANDLE (your handle) in the environment")
    if not args.oauth and (not handle or not password):
        raise InputError(
            "set BLUESKY_HANDLE and BLUESKY_APP_PASSWORD (an app password, made at "
            "https://bsky.app/settings/app-passwords) in the environment, or sign in with "
            "Bluesky in your browser: --oauth"
        )
    from ..core.cache import NullCache
    from ..networks.bluesky import Bluesky
    from .pds import PdsNotFound, account_for, pds_for

    bluesky = Bluesky(
        session, settings.bsky_appview, NullCache(), settings.timeout, settings.dns_servers
    )
    try:
        if args.oauth:
            did, pds = account_for(handle, settings, session, bluesky)
        else:
            pds = pds_for(handle, settings, session, bluesky)
    except PdsNotFound as e:
        _say(f"passerelle: error: {e}")
        return 1
    except UpstreamUnavailable as e:
        _say(f"passerelle: error: cannot find where @{handle} lives: {e}")
        return 1
    writer: BlueskyWriter
    if args.oauth:
        from .bluesky import OAuthBlueskyWriter
        from .bsky_oauth import OAuthError

        try:
            writer = OAuthBlueskyWriter(
                session, _oauth_sign_in(handle, did, pds, session, settings), settings.timeout
            )
        except OAuthError as e:
            _say(f"passerelle: error: {e}")
            return 1
    else:
        _say(f"signing in at {pds}")
        writer = BlueskyWriter(session, pds, settings.timeout)
        try:
            did = writer.sign_in(handle, password)
        except SignInError as e:
            _say(f"passerelle: error: {e}")
            return 1
        except UpstreamUnavailable as e:
            _say(f"passerelle: error: cannot reach {pds}: {e}")
            return 1
    if state.account and state.account != did:
        raise InputError(f"{state.path}: this state belongs to another account; use --state")
    state.account = did
    budget = WriteBudget.from_json(state.budget, settings.bsky_write_budget)
    runner = Runner(writer, state, budget, wait=not args.no_wait, report=_say)
    state.save()
    try:
        # One run per account at a time (another terminal, the results page): the follows
        # are read after the other run has written its own (lease.py).
        with account_lease(did, lease_folder(), shared_cache(settings.cache_url), _say):
            runner.follow_all()
            if args.list:
                runner.make_list(args.list)
            if args.starter_pack:
                for uri in runner.make_starter_packs(args.starter_pack):
                    _say(f"starter pack: {uri}")
    except BudgetExhausted as e:
        state.save()
        print(
            summary(
                state,
                f"write budget spent: run the same command again in "
                f"{e.seconds / 60:.0f} min to go on",
            )
        )
        return 0
    except UpstreamUnavailable as e:
        state.save()
        print(summary(state, f"stopped: {e}; run the same command again to resume"))
        return 1
    print(summary(state))
    return 0

"""Signing in to the user's Mastodon server with OAuth, for the results page.

The service registers itself as an app on the user's server with Mastodon.py (once per server
and process), sends the user to the server's own consent page, and exchanges the code it gets
back for an access token. Tokens, app secrets and sign-ins under way are kept sealed where every
worker of the service sees them (shared.py), never on disk in the clear, and expire: the
consent page's answer may reach another worker than the one that sent the user there.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from mastodon import Mastodon
from mastodon import errors as merr

from ..networks.http import USER_AGENT
from .mastodon import ASSUMED_VERSION, home_server
from .shared import Shared

SCOPES = ["read:search", "read:follows", "write:follows"]
PENDING_TTL = 15 * 60
SESSION_TTL = 2 * 3600
MAX_APPS = 1000  # registrations remembered in memory (one per server), oldest forgotten first
APP_TTL = 30 * 24 * 3600  # a registration shared with the other workers


class OAuthError(Exception):
    """The server refused, or the flow went wrong; the message is for the user.

    `unreachable` tells a server that could not be asked (try later) from one that answered
    no (not a Mastodon-compatible server, or it refused the app).
    """

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


_UNREACHABLE = (
    merr.MastodonNetworkError,
    merr.MastodonServerError,
    merr.MastodonRatelimitError,
    requests.RequestException,
)


@dataclass
class MastodonSession:
    server: str
    token: str
    acct: str
    expires: float


class MastodonAuth:
    def __init__(
        self,
        make_session: Callable[[], requests.Session],
        timeout: float,
        shared: Shared | None = None,
    ) -> None:
        from ..core.cache import NullCache

        self.make_session = make_session
        self.timeout = timeout
        self.shared = shared or Shared(NullCache(), secrets.token_urlsafe(32))
        self.apps: dict[tuple[str, str], tuple[str, str]] = {}  # (server, callback) → id, secret
        self.lock = threading.Lock()

    def _app(self, server: str, callback: str) -> tuple[str, str]:
        with self.lock:
            app = self.apps.get((server, callback))
        if app is None:
            kept = self.shared.get("masto-app", f"{server} {callback}")
            if isinstance(kept, list) and len(kept) == 2:
                app = (str(kept[0]), str(kept[1]))
        if app is None:
            try:
                app = Mastodon.create_app(
                    "Passerelle",
                    scopes=SCOPES,
                    redirect_uris=callback,
                    website="https://github.com/passerelle-social/passerelle",
                    api_base_url=server,
                    request_timeout=self.timeout,
                    session=self.make_session(),
                    user_agent=USER_AGENT,
                )
            except (merr.MastodonError, requests.RequestException) as e:
                host = urlsplit(server).hostname
                if isinstance(e, _UNREACHABLE):
                    raise OAuthError(f"{host} could not be reached", unreachable=True) from e
                raise OAuthError(
                    f"{host} did not let Passerelle register: is it a Mastodon-compatible "
                    f"server? ({type(e).__name__})"
                ) from e
            self.shared.put("masto-app", f"{server} {callback}", list(app), APP_TTL, secret=True)
        with self.lock:
            if len(self.apps) >= MAX_APPS:  # memory stays bounded whatever clients ask
                self.apps.pop(next(iter(self.apps)))
            self.apps[(server, callback)] = app
        return app

    def _client(self, server: str, callback: str) -> Mastodon:
        """Mastodon.py as our registered app on that server (no user token yet)."""
        client_id, client_secret = self._app(server, callback)
        return Mastodon(
            client_id=client_id,
            client_secret=client_secret,
            api_base_url=server,
            session=self.make_session(),
            request_timeout=self.timeout,
            version_check_mode="none",
            # Said known, so that `log_in` never retries the check: on a server answering 404
            # to /api/v1/instance/, Mastodon.py's retry recursed until a RecursionError.
            mastodon_version=ASSUMED_VERSION,
            user_agent=USER_AGENT,
        )

    def authorize_url(self, server_text: str, callback: str) -> tuple[str, str, str]:
        """(URL of the server's consent page, state to wait on, key to collect the session).

        The state travels in addresses (the consent page's, the callback's: the user's server,
        the browser's history and any proxy log see it); the key goes only to whoever started
        the sign-in, in this answer's body, and without it the session cannot be collected."""
        server = home_server(server_text)
        m = self._client(server, callback)
        state = secrets.token_urlsafe(24)
        key = secrets.token_urlsafe(24)
        try:
            url = m.auth_request_url(redirect_uris=callback, scopes=SCOPES, state=state)
        except (merr.MastodonError, requests.RequestException) as e:
            raise OAuthError(
                f"{urlsplit(server).hostname}: {type(e).__name__}",
                unreachable=isinstance(e, _UNREACHABLE),
            ) from e
        self.shared.put("masto-pending", state, [server, callback, key], PENDING_TTL, secret=True)
        return url, state, key

    def callback(self, state: str, code: str) -> str:
        """Exchange the code; the user's acct (user@server)."""
        pending = self.shared.get("masto-pending", state)
        self.shared.drop("masto-pending", state)  # single use
        if not isinstance(pending, list) or len(pending) != 3:
            raise OAuthError("this sign-in link expired or was already used; start again")
        server, callback, key = (str(x) for x in pending)
        m = self._client(server, callback)
        try:
            token = m.log_in(code=code, redirect_uri=callback, scopes=SCOPES)
            me = m.account_verify_credentials()
        except (merr.MastodonError, requests.RequestException) as e:
            raise OAuthError(
                f"{urlsplit(server).hostname} refused the sign-in ({type(e).__name__})"
            ) from e
        acct = f"{me['acct']}@{urlsplit(server).hostname}".lower()
        session_id = secrets.token_urlsafe(24)
        expires = time.time() + SESSION_TTL
        self.shared.put(
            "masto-session", session_id, [server, token, acct, expires], SESSION_TTL, secret=True
        )
        # A sign-in nobody comes to collect expires with its session.
        self.shared.put("masto-ready", state, [session_id, key], SESSION_TTL, secret=True)
        return acct

    def session_for_state(self, state: str, key: str) -> str | None:
        """The session id once the user has come back from the consent page, given once and
        only with the key of the sign-in's starter (a leaked state is not enough)."""
        ready = self.shared.get("masto-ready", state)
        if not isinstance(ready, list) or len(ready) != 2:
            return None
        if not secrets.compare_digest(str(ready[1]).encode(), key.encode()):
            return None
        self.shared.drop("masto-ready", state)  # given once
        return str(ready[0])

    def session(self, session_id: str) -> MastodonSession | None:
        kept = self.shared.get("masto-session", session_id)
        if not isinstance(kept, list) or len(kept) != 4:
            return None
        s = MastodonSession(str(kept[0]), str(kept[1]), str(kept[2]), float(kept[3]))
        return s if s.expires > time.time() else None

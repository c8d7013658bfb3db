"""Fediverse look-ups, each on the account's own server.

- The server's software is read once per host from nodeinfo and cached: a bare `user@host` is
  only a candidate when the host answers as a fediverse server (it may be an e-mail address).
- WebFinger gives the canonical `user@domain` (its subject) and the actor's URL; servers that
  speak the Mastodon API are then asked for the account through Mastodon.py's `account_lookup`;
  others (Misskey, PeerTube, …) through the ActivityPub actor document.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
import time
from dataclasses import replace
from typing import Any

import requests
from mastodon import Mastodon
from mastodon import errors as mastodon_errors

from ..core.addresses import ascii_host, is_x_mirror, valid_username
from ..core.cache import MISSING, Cache
from ..core.hosts import host_of
from ..core.models import FediAccount
from ..core.text import html_to_text
from .http import USER_AGENT, UpstreamUnavailable, count, flights, get_json
from .profile_page import ProfilePage, read_profile_page

SOFTWARE_TTL = 7 * 24 * 3600
API_CLOSED_TTL = 24 * 3600  # a server whose API refuses visitors (401/403), asked again a day on
FOUND_TTL = 24 * 3600
MISSING_TTL = 6 * 3600
SEARCH_TTL = 24 * 3600
SEARCH_LIMIT = 5  # what Mastodon gives a visitor without a token
ID_BATCH = 40  # accounts asked by id at once: the page size of Mastodon's account lists
# Servers whose /api/v1/accounts/lookup answers like Mastodon's.
MASTODON_API = frozenset(
    {
        "mastodon",
        "hometown",
        "glitchsoc",
        "glitch-soc",
        "pleroma",
        "akkoma",
        "gotosocial",
        "fedibird",
        "iceshrimp.net",
        "sharkey",
        "chuckya",
        "mitra",
        "kmyblue",
    }
)
# Servers that speak Misskey's API (`POST /api/users/show` takes many user ids at once).
MISSKEY_API = frozenset(
    {"misskey", "firefish", "calckey", "foundkey", "cherrypick", "catodon", "iceshrimp", "meisskey"}
)
# Misskey names its actors by user id (`https://misskey.io/users/9xyz…`): aid, aidx, meid,
# ulid or objectid, lowercase letters and digits.
_MISSKEY_ACTOR = re.compile(r"^https://(?P<host>[^/]+)/users/(?P<id>[0-9a-z]{8,32})$")
MAX_PAGE = 512 * 1024  # of a profile page's HTML, read for who the account is
NOT_A_SERVER = ""  # cached software value for hosts that are not fediverse servers
# Mastodon.py's errors that say "ask again later", not "no".
TRANSIENT = (
    mastodon_errors.MastodonNetworkError,
    mastodon_errors.MastodonRatelimitError,
    mastodon_errors.MastodonServerError,
)
# Servers whose actors answer signed requests only (GoToSocial, always): their public web
# profile says whether an account is still there.
SIGNED_ONLY = frozenset({"gotosocial"})
LOOK_AGAIN = "look-again"  # a re-check that must start over (moved, renamed, cannot say)
AP_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


class Fediverse:
    def __init__(self, session: requests.Session, cache: Cache, timeout: float) -> None:
        self.session = session
        self.cache = cache
        self.timeout = timeout
        self._clients: dict[str, Mastodon] = {}
        self._lock = threading.Lock()
        # In memory too, each for as long as the shared cache keeps it: a server that changes
        # software or opens its API is seen as such by every worker after the same time.
        self._software: dict[str, tuple[str, float]] = {}  # host → (software or "", until)
        self._api_closed: dict[str, float] = {}  # host whose Mastodon API refuses visitors → until
        self._inflight: dict[str, threading.Event] = {}

    # -- the server ----------------------------------------------------------------------------
    def software(self, host: str) -> str | None:
        """The server software's name (lowercase) from nodeinfo, or None when not a server.

        Asked once per host even when many accounts of a batch live there at the same time:
        the first thread asks, the others wait for its answer (and it is kept in memory, so
        even without a cache a host is asked once per process).
        """
        with self._lock:
            known = self._known_software(host)
            if known is not None:
                count(hits=1)
                return known or None
            flight = self._inflight.get(host)
            leader = flight is None
            if leader:
                flight = self._inflight[host] = threading.Event()
        assert flight is not None
        if not leader:
            flight.wait(self.timeout * 4)
            with self._lock:
                known = self._known_software(host)
                if known is not None:
                    count(hits=1)
                    return known or None
            # the leader failed: ask ourselves (and raise as it did)
        try:
            name = self._software_uncached(host)
            with self._lock:
                self._software[host] = (name or "", time.monotonic() + SOFTWARE_TTL)
            return name
        finally:
            if leader:
                with self._lock:
                    self._inflight.pop(host, None)
                flight.set()

    def api_closed(self, host: str) -> bool:
        """This server's Mastodon API refused a visitor lately (GoToSocial always does; a
        Mastodon in authorized-fetch mode too): not asked again, WebFinger and the actor or
        the web page say the same for one request less per account."""
        if self._api_closed.get(host, 0.0) > time.monotonic():
            return True
        if self.cache.get("fedi:api-closed:" + host) is True:
            self._api_closed[host] = time.monotonic() + API_CLOSED_TTL
            return True
        self._api_closed.pop(host, None)
        return False

    def _close_api(self, host: str) -> None:
        self._api_closed[host] = time.monotonic() + API_CLOSED_TTL
        self.cache.set("fedi:api-closed:" + host, True, API_CLOSED_TTL)

    def _known_software(self, host: str) -> str | None:
        """What this process learnt of the host's software, while it holds (lock held)."""
        entry = self._software.get(host)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            del self._software[host]
            return None
        return entry[0]

    def _software_uncached(self, host: str) -> str | None:
        key = "fedi:software:" + host
        hit = self.cache.get(key)
        if hit is not MISSING:
            count(hits=1)
            return hit or None
        index = get_json(
            self.session,
            f"https://{host}/.well-known/nodeinfo",
            headers={"Accept": "application/json"},
        )
        name = NOT_A_SERVER
        if isinstance(index, dict):
            links = [ln for ln in index.get("links") or [] if isinstance(ln, dict)]
            links.sort(key=lambda ln: str(ln.get("rel", "")), reverse=True)  # newest schema first
            for link in links:
                href = str(link.get("href") or "")
                if "nodeinfo.diaspora.software/ns/schema" in str(link.get("rel")) and href:
                    if host_of(href) != host:
                        break  # nodeinfo must describe this host, not another
                    doc = get_json(self.session, href, headers={"Accept": "application/json"})
                    if isinstance(doc, dict) and isinstance(doc.get("software"), dict):
                        name = str(doc["software"].get("name") or "").lower().strip()
                    break
        self.cache.set(key, name, SOFTWARE_TTL)
        return name or None

    def _signed_in(self, host: str, token: str) -> Mastodon:
        """A client of one user on their own server, for one call (the token is not kept)."""
        return Mastodon(
            api_base_url=f"https://{host}",
            access_token=token,
            session=self.session,
            request_timeout=self.timeout,
            ratelimit_method="throw",
            version_check_mode="none",
            user_agent=USER_AGENT,
        )

    def _mastodon(self, host: str) -> Mastodon:
        with self._lock:
            client = self._clients.get(host)
            if client is None:
                client = Mastodon(
                    api_base_url=f"https://{host}",
                    session=self.session,
                    request_timeout=self.timeout,
                    ratelimit_method="throw",
                    version_check_mode="none",
                    user_agent=USER_AGENT,
                )
                self._clients[host] = client
            return client

    # -- WebFinger -----------------------------------------------------------------------------
    def webfinger(self, acct: str) -> dict[str, Any] | None:
        """The JRD for `user@host`, asked of `host` itself; None when the account does not exist."""
        host = acct.rpartition("@")[2]
        jrd = get_json(
            self.session,
            f"https://{host}/.well-known/webfinger",
            params={"resource": f"acct:{acct}"},
            headers={"Accept": "application/jrd+json"},
        )
        return jrd if isinstance(jrd, dict) else None

    # -- the account ---------------------------------------------------------------------------
    def lookup(self, acct: str, bare: bool = False, fresh: bool = False) -> FediAccount | None:
        """Verify `user@host` on its own server; None when it is not a fediverse account.
        `fresh`: asked even when the cache knows (a re-check of an account found before).

        Raises UpstreamUnavailable when a server could not be asked (nothing is cached then).
        """
        key = f"fedi:acct:{int(bare)}:{acct}"
        with flights.one(key):
            hit = MISSING if fresh else self.cache.get(key)
            if hit is not MISSING:
                count(hits=1)
                return FediAccount.from_json(hit) if hit else None
            found = self._lookup(acct, bare)
            self.cache.set(
                key, found.to_json() if found else None, FOUND_TTL if found else MISSING_TTL
            )
            return found

    # -- many accounts of one server at once, by id (a re-check) --------------------------------
    def accounts_by_id(self, host: str, ids: list[str]) -> dict[str, Any] | None:
        """The accounts of this server that still exist, by id, in one request, as Mastodon
        API account entities (`username`, `display_name`, `note`, `fields`, `moved`,
        `suspended`, …); a deleted or suspended one is left out or marked `suspended`. None
        when the server cannot say (other software, an older version, or it refuses
        visitors): ask each account then.

        - Mastodon 4.3+: `GET /api/v1/accounts?id[]=…` (Mastodon.py `accounts`).
        - Misskey and its forks: `POST /api/users/show` with `userIds`, open to visitors
          (`requireCredential: false`); recent versions leave out the users that are gone
          or suspended, older ones fail the whole call (misskey-dev/misskey,
          packages/backend/src/server/api/endpoints/users/show.ts), which we read as
          "cannot say"."""
        assert len(ids) <= ID_BATCH
        software = self.software(host)
        if software in MISSKEY_API:
            return self._misskey_users(host, ids)
        if software not in MASTODON_API or self.api_closed(host):
            return None
        found = _asked(host, lambda: self._mastodon(host).accounts(ids))
        if found is None:
            return None
        return {str(a.get("id")): a for a in found or [] if a.get("id") is not None}

    def _misskey_users(self, host: str, ids: list[str]) -> dict[str, Any] | None:
        try:
            r = self.session.post(
                f"https://{host}/api/users/show",
                json={"userIds": ids},
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as e:
            raise UpstreamUnavailable(f"{host}: {type(e).__name__}") from e
        if r.status_code == 429:
            raise UpstreamUnavailable(f"{host}: HTTP 429")
        if r.status_code != 200:
            return None  # an older Misskey fails the call when one of the users is gone
        try:
            users = r.json()
        except ValueError:
            return None
        if not isinstance(users, list):
            return None
        out: dict[str, Any] = {}
        for u in users:
            if not isinstance(u, dict) or u.get("id") is None or u.get("host"):
                continue  # a remote user's copy is not the account's own server speaking
            username = str(u.get("username") or "")
            out[str(u["id"])] = {
                "id": str(u["id"]),
                "username": username,
                "display_name": str(u.get("name") or ""),
                "note": html.escape(str(u.get("description") or "")),  # MFM is plain text
                "fields": [f for f in u.get("fields") or [] if isinstance(f, dict)],
                "avatar": u.get("avatarUrl"),
                "bot": bool(u.get("isBot")),
                "url": f"https://{host}/@{username}",
                "moved": u.get("movedTo") or None,
                "suspended": bool(u.get("isSuspended")),
            }
        return out

    # -- one account of software with no batch (a re-check) -----------------------------------
    def recheck_actor(self, acct: str, actor_url: str, page_url: str) -> FediAccount | str | None:
        """An account found before through its ActivityPub actor (Threads, Pixelfed, …), asked
        again with one request: its actor, fresh. None when it is gone (404, 410); the actor's
        account when it is still the one asked for; `LOOK_AGAIN` when it moved, was renamed,
        or the server reads only signed requests and its web profile cannot say: then the
        caller looks it up from the start. Raises UpstreamUnavailable (ask again later)."""
        user, _, domain = acct.partition("@")
        if not (actor_url.startswith("https://") and same_site(host_of(actor_url), domain)):
            return LOOK_AGAIN  # the earlier answer is the caller's word: only its server counts
        if self.software(host_of(actor_url)) in SIGNED_ONLY:
            return self._recheck_page(acct, page_url)  # its actor answers signed reads only
        try:
            r = self.session.get(actor_url, headers={"Accept": AP_ACCEPT})
        except requests.RequestException as e:
            raise UpstreamUnavailable(f"{host_of(actor_url)}: {type(e).__name__}") from e
        if r.status_code in (404, 410):
            return None
        if r.status_code in (401, 403):
            return self._recheck_page(acct, page_url)
        if r.status_code != 200:
            if 400 <= r.status_code < 500 and r.status_code != 429:
                return LOOK_AGAIN
            raise UpstreamUnavailable(f"{host_of(actor_url)}: HTTP {r.status_code}")
        try:
            actor = r.json()
        except ValueError as e:
            raise UpstreamUnavailable(f"{host_of(actor_url)}: malformed JSON") from e
        if (
            not isinstance(actor, dict)
            or actor.get("movedTo")
            or str(actor.get("preferredUsername") or "").lower() != user.lower()
        ):
            return LOOK_AGAIN
        software = self.software(host_of(actor_url)) or ""
        return self._from_actor(actor, acct, page_url, actor_url, software)

    def _recheck_page(self, acct: str, page_url: str) -> FediAccount | str | None:
        """The web profile of an account whose server refuses unsigned reads of its actor."""
        host = host_of(page_url)
        if not (page_url.startswith("https://") and same_site(host, acct.partition("@")[2])):
            return LOOK_AGAIN
        try:
            r = self.session.get(page_url, headers={"Accept": "text/html"})
        except requests.RequestException as e:
            raise UpstreamUnavailable(f"{host}: {type(e).__name__}") from e
        if r.status_code in (404, 410):
            return None
        if r.status_code != 200 or "html" not in r.headers.get("Content-Type", "html"):
            return LOOK_AGAIN
        page = read_profile_page(r.text[:MAX_PAGE])
        return _from_page(page, acct, page_url, self.software(host) or "")

    # -- a large server's account search --------------------------------------------------------
    def search_accounts(
        self, server: str, query: str, token: str | None = None
    ) -> list[FediAccount]:
        """Accounts a Mastodon server knows that match `query` (`/api/v2/search`, never with
        `resolve` nor `offset`, which Mastodon refuses a visitor). Where the server runs
        Elasticsearch the bios of accounts that opted into discovery are searched too, which is
        how a profile naming an X account is found. With the user's `token` (their own server),
        the search is theirs: it covers every account that server federates with. What comes
        back is the server's copy: the caller checks the proof and asks the account's own
        server."""
        # A signed-in search answers per user: its cache key carries a digest of the token
        # (never the token).
        who = hashlib.sha256(token.encode()).hexdigest()[:16] if token else "public"
        key = f"fedi:search:{server}:{who}:{query.casefold()}"
        with flights.one(key):
            hit = self.cache.get(key)
            if hit is not MISSING:
                count(hits=1)
                return [FediAccount.from_json(a) for a in hit]
            if self.software(server) not in MASTODON_API:
                return []
            client = self._mastodon(server) if token is None else self._signed_in(server, token)
            result = _asked(
                server,
                lambda: client.search_v2(
                    query, resolve=False, result_type="accounts", limit=SEARCH_LIMIT
                ),
            )
            if result is None:
                return []  # this server keeps its search for signed-in users
            found = []
            for account in result.get("accounts") or []:
                acct = str(account.get("acct") or "").lower()
                if not valid_username(acct.partition("@")[0]):
                    continue
                if "@" not in acct:
                    acct = f"{acct}@{server}"
                found.append(account_from_api(account, acct, "", own_server=False))
            self.cache.set(key, [a.to_json() for a in found], SEARCH_TTL)
            return found

    def _lookup(self, acct: str, bare: bool) -> FediAccount | None:
        user, _, host = acct.partition("@")
        software = self.software(host)
        if software is None and bare:
            return None  # an e-mail address, most likely: the host is no fediverse server
        asked_api = False
        if software in MASTODON_API and not self.api_closed(host):
            # The account's own server speaks the Mastodon API: one look-up verifies it and
            # gives the profile (WebFinger would only repeat what it says).
            found = self._via_mastodon_api(host, user, acct, software)
            if found is not None:
                return found
            asked_api = True
        jrd = self.webfinger(acct)
        if jrd is None:
            return None
        subject = str(jrd.get("subject") or "")
        canonical = subject[5:].lower() if subject.startswith("acct:") else acct
        c_user, _, c_domain = canonical.partition("@")
        if not valid_username(c_user) or ascii_host(c_domain) is None or is_x_mirror(canonical):
            return None
        actor_url = profile_url = None
        for link in jrd.get("links") or []:
            if not isinstance(link, dict):
                continue
            if link.get("rel") == "self" and "json" in str(link.get("type", "")):
                actor_url = str(link.get("href") or "") or None
            elif link.get("rel") == "http://webfinger.net/rel/profile-page":
                profile_url = str(link.get("href") or "") or None
        if actor_url is None:
            return None
        api_host = host_of(actor_url)
        api_software = software if api_host == host else self.software(api_host)
        if (
            api_software in MASTODON_API
            and not (asked_api and api_host == host)
            and not self.api_closed(api_host)
        ):
            found = self._via_mastodon_api(api_host, c_user, canonical, api_software)
            if found is not None:
                return found
        return self._via_actor(actor_url, canonical, profile_url, api_software or "")

    def _via_mastodon_api(
        self, api_host: str, user: str, canonical: str, software: str
    ) -> FediAccount | None:
        try:
            account = self._mastodon(api_host).account_lookup(user)
        except mastodon_errors.MastodonNotFoundError:
            return None
        except TRANSIENT as e:
            raise UpstreamUnavailable(f"{api_host}: {type(e).__name__}") from e
        except mastodon_errors.MastodonAPIError as e:
            if isinstance(e, mastodon_errors.MastodonUnauthorizedError) or 403 in e.args:
                self._close_api(api_host)  # it reads signed requests only: not asked again
            return None  # e.g. lookup needs a token on this server: fall back to the actor
        except mastodon_errors.MastodonError as e:
            raise UpstreamUnavailable(f"{api_host}: {type(e).__name__}") from e
        if str(account.get("username") or "").lower() != user.lower():
            return None  # not the account asked for (or a username no server may give)
        moved = account.get("moved")
        if moved:
            # The person moved: the new account is the one to follow.
            moved_acct = str(moved.get("acct") or "")
            if "@" not in moved_acct:
                moved_acct = f"{moved_acct}@{api_host}"
            m_user, _, m_host = moved_acct.lower().partition("@")
            if not valid_username(m_user) or ascii_host(m_host) is None:
                return None
            return account_from_api(moved, moved_acct.lower(), software, own_server=False)
        return account_from_api(account, canonical, software)

    def _via_actor(
        self, actor_url: str, canonical: str, profile_url: str | None, software: str
    ) -> FediAccount | None:
        try:
            r = self.session.get(actor_url, headers={"Accept": AP_ACCEPT})
        except requests.RequestException as e:
            raise UpstreamUnavailable(f"{host_of(actor_url)}: {type(e).__name__}") from e
        if r.status_code in (401, 403):
            # The server reads only signed requests (GoToSocial always, Mastodon in
            # authorized-fetch mode), yet WebFinger just vouched for the account: read who it
            # is from its public web page.
            found = self._via_profile_page(profile_url or actor_url, canonical, software)
            return replace(found, actor=actor_url)
        if 400 <= r.status_code < 500 and r.status_code != 429:
            return None
        if r.status_code != 200:
            raise UpstreamUnavailable(f"{host_of(actor_url)}: HTTP {r.status_code}")
        try:
            actor = r.json()
        except ValueError as e:
            raise UpstreamUnavailable(f"{host_of(actor_url)}: malformed JSON") from e
        if not isinstance(actor, dict) or not actor.get("id"):
            return None
        preferred = str(actor.get("preferredUsername") or "")
        if preferred and not valid_username(preferred):
            return None
        return self._from_actor(actor, canonical, profile_url, actor_url, software)

    @staticmethod
    def _from_actor(
        actor: dict[str, Any],
        canonical: str,
        profile_url: str | None,
        actor_url: str,
        software: str,
    ) -> FediAccount:
        fields = tuple(
            (html_to_text(str(a.get("name", ""))), html_to_text(str(a.get("value", ""))))
            for a in actor.get("attachment") or []
            if isinstance(a, dict) and a.get("type") == "PropertyValue"
        )
        icon = actor.get("icon")
        avatar = icon.get("url") if isinstance(icon, dict) else None
        url = actor.get("url")
        if isinstance(url, list):
            url = next((u for u in url if isinstance(u, str)), None)
        actor_id = str(actor.get("id") or actor_url)
        # Misskey's actor URL carries the user's id, which its API takes many at a time.
        mk = _MISSKEY_ACTOR.match(actor_id) if software in MISSKEY_API else None
        return FediAccount(
            acct=canonical,
            url=str(url or profile_url or actor_url),
            display_name=str(actor.get("name") or ""),
            note=html_to_text(str(actor.get("summary") or "")),
            fields=fields,
            avatar=str(avatar) if avatar else None,
            software=software,
            bot=actor.get("type") in ("Service", "Application"),
            id=mk.group("id") if mk and mk.group("host") == host_of(actor_url) else "",
            actor=actor_id if host_of(actor_id) == host_of(actor_url) else actor_url,
        )

    def _via_profile_page(self, url: str, canonical: str, software: str) -> FediAccount:
        """The account WebFinger confirmed, described by its public HTML profile (Open Graph
        tags, profile fields, `rel="me"` links); with none readable, the account alone."""
        page = ProfilePage()
        try:
            r = self.session.get(url, headers={"Accept": "text/html"})
            if r.status_code == 200 and "html" in r.headers.get("Content-Type", "html"):
                page = read_profile_page(r.text[:MAX_PAGE])
        except requests.RequestException:
            pass  # the account exists all the same: WebFinger said so
        return _from_page(page, canonical, url, software)


def _from_page(page: ProfilePage, acct: str, url: str, software: str) -> FediAccount:
    """The account as its public web profile describes it (fields and `rel="me"` links)."""
    return FediAccount(
        acct=acct,
        url=url,
        display_name=page.display_name,
        note=page.note,
        fields=tuple(page.fields) + tuple(("", link) for link in page.me_links),
        avatar=page.avatar,
        software=software,
    )


def same_site(host: str, domain: str) -> bool:
    """`host` may serve accounts named `user@domain`: the same name, or a name under it
    (`social.example.org` for `@example.org`, `www.threads.net` for `@threads.net`)."""
    host, domain = host.lower(), domain.lower()
    return bool(host and domain) and (host == domain or host.endswith("." + domain))


def _asked(host: str, call: Any) -> Any:
    """One Mastodon.py call: a server that cannot be reached, limits us or fails is
    UpstreamUnavailable (ask again later); one that refuses the question answers None."""
    try:
        return call()
    except TRANSIENT as e:
        raise UpstreamUnavailable(f"{host}: {type(e).__name__}") from e
    except mastodon_errors.MastodonError:
        return None


def account_from_api(
    account: Any, acct: str, software: str, own_server: bool = True
) -> FediAccount:
    """Our account from a Mastodon API Account entity (as Mastodon.py parses it); its `id`
    kept only when the entity comes from the account's own server."""
    fields = tuple(
        (html_to_text(str(f.get("name", ""))), html_to_text(str(f.get("value", ""))))
        for f in account.get("fields") or []
    )
    return FediAccount(
        acct=acct,
        url=str(account.get("url") or ""),
        display_name=str(account.get("display_name") or ""),
        note=html_to_text(str(account.get("note") or "")),
        fields=fields,
        avatar=str(account.get("avatar")) if account.get("avatar") else None,
        software=software,
        bot=bool(account.get("bot")),
        id=str(account.get("id") or "") if own_server else "",
    )

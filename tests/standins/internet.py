"""The local stand-in of the internet: the Bluesky AppView and fediverse servers of a world.

One HTTPS server answers for every host name (by the Host header, with a certificate per name
from `tls.LocalCA`), behind `proxy.ConnectProxy`. The service reaches it through
`HTTPS_PROXY` + `REQUESTS_CA_BUNDLE`, with its production base URLs unchanged. Responses follow
the real shapes: the AppView's `app.bsky.actor.defs#profileViewDetailed` and its errors and
rate-limit headers; Mastodon's account entity (from a response recorded on a real server, see
`tests/data/recorded/`), nodeinfo, WebFinger JRDs, ActivityPub actors (Misskey, Threads,
Bridgy Fed).

Faults are injected per host (and path prefix): a status, a 429 with its reset header, latency,
malformed JSON, a slow drip, or a dropped connection.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import html
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from flask import Flask, Response, request
from werkzeug.serving import make_server

from .dns import TxtServer
from .keepalive import KeepAliveHandler
from .proxy import ConnectProxy
from .tls import LocalCA

RECORDED = Path(__file__).resolve().parent.parent / "data" / "recorded"
_ACTOR_RE = (
    r"^(?:did:[a-z]+:[a-zA-Z0-9._:%-]+|"
    r"([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)$"
)


def recorded_server(host: str, *cassettes: str) -> dict[str, Any]:
    """A world server that replays Mastodon.py's cassettes (recorded on a real Mastodon) as
    `host`: the recorded URLs are moved from the recording machine to that host name."""
    recorded: dict[str, dict[str, Any]] = {}
    for name in cassettes:
        data = yaml.safe_load((RECORDED / name).read_text())
        for it in data["interactions"]:
            uri = it["request"]["uri"].replace("http://localhost:3000", "")
            body = it["response"]["body"]["string"].replace(
                "http://localhost:3000", f"https://{host}"
            )
            headers = {k: v[0] for k, v in it["response"]["headers"].items()}
            recorded[uri] = {
                "status": it["response"]["status"]["code"],
                "headers": headers,
                "body": body,
            }
    return {"recorded": recorded}


def _recorded_instances() -> dict[str, str]:
    """/api/v1/instance and /api/v2/instance as a real Mastodon answered them."""
    data = yaml.safe_load((RECORDED / "test_verify_version.yaml").read_text())
    out = {}
    for interaction in data["interactions"]:
        path = interaction["request"]["uri"].replace("http://localhost:3000", "").rstrip("/")
        out[path] = interaction["response"]["body"]["string"]
    return out


def _recorded_account() -> dict[str, Any]:
    """A Mastodon account entity exactly as a real server sent it (Mastodon.py's cassette)."""
    data = yaml.safe_load((RECORDED / "test_account_lookup.yaml").read_text())
    for interaction in data["interactions"]:
        if "lookup?acct=mastodonpy_test" in interaction["request"]["uri"]:
            return json.loads(interaction["response"]["body"]["string"])
    raise RuntimeError("recorded account lookup not found")


@dataclass
class Fault:
    host: str
    kind: str  # status | ratelimit | latency | malformed | drip | drop | redirect
    path: str = "/"
    status: int = 502
    seconds: float = 0.0
    remaining: int | None = None  # None: forever
    skip: int = 0  # let this many matching requests through first
    location: str = ""  # where a `redirect` sends the client (a hostile server's answer)


@dataclass
class Control:
    """Shared with the test: faults, per-request latency, and what was asked of whom."""

    latency: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)
    paths: list[tuple[str, str]] = field(default_factory=list)
    user_agents: set[str] = field(default_factory=set)
    rate_limit: float = 0.0  # requests per second per host before 429 (0: none)
    refused: int = 0  # requests answered 429 by that limit
    lock: threading.Lock = field(default_factory=threading.Lock)
    _buckets: dict[str, list[float]] = field(default_factory=dict)

    def add_fault(self, host: str, kind: str, **kw: Any) -> Fault:
        f = Fault(host=host, kind=kind, **kw)
        with self.lock:
            self.faults.append(f)
        return f

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()
            self.hits.clear()
            self.paths.clear()
            self._buckets.clear()

    def total(self) -> int:
        with self.lock:
            return sum(self.hits.values())

    def record(self, host: str, path: str, ua: str) -> Fault | None:
        with self.lock:
            self.hits[host] = self.hits.get(host, 0) + 1
            self.paths.append((host, path))
            self.user_agents.add(ua)
            for f in self.faults:
                if f.host in (host, "*") and path.startswith(f.path) and f.remaining != 0:
                    if f.skip > 0:
                        f.skip -= 1
                        continue
                    if f.remaining is not None:
                        f.remaining -= 1
                    return f
            if self.rate_limit:
                bucket = self._buckets.setdefault(host, [])
                now = time.monotonic()
                bucket[:] = [t for t in bucket if now - t < 1.0]
                if len(bucket) >= self.rate_limit:
                    self.refused += 1
                    return Fault(host, "ratelimit", seconds=1.0)
                bucket.append(now)
        return None


def _json(
    data: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json; charset=utf-8",
) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode()
    r = Response(body, status=status, content_type=content_type)
    if "gzip" in request.headers.get("Accept-Encoding", "") and len(body) > 200:
        # As the real servers do: compressed when the client accepts it.
        r.set_data(gzip.compress(body))
        r.headers["Content-Encoding"] = "gzip"
        r.headers["Vary"] = "Accept-Encoding"
    for k, v in (headers or {}).items():
        r.headers[k] = v
    return r


class World:
    """Indexes of a world dict for fast answers."""

    def search(self, q: str) -> list[dict[str, Any]]:
        """Profiles matching every word of the query, in the world's order."""
        words = _fold(q)
        if not words:
            return []
        found = _prefixed(self, words[0])
        for w in words[1:]:
            found &= _prefixed(self, w)
        return [self.data["bluesky"][i] for i in sorted(found)]

    def __init__(self, world: dict[str, Any]) -> None:
        self.data = world
        self.appview_host = world.get("appview_host", "public.api.bsky.app")
        self.by_did = {p["did"]: p for p in world["bluesky"]}
        # Handles the AppView's index knows (an "unindexed" one lags behind a handle change).
        self.by_handle = {
            p["handle"].lower(): p
            for p in world["bluesky"]
            if p["handle"] != "handle.invalid" and p.get("indexed", True)
        }
        # Domains that prove their handle over HTTPS (`.well-known/atproto-did`) or DNS.
        self.well_known = {
            p["handle"]: p["did"] for p in world["bluesky"] if p.get("proof") == "well-known"
        }
        self.dns_txt = {
            f"_atproto.{p['handle']}": f"did={p['did']}"
            for p in world["bluesky"]
            if p.get("proof") == "dns"
        }
        self.servers: dict[str, dict[str, Any]] = world["servers"]
        # The search index: every word of a display name or handle → the profiles holding it.
        self.words: dict[str, set[int]] = {}
        for i, p in enumerate(world["bluesky"]):
            if p["handle"] == "handle.invalid":
                continue
            for token in _fold(p["displayName"]) + _fold(p["handle"].replace(".", " ")):
                self.words.setdefault(token, set()).add(i)
        self.sorted_words = sorted(self.words)
        self.unresolvable = set(world.get("unresolvable", []))
        self.template = _recorded_account()
        self.instance = _recorded_instances()
        self.ids: dict[str, str] = {}  # account id (as a home server shows it) → acct
        self.ratelimit = (300, 300.0)  # Mastodon's default: 300 requests per 5 minutes
        self.oauth_apps: dict[str, dict[str, Any]] = {}
        self.oauth_codes: dict[str, tuple[str, str, str]] = {}
        self.windows: dict[str, tuple[float, int]] = {}
        self.lock = threading.Lock()
        self.follows: dict[str, set[str]] = {}  # signed-in acct → accts it follows
        # Mastodon's follow family (mastodon/mastodon app/lib/rate_limiter.rb): 400 follows an
        # account per 24 h, windows aligned on the epoch; (limit, period) or None.
        self.follow_daily: tuple[int, float] | None = None
        self.follow_origin: float | None = None  # where the shortened days start
        self.follow_counts: dict[tuple[str, int], int] = {}


def add_bsky_profile(world: World, profile: dict[str, Any]) -> None:
    """A Bluesky account created now: known to getProfiles and to the search from now on."""
    with world.lock:
        world.data["bluesky"].append(profile)
        i = len(world.data["bluesky"]) - 1
        world.by_did[profile["did"]] = profile
        world.by_handle[profile["handle"].lower()] = profile
        for token in _fold(profile["displayName"]) + _fold(profile["handle"].replace(".", " ")):
            world.words.setdefault(token, set()).add(i)
        world.sorted_words = sorted(world.words)


def delete_bsky_profile(world: World, handle: str) -> None:
    """A Bluesky account deleted now: getProfiles leaves it out, the search no longer finds it."""
    with world.lock:
        profile = world.by_handle.pop(handle.lower(), None)
        if profile is None:
            return
        world.by_did.pop(profile["did"], None)
        i = next(j for j, p in enumerate(world.data["bluesky"]) if p is profile)
        for ids in world.words.values():
            ids.discard(i)


def _prefixed(world: World, word: str) -> set[int]:
    """Profiles with a word starting with `word` (as the AppView's search matches prefixes)."""
    out: set[int] = set()
    i = bisect.bisect_left(world.sorted_words, word)
    while i < len(world.sorted_words) and world.sorted_words[i].startswith(word):
        out |= world.words[world.sorted_words[i]]
        i += 1
    return out


def _fold(text: str) -> list[str]:
    from server.core.text import fold

    return fold(text).split()


class AppView:
    """`app.bsky.actor.getProfiles`, `searchActors`, `com.atproto.identity.resolveHandle`."""

    MOD_SERVICE = "did:plc:ar7c4by46qjdydhdevvrndac"

    def __init__(self, world: World) -> None:
        self.w = world

    def view(self, p: dict[str, Any], detailed: bool = True) -> dict[str, Any]:
        v: dict[str, Any] = {
            "did": p["did"],
            "handle": p["handle"],
            "displayName": p["displayName"],
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{p['did']}/bafkreia{p['did'][8:20]}@jpeg",
            "associated": {
                "lists": 0,
                "feedgens": 0,
                "starterPacks": 0,
                "labeler": False,
                "activitySubscription": {"allowSubscriptions": "followers"},
            },
            "labels": [
                {
                    "src": self.MOD_SERVICE,
                    "uri": f"at://{p['did']}/app.bsky.actor.profile/self",
                    "val": val,
                    "cts": "2025-01-15T10:00:00.000Z",
                }
                for val in p.get("labels", [])
            ],
            "createdAt": "2024-11-12T09:14:05.113Z",
            "description": p.get("description", ""),
            "indexedAt": "2025-01-20T18:02:11.004Z",
        }
        if detailed:
            v.update({"followersCount": 120, "followsCount": 310, "postsCount": 42})
            if p.get("links"):
                v["website"] = p["links"][0]
        return v

    def find(self, actor: str) -> dict[str, Any] | None:
        if actor.startswith("did:"):
            return self.w.by_did.get(actor)
        return self.w.by_handle.get(actor.lower())

    def handle(self, path: str) -> Response:
        if path == "/xrpc/com.atproto.server.createSession":
            # No accounts sign in here: the entryway's answer to a wrong handle or password.
            return _json(
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
                401,
            )
        if path == "/xrpc/app.bsky.actor.getProfiles":
            actors = request.args.getlist("actors")
            if not actors:
                return _json(
                    {
                        "error": "InvalidRequest",
                        "message": 'Error: Params must have the property "actors"',
                    },
                    400,
                )
            if len(actors) > 25:
                return _json(
                    {
                        "error": "InvalidRequest",
                        "message": "Error: actors must not have more than 25 elements",
                    },
                    400,
                )
            import re

            for i, a in enumerate(actors):
                if not re.match(_ACTOR_RE, a):
                    return _json(
                        {
                            "error": "InvalidRequest",
                            "message": f"Error: actors/{i} must be a valid did or a handle",
                        },
                        400,
                    )
            out, seen = [], set()
            for a in actors:
                p = self.find(a)
                if p is not None and p["did"] not in seen:
                    seen.add(p["did"])
                    out.append(self.view(p))
            return _json({"profiles": out}, headers=self.ratelimit_headers())
        if path == "/xrpc/app.bsky.actor.searchActors":
            q = request.args.get("q") or request.args.get("term") or ""
            try:
                limit = int(request.args.get("limit", "25"))
            except ValueError:
                return _json(
                    {"error": "InvalidRequest", "message": "Error: limit must be an integer"}, 400
                )
            if not 1 <= limit <= 100:
                return _json(
                    {
                        "error": "InvalidRequest",
                        "message": "Error: limit can not be greater than 100",
                    },
                    400,
                )
            hits = [self.view(p, detailed=False) for p in self.w.search(q)[:limit]]
            return _json({"actors": hits}, headers=self.ratelimit_headers())
        if path == "/xrpc/app.bsky.graph.getRelationships":
            actor = self.find(request.args.get("actor", ""))
            others = request.args.getlist("others")
            if actor is None:
                return _json({"error": "ActorNotFound", "message": "Actor not found"}, 400)
            if len(others) > 30:
                return _json(
                    {
                        "error": "InvalidRequest",
                        "message": "Error: others must not have more than 30 elements",
                    },
                    400,
                )
            out = []
            bridge = actor["handle"] == "ap.brid.gy"
            for other in others:
                p = self.find(other)
                if p is None:
                    out.append(
                        {
                            "$type": "app.bsky.graph.defs#notFoundActor",
                            "actor": other,
                            "notFound": True,
                        }
                    )
                    continue
                rel: dict[str, Any] = {"$type": "app.bsky.graph.defs#relationship", "did": p["did"]}
                if bridge and p.get("follows_bridge"):
                    rel["followedBy"] = f"at://{p['did']}/app.bsky.graph.follow/3kbridge"
                out.append(rel)
            return _json(
                {"actor": actor["did"], "relationships": out}, headers=self.ratelimit_headers()
            )
        if path == "/xrpc/com.atproto.identity.resolveHandle":
            p = self.w.by_handle.get((request.args.get("handle") or "").lower())
            if p is None:
                return _json(
                    {"error": "InvalidRequest", "message": "Unable to resolve handle"}, 400
                )
            return _json({"did": p["did"]})
        return _json({"error": "MethodNotImplemented", "message": "Method Not Implemented"}, 501)

    @staticmethod
    def ratelimit_headers() -> dict[str, str]:
        return {
            "ratelimit-limit": "3000",
            "ratelimit-remaining": "2999",
            "ratelimit-reset": str(int(time.time()) + 300),
            "ratelimit-policy": "3000;w=300",
        }


class FediServer:
    """nodeinfo, WebFinger, ActivityPub actors, and `/api/v1/accounts/lookup` where Mastodon."""

    def __init__(self, world: World) -> None:
        self.w = world

    def handle(self, host: str, path: str) -> Response:
        if path == "/.well-known/atproto-did" and host in self.w.well_known:
            return Response(self.w.well_known[host] + "\n", 200, content_type="text/plain")
        server = self.w.servers.get(host)
        if server is None:
            return Response("<h1>Not Found</h1>", 404, content_type="text/html")
        if "delegate_to" in server:
            return self.delegating(host, server["delegate_to"], path)
        if "recorded" in server:
            return self.replay(server["recorded"], path)
        software = server["software"]
        local = server.get("local_domain", host)
        accounts = server["accounts"]
        if path == "/.well-known/nodeinfo":
            return _json(
                {
                    "links": [
                        {
                            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                            "href": f"https://{host}/nodeinfo/2.0",
                        }
                    ]
                }
            )
        if path == "/nodeinfo/2.0":
            return _json(
                {
                    "version": "2.0",
                    "software": {"name": software, "version": server["version"]},
                    "protocols": ["activitypub"],
                    "services": {"outbound": [], "inbound": []},
                    "usage": {"users": {"total": len(accounts)}, "localPosts": 6},
                    "openRegistrations": True,
                    "metadata": {"nodeName": host},
                }
            )
        if path == "/.well-known/webfinger":
            resource = request.args.get("resource", "")
            if not resource:
                return _json({"error": "resource parameter missing"}, 400)
            user, _, domain = resource.removeprefix("acct:").lstrip("@").partition("@")
            acc = accounts.get(user.lower())
            if acc is None or domain.lower() not in (host, local):
                return Response("", 404)
            return _json(
                self.jrd(host, local, acc, software),
                content_type="application/jrd+json; charset=utf-8",
            )
        if server.get("signed_fetch") and (
            path.startswith("/users/") or path.startswith("/api/v1/accounts/lookup")
        ):
            # GoToSocial (always) and Mastodon in authorized-fetch mode: unsigned reads of the
            # actor and the API are refused; WebFinger and the web profile stay public.
            return _json({"error": "Unauthorized: not authorized"}, 401)
        if path.startswith("/@") and server.get("signed_fetch"):
            acc = accounts.get(path[2:].lower())
            if acc is None:
                return Response("<h1>Not Found</h1>", 404, content_type="text/html")
            return Response(
                self.profile_page(host, local, acc), 200, content_type="text/html; charset=utf-8"
            )
        if path.startswith("/users/") and software != "bridgy-fed":
            name = path[len("/users/") :].lower()
            if software == "misskey":  # Misskey names its actors by user id
                name = next((u for u in accounts if misskey_id(host, u) == name), "")
            acc = accounts.get(name)
            if acc is None:
                return _json({"error": "Record not found"}, 404)
            return _json(
                self.actor(host, acc, software),
                content_type="application/activity+json; charset=utf-8",
            )
        if path == "/api/users/show" and software == "misskey" and request.method == "POST":
            return self.misskey_users_show(host, server)
        if software == "mastodon" and (
            path.startswith("/oauth/")
            or path in ("/api/v1/apps", "/.well-known/oauth-authorization-server")
        ):
            return self.oauth(host, server, path)
        if path == "/api/v2/search" and software == "mastodon":
            return self.search(host, server)
        if path.startswith(
            (
                "/api/v1/accounts/verify_credentials",
                "/api/v1/accounts/relationships",
            )
        ) or (path.startswith("/api/v1/accounts/") and path.endswith("/follow")):
            return self.authenticated(host, server, path)
        if path.rstrip("/") in ("/api/v1/instance", "/api/v2/instance") and software == "mastodon":
            # The instance as a real Mastodon describes itself (recorded), renamed to this host.
            body = self.w.instance[path.rstrip("/")].replace("localhost:3000", host)
            return Response(body, 200, content_type="application/json; charset=utf-8")
        if path == "/api/v1/accounts" and software == "mastodon":
            # Mastodon 4.3+ (docs.joinmastodon.org, methods/accounts "Get multiple accounts";
            # Mastodon.py `accounts`): the accounts that exist among the ids, the others left
            # out; a suspended one answered with `suspended: true`.
            wanted = set(request.args.getlist("id[]"))
            found = []
            for acc in accounts.values():
                e = self.entity(host, acc)
                if e["id"] in wanted:
                    if acc.get("suspended"):
                        e["suspended"] = True
                    found.append(e)
            return _json(found, headers=self.mastodon_ratelimit())
        if path == "/api/v1/accounts/lookup" and software == "mastodon":
            acct = (request.args.get("acct") or "").lstrip("@")
            user, _, domain = acct.partition("@")
            acc = accounts.get(user.lower())
            if acc is None or (domain and domain.lower() not in (host, local)):
                return _json({"error": "Record not found"}, 404, headers=self.mastodon_ratelimit())
            return _json(self.entity(host, acc), headers=self.mastodon_ratelimit())
        return _json({"error": "Record not found"}, 404)

    # -- a signed-in user's view (the follow command): token, search, relationships, follow --
    def _find(self, acct: str) -> tuple[str, dict[str, Any]] | None:
        user, _, domain = acct.lower().lstrip("@").partition("@")
        for host, server in self.w.servers.items():
            if domain in (host, server.get("local_domain")) and "accounts" in server:
                acc = server["accounts"].get(user)
                if acc is not None:
                    return host, acc
        return None

    def _entity_as_seen(self, home: str, host: str, acc: dict[str, Any]) -> dict[str, Any]:
        e = self.entity(host, acc)
        local = self.w.servers[host].get("local_domain", host)
        canonical = f"{acc['username']}@{local}"
        e["id"] = str(abs(hash(canonical)) % 10**17)
        e["acct"] = acc["username"] if host == home else canonical
        self.w.ids[e["id"]] = canonical
        return e

    def search(self, home: str, server: dict[str, Any]) -> Response:
        """`GET /api/v2/search` as Mastodon answers it (app/controllers/api/v2/search_controller.rb,
        app/services/search_service.rb, app/services/account_search_service.rb):
        - without a token: `offset` or `resolve=true` → 401 with Mastodon's messages; a query
          under 3 characters finds only an exact `user@domain`;
        - `resolve=true` (signed in) fetches an exact `user@domain` from its server;
        - otherwise the accounts the server knows (its own, and the remote ones it federates
          with, `knows`) whose username or display name holds the query, or, where the server
          runs Elasticsearch (`search: "es"`, the default; `"db"` is the Postgres fallback),
          whose bio does, for accounts that opted into discovery (`discoverable`; the index's
          `text` field is filled only for them). Profile fields are never searched. `stale`
          holds its out-of-date copies of remote profiles."""
        auth = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        me = server.get("tokens", {}).get(auth) if auth else None
        if auth and me is None:
            return _json({"error": "The access token is invalid"}, 401)
        q = (request.args.get("q") or "").strip()
        if not q:
            return _json({"error": "param is missing or the value is empty: q"}, 400)
        resolve = request.args.get("resolve") in ("true", "True", "1")
        if me is None and request.args.get("offset"):
            return _json(
                {"error": "Search queries pagination is not supported without authentication"}, 401
            )
        if me is None and resolve:
            return _json(
                {
                    "error": "Search queries that resolve remote resources are not supported "
                    "without authentication"
                },
                401,
            )
        kind = request.args.get("type") or "accounts"
        out: dict[str, list[Any]] = {"accounts": [], "statuses": [], "hashtags": []}
        if kind != "accounts" or (q.startswith("#") or ("@" in q and " " in q)):
            return _json(out, headers=self.mastodon_ratelimit())
        try:
            limit = max(1, min(40, int(request.args.get("limit") or 20)))
        except ValueError:
            limit = 20
        query = q.removeprefix("@").lower()
        known: list[tuple[str, dict[str, Any]]] = [
            (home, acc) for acc in server.get("accounts", {}).values()
        ]
        for acct in server.get("knows", []):
            found = self._find(acct)
            if found is not None:
                known.append(found)
        # Its copies of remote profiles that have changed since it last fetched them.
        for acct, copy in server.get("stale", {}).items():
            known.append((acct.partition("@")[2], copy))
        hits: list[tuple[str, dict[str, Any]]] = []
        if "@" in query:  # an exact address: the account itself (fetched when resolving)
            found = self._find(query)
            if found is not None and (resolve or found in known):
                hits.append(found)
        elif len(query) >= 3 or me is not None:
            words = set(re.findall(r"\w+", query))
            for host, acc in known:
                names = set(re.findall(r"\w+", f"{acc['username']} {acc['display_name']}".lower()))
                text = set()
                if server.get("search", "es") == "es" and acc.get("discoverable"):
                    text = set(re.findall(r"\w+", re.sub(r"<[^>]+>", " ", acc["note"]).lower()))
                if query in acc["username"].lower() or (words and words <= (names | text)):
                    hits.append((host, acc))
        out["accounts"] = [self._entity_as_seen(home, h, a) for h, a in hits[:limit]]
        return _json(out, headers=self.mastodon_ratelimit())

    def authenticated(self, home: str, server: dict[str, Any], path: str) -> Response:
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        me = server.get("tokens", {}).get(token)
        if me is None:
            return _json({"error": "The access token is invalid"}, 401)
        follows = self.w.follows.setdefault(f"{me}@{home}", set())
        rl = self.mastodon_ratelimit()
        if path == "/api/v1/accounts/verify_credentials":
            entity = self._entity_as_seen(home, home, server["accounts"][me])
            entity["following_count"] = server["accounts"][me].get("following_count", 0) + len(
                follows
            )
            entity["followers_count"] = server["accounts"][me].get("followers_count", 0)
            return _json(entity, headers=rl)
        if path == "/api/v1/accounts/relationships":
            ids = request.args.getlist("id[]") or request.args.getlist("id")
            return _json(
                [self.relationship(i, self.w.ids.get(i) in follows) for i in ids], headers=rl
            )
        account_id = path.split("/")[4]
        if request.method != "POST" or account_id not in self.w.ids:
            return _json({"error": "Record not found"}, 404, headers=rl)
        target = self.w.ids[account_id]
        if target not in follows:
            # FollowLimitValidator (app/validators/follow_limit_validator.rb): 7,500, then 1.1
            # × followers; a RecordInvalid, which Api::BaseController answers 422.
            mine = server["accounts"][me]
            following = mine.get("following_count", 0) + len(follows)
            limit = 7500 if following < 7500 else mine.get("followers_count", 0) * 1.1
            if following >= limit:
                return _json(
                    {"error": f"Validation failed: You cannot follow more than {limit:g} people"},
                    422,
                    headers=rl,
                )
            daily = self.follow_family(f"{me}@{home}")
            if daily is not None:
                if daily["X-RateLimit-Remaining"] == "-1":  # RateLimitExceededError → 429
                    daily["X-RateLimit-Remaining"] = "0"
                    return _json({"error": "Too many requests"}, 429, headers=daily)
                # RateLimitHeaders#override_rate_limit_headers: the follow family's headers,
                # unless the general window has fewer requests left.
                if int(daily["X-RateLimit-Remaining"]) <= int(rl["X-RateLimit-Remaining"]):
                    rl = daily
        follows.add(target)
        return _json(self.relationship(account_id, True), headers=rl)

    def follow_family(self, acct: str) -> dict[str, str] | None:
        """Counts one follow against the daily family; its headers (Remaining -1: refused)."""
        if self.w.follow_daily is None:
            return None
        limit, period = self.w.follow_daily
        now = time.time()
        with self.w.lock:
            # Mastodon aligns its windows on the epoch (a day's resets at midnight UTC). Tests
            # shorten the day to seconds; aligned on the first follow counted, the windows do
            # not depend on how long the client took to start on a busy machine.
            if self.w.follow_origin is None:
                self.w.follow_origin = now % period
            origin = self.w.follow_origin
            window = int((now - origin) // period)
            used = self.w.follow_counts.get((acct, window), 0)
            if used < limit:
                used += 1
                self.w.follow_counts[(acct, window)] = used
                left = limit - used
            else:
                left = -1
        end = (window + 1) * period + origin
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(end))
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(left),
            "X-RateLimit-Reset": f"{stamp}.{int(end % 1 * 1e6):06d}Z",
        }

    # -- OAuth, as Mastodon does it: app registration, consent page, code, token ----------
    def oauth(self, host: str, server: dict[str, Any], path: str) -> Response:
        apps = self.w.oauth_apps
        if path == "/.well-known/oauth-authorization-server":
            return _json(
                {
                    "issuer": f"https://{host}/",
                    "authorization_endpoint": f"https://{host}/oauth/authorize",
                    "token_endpoint": f"https://{host}/oauth/token",
                    "revocation_endpoint": f"https://{host}/oauth/revoke",
                    "scopes_supported": [
                        "read",
                        "write",
                        "follow",
                        "read:search",
                        "read:follows",
                        "write:follows",
                    ],
                    "response_types_supported": ["code"],
                    "grant_types_supported": ["authorization_code", "client_credentials"],
                    "code_challenge_methods_supported": ["S256"],
                }
            )
        if path == "/api/v1/apps" and request.method == "POST":
            client_id = f"cid-{len(apps)}-{host}"
            app = {
                "name": request.form.get("client_name", ""),
                "website": request.form.get("website"),
                "redirect_uri": request.form.get("redirect_uris", ""),
                "scopes": request.form.get("scopes", "read"),
                "secret": f"sec-{client_id}",
            }
            apps[client_id] = app
            return _json(
                {
                    "id": str(len(apps)),
                    "name": app["name"],
                    "website": app["website"],
                    "scopes": app["scopes"].split(),
                    "redirect_uri": app["redirect_uri"],
                    "redirect_uris": [app["redirect_uri"]],
                    "client_id": client_id,
                    "client_secret": app["secret"],
                    "vapid_key": "BCk-QqERU0q",
                }
            )
        if path == "/oauth/authorize":
            args = request.form if request.method == "POST" else request.args
            app = apps.get(args.get("client_id", ""))
            if app is None or app["redirect_uri"] != args.get("redirect_uri"):
                return Response(
                    "<h1>The redirect URI included is not valid.</h1>",
                    400,
                    content_type="text/html",
                )
            if request.method == "GET":  # the consent page of the signed-in user
                fields = "".join(
                    f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                    for k, v in args.items()
                )
                page = (
                    f"<!doctype html><title>Authorize</title><h1>{html.escape(app['name'])}"
                    ' wants access to your account</h1><form method="post" '
                    f'action="/oauth/authorize">{fields}<button type="submit">'
                    "Authorize</button></form>"
                )
                return Response(page, 200, content_type="text/html; charset=utf-8")
            code = f"code-{len(self.w.oauth_codes)}-{host}"
            self.w.oauth_codes[code] = (
                args["client_id"],
                server.get("signed_in", "moi"),
                args.get("scope", ""),
            )
            query = urlencode({"code": code, "state": args.get("state", "")})
            return Response("", 302, headers={"Location": f"{app['redirect_uri']}?{query}"})
        if path == "/oauth/token" and request.method == "POST":
            code = self.w.oauth_codes.pop(request.form.get("code", ""), None)
            app = apps.get(request.form.get("client_id", ""))
            if (
                code is None
                or app is None
                or app["secret"] != request.form.get("client_secret")
                or code[0] != request.form.get("client_id")
            ):
                return _json(
                    {
                        "error": "invalid_grant",
                        "error_description": "The provided "
                        "authorization grant is invalid, expired, revoked, does not match "
                        "the redirection URI used in the authorization request, or was "
                        "issued to another client.",
                    },
                    400,
                )
            tokens = server.setdefault("tokens", {})
            token = f"tok-{len(tokens)}-{code[0]}"
            tokens[token] = code[1]
            return _json(
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "scope": code[2],
                    "created_at": int(time.time()),
                }
            )
        return _json({"error": "Record not found"}, 404)

    @staticmethod
    def relationship(account_id: str, following: bool) -> dict[str, Any]:
        # The shape a real Mastodon answers (Mastodon.py's recorded follow).
        return {
            "id": account_id,
            "following": following,
            "showing_reblogs": following,
            "notifying": False,
            "languages": None,
            "followed_by": False,
            "blocking": False,
            "blocked_by": False,
            "muting": False,
            "muting_notifications": False,
            "muting_expires_at": None,
            "requested": False,
            "requested_by": False,
            "domain_blocking": False,
            "endorsed": False,
            "note": "",
        }

    @staticmethod
    def replay(recorded: dict[str, dict[str, Any]], path: str) -> Response:
        """Answer exactly what a real server answered (status, headers, body) for that URL."""
        key = path + ("?" + request.query_string.decode() if request.query_string else "")
        rec = recorded.get(key)
        if rec is None:
            return Response("", 404)
        r = Response(rec["body"], status=rec["status"])
        for k, v in rec["headers"].items():
            if k.lower() not in ("content-length", "transfer-encoding", "content-encoding"):
                r.headers[k] = v
        return r

    def delegating(self, host: str, target: str, path: str) -> Response:
        """A personal domain whose WebFinger points at the real server (no nodeinfo here)."""
        if path != "/.well-known/webfinger":
            return Response("<h1>Not Found</h1>", 404, content_type="text/html")
        resource = request.args.get("resource", "")
        user, _, domain = resource.removeprefix("acct:").partition("@")
        acc = self.w.servers[target]["accounts"].get(user.lower())
        if acc is None or domain.lower() != host:
            return Response("", 404)
        return _json(
            self.jrd(target, host, acc), content_type="application/jrd+json; charset=utf-8"
        )

    @staticmethod
    def profile_page(host: str, local: str, acc: dict[str, Any]) -> str:
        """A profile page as GoToSocial renders it (superseriousbusiness/gotosocial,
        internal/web/opengraph.go and web/template/page_ogmeta.tmpl, profile_fields.tmpl):
        og:title "Name (@user@domain)", og:description the bio as plain text (300
        characters at most), the fields as <dt>/<dd>."""
        u, name = acc["username"], acc["display_name"]
        title = f"{name} (@{u}@{local})" if name else f"@{u}@{local}"
        bio = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", acc["note"])).split())[:300]
        bio = bio or "This GoToSocial user hasn't written a bio yet!"
        fields = "".join(
            f'<div class="field"><dt>{html.escape(n)}</dt><dd>'
            + (
                f'<a href="{html.escape(v)}" rel="nofollow noreferrer noopener" '
                f'target="_blank">{html.escape(re.sub(r"^https?://", "", v))}</a>'
                if v.startswith(("http://", "https://"))
                else html.escape(v)
            )
            + "</dd></div>"
            for n, v in acc["fields"]
        )
        e = html.escape
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta property="og:type" content="profile">'
            f'<meta property="og:title" content="{e(title)}">'
            f'<meta property="og:url" content="https://{host}/@{u}">'
            f'<meta property="og:site_name" content="{e(local)}">'
            f'<meta property="og:description" content="{e(bio)}">'
            f'<meta property="og:profile:username" content="{e(u)}">'
            f'<meta property="og:image" content="https://{host}/fileserver/{u}/avatar.png">'
            f"<title>{e(title)} - GoToSocial</title></head><body>"
            f'<main class="profile"><div class="fields"><dl>{fields}</dl></div></main>'
            "</body></html>"
        )

    @staticmethod
    def jrd(host: str, local: str, acc: dict[str, Any], software: str = "") -> dict[str, Any]:
        u = acc["username"]
        # Pixelfed's profile page is `host/user` (pixelfed app/Util/Webfinger/Webfinger.php;
        # granary's Pixelfed.user_url); its actor is `host/users/user`, as Mastodon's.
        page = f"https://{host}/{u}" if software == "pixelfed" else f"https://{host}/@{u}"
        actor = actor_url(host, u, software)
        return {
            "subject": f"acct:{u}@{local}",
            "aliases": [f"https://{host}/@{u}", actor],
            "links": [
                {
                    "rel": "http://webfinger.net/rel/profile-page",
                    "type": "text/html",
                    "href": page,
                },
                {
                    "rel": "self",
                    "type": "application/activity+json",
                    "href": actor,
                },
                {
                    "rel": "http://ostatus.org/schema/1.0/subscribe",
                    "template": f"https://{host}/authorize_interaction?uri={{uri}}",
                },
            ],
        }

    def entity(self, host: str, acc: dict[str, Any]) -> dict[str, Any]:
        e = dict(self.w.template)
        for k in ("source", "role"):
            e.pop(k, None)
        u = acc["username"]
        e.update(
            {
                "id": str(abs(hash((host, u))) % 10**17),
                "username": u,
                "acct": u,
                "display_name": acc["display_name"],
                "locked": False,
                "bot": acc.get("bot", False),
                "note": acc["note"],
                "url": f"https://{host}/@{u}",
                "uri": f"https://{host}/users/{u}",
                "avatar": f"https://{host}/system/accounts/avatars/{u}.jpg",
                "avatar_static": f"https://{host}/system/accounts/avatars/{u}.jpg",
                "fields": [{"name": n, "value": v, "verified_at": None} for n, v in acc["fields"]],
            }
        )
        if acc.get("moved"):
            user, _, domain = acc["moved"].partition("@")
            target = self.w.servers[domain]["accounts"][user]
            moved = self.entity(domain, target)
            moved["acct"] = acc["moved"]
            e["moved"] = moved
        return e

    @staticmethod
    def actor(host: str, acc: dict[str, Any], software: str = "") -> dict[str, Any]:
        u = acc["username"]
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "type": "Service" if acc.get("bot") else "Person",
            "id": actor_url(host, u, software),
            "preferredUsername": u,
            "name": acc["display_name"],
            "summary": acc["note"],
            "url": f"https://{host}/@{u}",
            "inbox": f"https://{host}/users/{u}/inbox",
            "outbox": f"https://{host}/users/{u}/outbox",
            "icon": {"type": "Image", "url": f"https://{host}/files/{u}.webp"},
            "attachment": [
                {"type": "PropertyValue", "name": n, "value": v} for n, v in acc["fields"]
            ],
        }

    @staticmethod
    def misskey_users_show(host: str, server: dict[str, Any]) -> Response:
        """Misskey's `POST /api/users/show` with `userIds` (misskey-dev/misskey,
        packages/backend/src/server/api/endpoints/users/show.ts): the users found among the
        ids, in the order asked, suspended ones left out for a visitor, as `UserDetailed`
        (packages/misskey-js entities: `name`, `username`, `host` null for local users,
        `description` in MFM plain text, `fields`, `isBot`, `movedTo`). Recent versions leave
        out the ids not found; before, one missing id failed the call (`misskey_strict`)."""
        body = request.get_json(silent=True) or {}
        ids = body.get("userIds")
        if not isinstance(ids, list):
            return _json({"error": {"code": "INVALID_PARAM", "message": "Invalid param."}}, 400)
        by_id = {misskey_id(host, u): acc for u, acc in server["accounts"].items()}
        out = []
        for i in ids:
            acc = by_id.get(str(i))
            if acc is None or acc.get("suspended"):
                if server.get("misskey_strict"):
                    return _json(
                        {"error": {"code": "INTERNAL_ERROR", "message": "Internal error."}}, 500
                    )
                continue
            out.append(
                {
                    "id": str(i),
                    "name": acc["display_name"] or None,
                    "username": acc["username"],
                    "host": None,
                    "avatarUrl": f"https://{host}/files/{acc['username']}.webp",
                    "isBot": bool(acc.get("bot")),
                    "isCat": False,
                    "description": re.sub(r"<[^>]+>", "", html.unescape(acc["note"])) or None,
                    "fields": [{"name": n, "value": v} for n, v in acc["fields"]],
                    "movedTo": (
                        actor_url(acc["moved"].partition("@")[2], acc["moved"].partition("@")[0])
                        if acc.get("moved")
                        else None
                    ),
                    "isSuspended": False,
                    "url": None,
                    "uri": None,
                }
            )
        return _json(out)

    def mastodon_ratelimit(self) -> dict[str, str]:
        """Mastodon's headers: a window of `limit` requests, counted per host."""
        host = (request.host or "").split(":")[0].lower()
        limit, window = self.w.ratelimit
        now = time.time()
        with self.w.lock:
            start, used = self.w.windows.get(host, (now, 0))
            if now - start >= window:
                start, used = now, 0
            used += 1
            self.w.windows[host] = (start, used)
        end = start + window
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(end))
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - used)),
            "X-RateLimit-Reset": f"{stamp}.{int(end % 1 * 1e6):06d}Z",
        }


def misskey_id(host: str, username: str) -> str:
    """A Misskey user id (aid: ten lowercase letters and digits), fixed for a host and name."""
    return hashlib.sha1(f"{host}/{username.lower()}".encode()).hexdigest()[:10]


def actor_url(host: str, username: str, software: str = "") -> str:
    """The actor's URL as each software writes it: Misskey by user id, the others by name."""
    if software == "misskey":
        return f"https://{host}/users/{misskey_id(host, username)}"
    return f"https://{host}/users/{username}"


def make_app(world: World, control: Control) -> Flask:
    app = Flask("standin-internet")
    appview, fedi = AppView(world), FediServer(world)

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def any_route(path: str) -> Response:
        host = (request.host or "").split(":")[0].lower()
        full = "/" + path
        fault = control.record(host, full, request.headers.get("User-Agent", ""))
        if control.latency:
            time.sleep(control.latency)
        if fault is not None:
            return _apply(fault)
        if host == world.appview_host:
            return appview.handle(full)
        return fedi.handle(host, full)

    return app


def _apply(f: Fault) -> Response:
    if f.kind == "latency":
        time.sleep(f.seconds)
        raise _Passthrough
    if f.kind == "ratelimit":
        reset = time.time() + (f.seconds or 1.0)
        return _json(
            {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            429,
            headers={
                "ratelimit-limit": "3000",
                "ratelimit-remaining": "0",
                "ratelimit-reset": str(int(reset) + 1 if f.seconds >= 1 else reset),
                "X-RateLimit-Reset": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(reset)),
                "Retry-After": str(max(1, round(f.seconds or 1.0))),
            },
        )
    if f.kind == "malformed":
        return Response('{"profiles": [{"did": ', 200, content_type="application/json")
    if f.kind == "drip":

        def gen() -> Any:
            for _ in range(int(max(1, f.seconds * 4))):
                time.sleep(0.25)
                yield b" "

        return Response(gen(), 200, content_type="application/json")
    if f.kind == "drop":
        raise ConnectionAbortedError("dropped by the stand-in")
    if f.kind == "redirect":
        return Response("", 302, headers={"Location": f.location})
    return _json({"error": "InternalServerError", "message": "Bad Gateway"}, f.status)


class _Passthrough(Exception):
    pass


class Internet:
    """Start the stand-in internet for a world; `env` is what the service needs to reach it."""

    def __init__(self, world: dict[str, Any]) -> None:
        self.world = World(world)
        self.control = Control()
        self.ca = LocalCA()
        app = make_app(self.world, self.control)
        app.register_error_handler(_Passthrough, lambda e: self._passthrough(app))
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = make_server(
            "127.0.0.1",
            0,
            app,
            threaded=True,
            ssl_context=self.ca.server_context(),
            request_handler=KeepAliveHandler,  # connections kept open, as real servers do
        )
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.proxy = ConnectProxy(self.port, lambda h: h in self.world.unresolvable)
        self.dns = TxtServer(self.world.dns_txt)
        self.env = {
            "HTTPS_PROXY": self.proxy.url,
            "https_proxy": self.proxy.url,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "REQUESTS_CA_BUNDLE": str(self.ca.ca_file),
            "PASSERELLE_DNS_SERVERS": self.dns.address,
        }

    def change(self, world: dict[str, Any]) -> None:
        """The networks as they are later (people joined, some left): served from now on."""
        with self.world.lock:
            self.world.__init__(world)  # type: ignore[misc]
        self.dns.records = {k.lower().rstrip("."): v for k, v in self.world.dns_txt.items()}

    def _passthrough(self, app: Flask) -> Response:
        host = (request.host or "").split(":")[0].lower()
        full = request.path
        if host == self.world.appview_host:
            return AppView(self.world).handle(full)
        return FediServer(self.world).handle(host, full)

    def stop(self) -> None:
        self.dns.stop()
        self.proxy.stop()
        self.server.shutdown()
        self.server.server_close()

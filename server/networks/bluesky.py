"""Bluesky look-ups through the atproto SDK, against the public AppView (no sign-in).

`getProfiles` is called with up to 25 actors at once for every candidate handle and DID of a
whole batch; `searchActors` only for the name search. Every request goes through the shared
HTTP layer (`AtprotoRequest`), and every answer, found or not, is cached.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import dns.exception
import dns.resolver
import httpx
import requests
from atproto_client import Client
from atproto_client import exceptions as atproto_errors
from atproto_client.request import Request, _handle_request_errors, _handle_response

from ..core.addresses import valid_did
from ..core.cache import MISSING, Cache
from ..core.models import BskyProfile
from .http import USER_AGENT, UpstreamUnavailable, count, flights, split_cached

BATCH = 25  # app.bsky.actor.getProfiles accepts at most 25 actors
RELATIONSHIPS_BATCH = 30  # app.bsky.graph.getRelationships accepts at most 30 others
FOUND_TTL = 24 * 3600
MISSING_TTL = 6 * 3600
SEARCH_TTL = 12 * 3600
DOMAIN_TTL = 6 * 3600
DOMAIN_TIMEOUT = 3.0  # a personal website or DNS server that is slow is not worth waiting for


_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class AtprotoRequest(Request):
    """The SDK's request class, sending through our `requests` session (one HTTP layer)."""

    def __init__(self, session: requests.Session, timeout: float) -> None:
        super().__init__()
        self._session = session
        self._timeout = timeout

    def _send_request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = self.get_headers(kwargs.pop("headers", None))
        headers["User-Agent"] = USER_AGENT
        params = kwargs.pop("params", None)
        content = kwargs.pop("content", None) or kwargs.pop("data", None)
        json_body = kwargs.pop("json", None)
        try:
            r = self._session.request(
                method,
                url,
                params=params,
                data=content,
                json=json_body,
                headers=headers,
                timeout=self._timeout,
            )
        except requests.Timeout as e:
            raise atproto_errors.InvokeTimeoutError from e
        except requests.RequestException as e:
            raise atproto_errors.NetworkError from e
        # requests has already decoded the body: drop the headers that describe the wire form,
        # or httpx would try to decompress it a second time.
        headers = [(k, v) for k, v in r.headers.items() if k.lower() not in _WIRE_HEADERS]
        response = httpx.Response(
            r.status_code,
            headers=headers,
            content=r.content,
            request=httpx.Request(method, url),
        )
        try:
            return _handle_response(response)
        except Exception as e:
            _handle_request_errors(e)
            raise


def _params_list(actors: Sequence[str]) -> dict[str, Any]:
    return {"actors": list(actors)}


def profile_from_view(view: Any) -> BskyProfile:
    """Our profile from the SDK's ProfileView / ProfileViewDetailed model."""
    labels = tuple(sorted({lb.val for lb in (view.labels or []) if getattr(lb, "val", None)}))
    links: list[str] = []
    website = getattr(view, "website", None)
    if website:
        links.append(str(website))
    for link in getattr(view, "links", None) or []:
        if getattr(link, "url", None):
            links.append(str(link.url))
    return BskyProfile(
        did=str(view.did),
        handle=str(view.handle).lower(),
        display_name=view.display_name or "",
        description=view.description or "",
        avatar=str(view.avatar) if view.avatar else None,
        labels=labels,
        links=tuple(links),
    )


class Bluesky:
    """Read-only Bluesky look-ups for the resolver."""

    def __init__(
        self,
        session: requests.Session,
        appview: str,
        cache: Cache,
        timeout: float,
        dns_servers: Sequence[str] = (),
    ) -> None:
        self.client = Client(base_url=appview, request=AtprotoRequest(session, timeout))
        self.session = session
        self.cache = cache
        self.dns = _dns_resolver(dns_servers, min(timeout, DOMAIN_TIMEOUT))
        self.domain_timeout = min(timeout, DOMAIN_TIMEOUT)

    # -- domain handles ------------------------------------------------------------------------
    def resolve_domain(self, domain: str) -> str | None:
        """The DID a domain handle claims, by HTTPS `.well-known/atproto-did` then DNS TXT.

        Used when the AppView does not know a handle (its index may lag behind a handle
        change). The claim is then checked against the AppView by the caller: a handle is
        valid only if the DID's own record names it back, which the AppView has verified.
        """
        key = "bsky:domain:" + domain
        with flights.one(key):
            hit = self.cache.get(key)
            if hit is not MISSING:
                count(hits=1)
                return hit or None
            did = self._did_from_https(domain)
            if did is None:
                did, dns_answered = self._did_from_dns(domain)
                if did is None and not dns_answered:
                    # No DNS from here (a proxy-only network, a resolver down): let the AppView
                    # resolve the handle; it checks DNS and HTTPS itself.
                    did = self._did_from_appview(domain)
            self.cache.set(key, did, DOMAIN_TTL)
            return did

    def _did_from_appview(self, domain: str) -> str | None:
        try:
            response = self.client.com.atproto.identity.resolve_handle(params={"handle": domain})
        except atproto_errors.BadRequestError:
            return None  # "Unable to resolve handle"
        except atproto_errors.AtProtocolError as e:
            raise UpstreamUnavailable(f"appview resolveHandle: {type(e).__name__}") from e
        return valid_did(str(response.did))

    def _did_from_https(self, domain: str) -> str | None:
        try:
            r = self.session.get(
                f"https://{domain}/.well-known/atproto-did",
                timeout=self.domain_timeout,
                allow_redirects=False,
            )
        except requests.RequestException:
            return None
        if r.status_code != 200 or len(r.content) > 2048:
            return None
        return valid_did(r.text.strip())

    def _did_from_dns(self, domain: str) -> tuple[str | None, bool]:
        """The DID in `_atproto.DOMAIN` TXT, and whether a DNS server answered at all."""
        count(requests_=1)
        try:
            answer = self.dns.resolve(f"_atproto.{domain}", "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.YXDOMAIN):
            return None, True
        except (dns.exception.DNSException, OSError, ValueError):
            return None, False
        dids = set()
        for record in answer:
            text = b"".join(record.strings).decode("utf-8", "replace").strip()
            if text.startswith("did="):
                did = valid_did(text[4:])
                if did:
                    dids.add(did)
        return (dids.pop() if len(dids) == 1 else None), True  # several DIDs: not proof

    # -- getProfiles ---------------------------------------------------------------------------
    def cached_profiles(
        self, actors: Iterable[str]
    ) -> tuple[dict[str, BskyProfile | None], list[str]]:
        """Split actors into those the cache answers and those still to ask."""
        hits, todo = split_cached(self.cache, "bsky:actor:", actors)
        return {a: BskyProfile.from_json(h) if h else None for a, h in hits.items()}, todo

    def fetch_profiles(self, actors: Sequence[str]) -> dict[str, BskyProfile | None]:
        """One getProfiles call for at most 25 valid actors; unknown actors map to None.

        The AppView silently drops actors it does not know, so absence is "not found".
        """
        assert len(actors) <= BATCH
        try:
            response = self.client.app.bsky.actor.get_profiles(params=_params_list(actors))
        except atproto_errors.BadRequestError:
            # One actor the AppView refuses fails the batch: ask them one by one.
            if len(actors) == 1:
                self.cache.set("bsky:actor:" + actors[0], None, MISSING_TTL)
                return {actors[0]: None}
            out: dict[str, BskyProfile | None] = {}
            for a in actors:
                out.update(self.fetch_profiles([a]))
            return out
        except atproto_errors.AtProtocolError as e:
            raise UpstreamUnavailable(f"appview getProfiles: {type(e).__name__}") from e
        by_key: dict[str, BskyProfile] = {}
        for view in response.profiles:
            p = profile_from_view(view)
            by_key[p.did] = p
            by_key[p.handle] = p
        out = {}
        for actor in actors:
            p = by_key.get(actor)
            out[actor] = p
            self.cache.set(
                "bsky:actor:" + actor, p.to_json() if p else None, FOUND_TTL if p else MISSING_TTL
            )
        return out

    # -- getRelationships ----------------------------------------------------------------------
    def followers_among(self, actor_did: str, dids: Sequence[str]) -> set[str]:
        """Which of `dids` (30 at most) follow `actor_did`, in one call."""
        assert len(dids) <= RELATIONSHIPS_BATCH
        try:
            response = self.client.app.bsky.graph.get_relationships(
                params={"actor": actor_did, "others": list(dids)}
            )
        except atproto_errors.AtProtocolError as e:
            raise UpstreamUnavailable(f"appview getRelationships: {type(e).__name__}") from e
        return {
            str(r.did)
            for r in response.relationships
            if getattr(r, "followed_by", None) and getattr(r, "did", None)
        }

    # -- searchActors --------------------------------------------------------------------------
    def search(self, query: str, limit: int = 10) -> list[BskyProfile]:
        """Name search: the last resort for accounts nothing else found."""
        key = f"bsky:search:{limit}:{query.casefold()}"
        with flights.one(key):
            hit = self.cache.get(key)
            if hit is not MISSING:
                count(hits=1)
                return [BskyProfile.from_json(p) for p in hit]
            try:
                response = self.client.app.bsky.actor.search_actors(
                    params={"q": query, "limit": limit}
                )
            except atproto_errors.BadRequestError:
                return []
            except atproto_errors.AtProtocolError as e:
                raise UpstreamUnavailable(f"appview searchActors: {type(e).__name__}") from e
            profiles = [profile_from_view(v) for v in response.actors]
            self.cache.set(key, [p.to_json() for p in profiles], SEARCH_TTL)
            return profiles


def _dns_resolver(servers: Sequence[str], timeout: float) -> dns.resolver.Resolver:
    """The system's resolver, or the servers `PASSERELLE_DNS_SERVERS` names (`host[:port]`)."""
    if not servers:
        try:
            resolver = dns.resolver.Resolver()
        except (dns.resolver.NoResolverConfiguration, OSError):
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = ["127.0.0.1"]
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = []
        for server in servers:
            host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
            resolver.nameservers.append(host)
            if port:
                resolver.nameserver_ports[host] = int(port)
    resolver.lifetime = timeout
    resolver.timeout = timeout
    return resolver

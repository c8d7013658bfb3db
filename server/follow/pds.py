"""Where a Bluesky account lives: its PDS, found from its handle, for signing in and writing.

People on a self-hosted PDS or another provider (European hosts are where many French
associations go) could not follow anything while sign-in went to one fixed address. As the
atproto SDK's identity resolver does: the handle gives the DID (HTTPS `.well-known/atproto-did`
or DNS `_atproto` TXT, else the AppView's `resolveHandle`), the DID gives its document (the PLC
directory for `did:plc`, `https://HOST/.well-known/did.json` for `did:web`), whose
`#atproto_pds` service is the PDS. The document must name the handle back (`alsoKnownAs`), and
the PDS must be an `https` public address, or a host the operator trusts: the app password is
about to be sent there. `PASSERELLE_BSKY_PDS`, when set, overrides all of this.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

import requests

from ..core.addresses import valid_did
from ..core.config import Settings
from ..core.hosts import why_not_public
from ..networks.bluesky import Bluesky
from ..networks.http import UpstreamUnavailable

MAX_DOCUMENT = 64 * 1024


class PdsNotFound(Exception):
    """The handle's PDS could not be found; the message says why, for the user."""


def pds_for(handle: str, settings: Settings, session: requests.Session, bluesky: Bluesky) -> str:
    """The PDS to sign `handle` in at: the operator's override, else the account's own."""
    if settings.bsky_pds_set:
        return settings.bsky_pds
    handle = handle.strip().lstrip("@").lower()
    if "@" in handle or "." not in handle:  # an e-mail or a bare name: nothing to look up
        return settings.bsky_pds
    return account_for(handle, settings, session, bluesky)[1]


def account_for(
    handle: str, settings: Settings, session: requests.Session, bluesky: Bluesky
) -> tuple[str, str]:
    """The DID and the PDS of `handle`, each checked as `pds_for` says (no override: an OAuth
    sign-in must reach the account's own server, and check it is the account asked for)."""
    handle = handle.strip().lstrip("@").lower()
    did = bluesky.resolve_domain(handle)  # UpstreamUnavailable: the networks, not the handle
    if did is None:
        raise PdsNotFound(f"@{handle}: no Bluesky account has this handle")
    document = _document(did, settings, session)
    names = {str(a).lower() for a in document.get("alsoKnownAs") or [] if isinstance(a, str)}
    if f"at://{handle}" not in names:
        raise PdsNotFound(f"@{handle}: the account does not confirm this handle")
    endpoint = _pds_endpoint(document, did)
    if endpoint is None:
        raise PdsNotFound(f"@{handle}: its identity names no PDS")
    host = (urlsplit(endpoint).hostname or "").lower()
    trusted = host in settings.trusted_hosts
    if not trusted and (not endpoint.startswith("https://") or why_not_public(host)):
        raise PdsNotFound(f"@{handle}: its PDS is not a public https address")
    return did, endpoint.rstrip("/")


def _document(did: str, settings: Settings, session: requests.Session) -> dict[str, Any]:
    if valid_did(did) is None:
        raise PdsNotFound("not a DID")
    if did.startswith("did:plc:"):
        url = f"{settings.plc_url.rstrip('/')}/{quote(did, safe=':')}"
    elif did.startswith("did:web:"):
        host = did.removeprefix("did:web:").replace("%3A", ":")
        url = f"https://{host}/.well-known/did.json"
    else:
        raise PdsNotFound(f"{did[:40]}: a DID method Bluesky does not use")
    try:
        r = session.get(url, timeout=settings.timeout, allow_redirects=False)
    except requests.RequestException as e:
        raise UpstreamUnavailable(f"DID document: {type(e).__name__}") from e
    if r.status_code != 200 or len(r.content) > MAX_DOCUMENT:
        raise PdsNotFound(f"{did[:40]}: its DID document could not be read (HTTP {r.status_code})")
    try:
        doc = r.json()
    except ValueError:
        raise PdsNotFound(f"{did[:40]}: its DID document is not JSON") from None
    if not isinstance(doc, dict) or doc.get("id") != did:
        raise PdsNotFound(f"{did[:40]}: its DID document is for another DID")
    return doc


def _pds_endpoint(document: dict[str, Any], did: str) -> str | None:
    """The `#atproto_pds` service's endpoint (`id` written `#atproto_pds` or `DID#atproto_pds`)."""
    for service in document.get("service") or []:
        if not isinstance(service, dict):
            continue
        ident = str(service.get("id") or "")
        if ident not in ("#atproto_pds", f"{did}#atproto_pds"):
            continue
        if service.get("type") != "AtprotoPersonalDataServer":
            continue
        endpoint = service.get("serviceEndpoint")
        if isinstance(endpoint, str) and endpoint.startswith(("https://", "http://")):
            return endpoint
    return None
